"""Many BabyAI-Text envs stepped together, seeded as the authors did (§A.4, §A.6).

Vector envs auto-reset in the same step (gymnasium's ``SAME_STEP`` mode), as
the authors' ``ParallelEnv`` did: after an episode ends, the returned
observation is already the new episode's first one, and the last observation
of the finished episode sits in ``info["final_obs"]``.
"""

from __future__ import annotations

from functools import partial

from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv

from glam_bench.envs.registry import check_env_id, make_env

SEED_PURPOSES = ("train", "test")
VECTORIZATION_MODES = ("sync", "async")


def env_seeds(run_seed: int, num_envs: int, purpose: str = "train") -> list[int]:
    """Per-env seeds: ``100*seed + i`` for training, ``10**9*seed + i`` for tests (§A.6).

    The test offset keeps test episodes disjoint from every training episode.
    """
    if purpose not in SEED_PURPOSES:
        raise ValueError(f"unknown seed purpose {purpose!r}; choose one of {SEED_PURPOSES}")
    base = 100 * run_seed if purpose == "train" else 10**9 * run_seed
    return [base + i for i in range(num_envs)]


def make_vector_env(
    env_id: str, num_envs: int, vectorization: str = "sync", **env_kwargs
) -> VectorEnv:
    """``num_envs`` copies of one level; ``async`` steps them in subprocesses.

    Reset it with ``seed=env_seeds(run_seed, num_envs, purpose)``.
    """
    check_env_id(env_id)
    if vectorization not in VECTORIZATION_MODES:
        raise ValueError(
            f"unknown vectorization {vectorization!r}; choose one of {VECTORIZATION_MODES}"
        )
    factories = [partial(make_env, env_id, **env_kwargs) for _ in range(num_envs)]
    if vectorization == "sync":
        return SyncVectorEnv(factories, autoreset_mode=AutoresetMode.SAME_STEP)
    # Text spaces cannot live in shared memory.
    return AsyncVectorEnv(factories, shared_memory=False, autoreset_mode=AutoresetMode.SAME_STEP)


__all__ = ["env_seeds", "make_vector_env"]
