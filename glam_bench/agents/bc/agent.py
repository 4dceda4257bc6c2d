"""The acting BC agent: the fine-tuned model scoring the candidate actions (§C, §E.6).

The authors evaluated their BC models with ``im_learning=True``: the
fine-tuned ``model.checkpoint`` was loaded into the LLM and the policy was the
candidate scorer, no value head (§C). Here the BC run's weights go into a
GFlan :class:`~glam_bench.llm.heads.LLMPolicy` built with the run's scorer, and
:class:`~glam_bench.agents.llm_ppo.LLMAgent` acts with it, sampling actions
and honouring test sets exactly as GFlan-T5 does.
"""

from __future__ import annotations

from gymnasium.vector import VectorEnv

from glam_bench.agents.llm_ppo import LLMAgent, policy_agent
from glam_bench.runtime.config import RunConfig
from glam_bench.paper.test_sets import TestSet

POLICY_VARIANT = "gflan"


def build_agent(config: RunConfig, learner_state: dict | None, vector_env: VectorEnv,
                test_set: TestSet, seed: int) -> LLMAgent:
    """The BC run's fine-tuned policy as an agent (the untrained model if ``learner_state`` is None)."""
    return policy_agent(config, POLICY_VARIANT, learner_state, vector_env, test_set, seed)
