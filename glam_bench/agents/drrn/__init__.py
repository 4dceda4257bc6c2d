"""DRRN baseline (§B.5): tokenizer, Q-network, replay memory, Q-learning.

The suite's trainable learner and evaluation agent live in
``glam_bench.agents.drrn.learner``. The names below are imported on first use
(PEP 562), so ``glam_bench.agents.drrn.config``, the settings a preset's checks
read before any job runs, imports without torch.
"""

from __future__ import annotations

from glam_bench.lazy import lazy_exports

#: Public name -> the submodule defining it.
_SOURCES = {
    "DRRNConfig": "config",
    "DRRN": "network", "pad_token_ids": "network", "split_q_values": "network",
    "EnvPrompts": "prompt_memory", "observations_after_episode_end": "prompt_memory",
    "start_new_episode": "prompt_memory",
    "DRRNQLearning": "q_learning", "boltzmann_sample": "q_learning", "td_targets": "q_learning",
    "ReplayMemory": "replay", "Transition": "replay", "TransitionBatch": "replay",
    "DRRNTokenizer": "tokenizer", "build_tokenizer": "tokenizer", "ensure_tokenizer": "tokenizer",
}


__getattr__ = lazy_exports(__name__, _SOURCES)

__all__ = sorted(_SOURCES)
