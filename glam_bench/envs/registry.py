"""The BabyAI-Text level ids, registered with gymnasium under a ``BabyAI-Text-`` prefix (§A.5)."""

from __future__ import annotations

import gymnasium

from glam_bench.errors import GlamBenchError

_LEVELS = "glam_bench.envs.levels"

#: id -> (entry point, constructor kwargs)
LEVELS: dict[str, tuple[str, dict]] = {
    "BabyAI-Text-MixedTrainLocal-v0": (f"{_LEVELS}:MixedTrainLocal", {}),
    "BabyAI-Text-MixedTestLocal-v0": (f"{_LEVELS}:MixedTestLocal", {}),
    "BabyAI-Text-PickUpSeqPickUpLocal-v0": (f"{_LEVELS}:PickUpSeqPickUpLocal", {}),
    "BabyAI-Text-PickUpSeqGoToLocal-v0": (f"{_LEVELS}:PickUpSeqGoToLocal", {}),
    "BabyAI-Text-PickUpThenGoToLocal-v0": (f"{_LEVELS}:PickUpThenGoToLocal", {}),
    "BabyAI-Text-GoToAfterPickUpLocal-v0": (f"{_LEVELS}:GoToAfterPickUpLocal", {}),
    "BabyAI-Text-GoToLocal-v0": (f"{_LEVELS}:GoToLocal", {"num_dists": 8}),
    "BabyAI-Text-GoToLocalS8N4-v0": (f"{_LEVELS}:GoToLocal", {"num_dists": 4}),
    "BabyAI-Text-GoToLocalS8N16-v0": (f"{_LEVELS}:GoToLocal", {"num_dists": 16}),
    "BabyAI-Text-GoToRedBall-v0": (f"{_LEVELS}:GoToRedBall", {}),
    "BabyAI-Text-PickupLocal-v0": (f"{_LEVELS}:PickupLocal", {}),
    "BabyAI-Text-GoToFrench-v0": (f"{_LEVELS}:GoToLocal", {"num_dists": 8, "language": "fr"}),
}


class UnknownEnvironmentError(GlamBenchError, ValueError):
    """An environment id that is not a BabyAI-Text level."""


def register_levels() -> None:
    """Register every level with gymnasium (idempotent)."""
    for env_id, (entry_point, kwargs) in LEVELS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, kwargs=kwargs)


def check_env_id(env_id: str) -> str:
    """Return ``env_id`` if it is a BabyAI-Text level, else raise listing the valid ids."""
    if env_id not in LEVELS:
        valid = "\n  ".join(sorted(LEVELS))
        raise UnknownEnvironmentError(
            f"unknown environment {env_id!r}. BabyAI-Text levels are:\n  {valid}"
        )
    return env_id


def make_env(env_id: str, **kwargs) -> gymnasium.Env:
    """``gymnasium.make`` for a BabyAI-Text level, with a clear error for unknown ids."""
    register_levels()
    return gymnasium.make(check_env_id(env_id), **kwargs)
