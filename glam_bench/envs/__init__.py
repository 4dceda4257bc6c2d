"""BabyAI-Text on minigrid 3 and gymnasium: text rendering, levels, vector envs."""

from glam_bench.envs.registry import (
    LEVELS,
    UnknownEnvironmentError,
    check_env_id,
    make_env,
    register_levels,
)
from glam_bench.envs.text import describe
from glam_bench.envs.vector import env_seeds, make_vector_env

register_levels()

__all__ = [
    "LEVELS",
    "UnknownEnvironmentError",
    "check_env_id",
    "describe",
    "env_seeds",
    "make_env",
    "make_vector_env",
    "register_levels",
]
