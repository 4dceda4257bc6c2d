"""DRRN baseline (§B.5): tokenizer, Q-network, replay memory, Q-learning.

The suite's trainable learner and evaluation agent live in
``glam_bench.agents.drrn.learner`` (imported on demand: it pulls in the envs).
"""

from glam_bench.agents.drrn.config import DRRNConfig
from glam_bench.agents.drrn.network import DRRN, pad_token_ids, split_q_values
from glam_bench.agents.drrn.prompt_memory import (
    EnvPrompts,
    observations_after_episode_end,
    start_new_episode,
)
from glam_bench.agents.drrn.q_learning import DRRNQLearning, boltzmann_sample, td_targets
from glam_bench.agents.drrn.replay import ReplayMemory, Transition, TransitionBatch
from glam_bench.agents.drrn.tokenizer import DRRNTokenizer, build_tokenizer, ensure_tokenizer

__all__ = [
    "DRRN",
    "DRRNConfig",
    "DRRNQLearning",
    "DRRNTokenizer",
    "EnvPrompts",
    "ReplayMemory",
    "Transition",
    "TransitionBatch",
    "boltzmann_sample",
    "build_tokenizer",
    "ensure_tokenizer",
    "observations_after_episode_end",
    "pad_token_ids",
    "split_q_values",
    "start_new_episode",
    "td_targets",
]
