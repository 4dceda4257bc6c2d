"""Symbolic-PPO baseline (§B.6): BabyAI's expert_filmcnn actor-critic trained with recurrent PPO.

The suite's trainable learner and evaluation agent live in
``glam_bench.agents.symbolic_ppo.learner`` (imported on demand: it pulls in the envs).
"""

from glam_bench.agents.symbolic_ppo.config import SymbolicPPOConfig
from glam_bench.agents.symbolic_ppo.model import FiLMBlock, SymbolicACModel
from glam_bench.agents.symbolic_ppo.ppo import Rollout, make_optimizer, ppo_update
from glam_bench.agents.symbolic_ppo.vocab import MissionVocab, VocabularyFullError

__all__ = [
    "FiLMBlock",
    "MissionVocab",
    "Rollout",
    "SymbolicACModel",
    "SymbolicPPOConfig",
    "VocabularyFullError",
    "make_optimizer",
    "ppo_update",
]
