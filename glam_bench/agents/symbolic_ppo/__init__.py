"""Symbolic-PPO baseline (§B.6): BabyAI's expert_filmcnn actor-critic trained with recurrent PPO.

The suite's trainable learner and evaluation agent live in
``glam_bench.agents.symbolic_ppo.learner``. The names below are imported on first
use (PEP 562), so ``glam_bench.agents.symbolic_ppo.config``, the settings a
preset's checks read before any job runs, imports without torch.
"""

from __future__ import annotations

from glam_bench.lazy import lazy_exports

#: Public name -> the submodule defining it.
_SOURCES = {
    "SymbolicPPOConfig": "config",
    "FiLMBlock": "model", "SymbolicACModel": "model",
    "Rollout": "ppo", "make_optimizer": "ppo", "ppo_update": "ppo",
    "MissionVocab": "vocab", "VocabularyFullError": "vocab",
}


__getattr__ = lazy_exports(__name__, _SOURCES)

__all__ = sorted(_SOURCES)
