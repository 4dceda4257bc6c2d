"""The README's "Add your own agent" recipe, followed as a newcomer would, in a copy of the checkout.

A module with ``build_learner``/``build_agent`` is written and registered by one
:class:`~glam_bench.paper.study.AgentSpec` in ``glam_bench/paper/study.py`` (its
``experiments`` say where it runs); the ci preset, narrowed to that experiment,
runs the pipeline: the agent must be trained, evaluated and summarised with no
other change to the suite (no preset, schema, rule or roster edit).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.test_workflow import CONFIG_DIR, copy_checkout, load_yaml, snakemake, write_preset

pytestmark = pytest.mark.slow

MY_AGENT = '''"""A newcomer's agent: always goes forward; its "learning" only counts frames."""

import math

import numpy as np

from glam_bench.agents.base import Agent
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import EpisodeTracker
from glam_bench.runtime.training import Learner, UpdateResult

GO_FORWARD = 2
NO_LOSSES = {k: math.nan for k in ("entropy", "policy_loss", "value_loss", "loss", "grad_norm")}


class ForwardAgent(Agent):
    name = "my-agent"

    def act(self, observations):
        return np.full(self.num_envs, GO_FORWARD)


class ForwardLearner(Learner):
    def __init__(self, config):
        self.config = config
        self.envs = make_vector_env(config.env, config.num_envs)
        _, infos = self.envs.reset(seed=env_seeds(config.seed, config.num_envs))
        self.tracker = EpisodeTracker(config.num_envs, infos.get("task_kind"))

    def update(self):
        episodes = []
        for _ in range(self.config.frames_per_env):
            actions = np.full(self.config.num_envs, GO_FORWARD)
            _, reward, terminated, truncated, infos = self.envs.step(actions)
            episodes += self.tracker.step(reward, terminated, truncated, infos)
        frames = self.config.num_envs * self.config.frames_per_env
        return UpdateResult(frames, episodes, dict(NO_LOSSES))

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def close(self):
        self.envs.close()


def build_learner(config):
    return ForwardLearner(config)


def build_agent(config, learner_state, vector_env, test_set, seed):
    return ForwardAgent(vector_env.num_envs)
'''


#: Step 2 of the recipe: the agent's one entry in glam_bench/paper/study.py's AGENTS.
MY_AGENT_SPEC = '''    AgentSpec("my-agent", "baseline", "glam_bench.agents.my_agent", "My agent", "#654321",
              experiments=("gotolocal",), model="my-agent"),
'''


def register(clone) -> None:
    """Add :data:`MY_AGENT_SPEC` as the last entry of the study's ``AGENTS`` tuple."""
    path = clone / "glam_bench" / "paper" / "study.py"
    text = path.read_text(encoding="utf-8")
    start = text.index("AGENTS: tuple[AgentSpec, ...] = (")
    end = text.index("\n)\n", start) + 1  # the tuple's closing parenthesis, at column 0
    path.write_text(text[:end] + MY_AGENT_SPEC + text[end:], encoding="utf-8")


def test_the_add_your_own_agent_recipe_trains_evaluates_and_summarises_it(tmp_path):
    clone = copy_checkout(tmp_path / "glam-bench")
    (clone / "glam_bench" / "agents" / "my_agent.py").write_text(MY_AGENT, encoding="utf-8")
    register(clone)

    preset = load_yaml(CONFIG_DIR / "ci.yaml")
    preset["experiments"] = ["gotolocal"]  # the preset's subset: the study says who runs there
    preset["tests"] = {"gotolocal": ["no_change"]}  # one test is enough for the summary
    preset["evaluation"]["episodes"] = 8
    root = tmp_path / "out"
    preset.update(work_dir=str(root / "work"), results_dir=str(root / "work" / "results"),
                  figures_dir=str(root / "figures"))
    snakemake("--cores", "2", "--configfile", str(write_preset(tmp_path / "mine.yaml", preset)),
              cwd=clone, timeout=600)

    run = root / "work" / "results" / "runs" / "gotolocal" / "my-agent" / "seed-1"
    assert json.loads((run / "done.json").read_text())["updates"] > 0
    assert len(pd.read_csv(run / "train_log.csv")) == json.loads((run / "done.json").read_text())["updates"]
    assert len(pd.read_csv(run / "tests" / "no_change.csv")) == 8
    summary = pd.read_csv(root / "figures" / "summary_tests.csv")
    assert {"my-agent", "random"} <= set(summary["agent"])
