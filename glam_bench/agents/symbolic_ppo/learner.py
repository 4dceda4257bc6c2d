"""Symbolic-PPO as a suite learner and as an evaluation agent (§B.6).

:class:`SymbolicPPOLearner` plugs BabyAI's recurrent PPO into the shared
training loop (``glam_bench.runtime.training.train``). One update, as BabyAI's
``collect_experiences`` + ``update_parameters``:

1. ``frames_per_env`` (40) vector steps in ``num_envs`` envs (64 in the paper;
   BabyAI's ``frames_per_proc`` and ``procs``). The model reads the symbolic
   7x7x3 view and the mission's word ids (a vocabulary learned as missions
   arrive) and carries an LSTM memory per env, zeroed through the mask at
   every episode start; actions are sampled; rewards are 20 x env reward (§A.4);
2. ``epochs`` epochs of recurrent PPO on the rollout (``ppo.ppo_update``).

Batch norm while acting: the model stays in train mode during rollouts, so
batch norm normalises each acting batch with its own statistics and updates
its running averages, exactly as BabyAI (which never calls ``eval()`` in
training). :class:`SymbolicPPOAgent` acts in eval mode instead: batch norm uses
the running averages, so a test episode's actions do not depend on what the
other envs of the vector env happen to see, nor on how many there are.

Log columns (§G): ``entropy``, ``value`` (mean predicted value, the extra
column of the authors' Symbolic-PPO log), ``policy_loss``, ``value_loss``,
``loss`` and ``grad_norm`` (before clipping), each averaged over every
recurrence step of every minibatch of every epoch.

:class:`SymbolicPPOAgent` honours a test set (§D): the substitutions rewrite
the mission (the only text this agent reads), a French test set's mission is
translated first, and words never seen in training map to one fixed unknown
id instead of growing the vocabulary. Action names are ignored except their
count, which must match the trained action head.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium.vector import VectorEnv

from glam_bench.agents.base import Agent, to_env_actions
from glam_bench.agents.symbolic_ppo.config import SymbolicPPOConfig, from_run_config
from glam_bench.agents.symbolic_ppo.model import SymbolicACModel
from glam_bench.agents.symbolic_ppo.ppo import Rollout, make_optimizer, ppo_update
from glam_bench.agents.symbolic_ppo.vocab import PAD_ID, MissionVocab
from glam_bench.runtime.config import ConfigError, RunConfig
from glam_bench.runtime.devices import resolve_device
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import Episode, EpisodeTracker
from glam_bench.paper.test_sets import TestSet
from glam_bench.paper.prompts import apply_substitutions, translate_goal_fr
from glam_bench.rl.rewards import scale_rewards
from glam_bench.paper.study import AGENTS_BY_NAME
from glam_bench.runtime.training import Learner, UpdateResult
from glam_bench.runtime import moved_modules
from glam_bench.paper.vocabulary import ACTION_SPACES

#: Written on every result row of a Symbolic-PPO run: BabyAI's architecture name (§B.6).
MODEL_NAME = AGENTS_BY_NAME["symbolic-ppo"].model
#: The agent reads the symbolic view and the mission, never the text descriptions (§B.6):
#: its envs skip rendering them (``glam_bench.agents.families.reads_text``).
READS_TEXT = False


def build_model(config: SymbolicPPOConfig, seed: int) -> SymbolicACModel:
    """The actor-critic, initialised from ``seed`` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SymbolicACModel(config)


def sample_actions(dist: torch.distributions.Categorical, generator: torch.Generator) -> torch.Tensor:
    """One action per env from ``dist``, drawn with our own generator (exact resume)."""
    return torch.multinomial(dist.probs.detach().cpu(), 1, generator=generator).squeeze(1)


def pad_stack(ids: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack [N, L_t] word-id tensors of different widths into [T, N, max L_t] (pad 0)."""
    width = max(x.shape[1] for x in ids)
    return torch.stack([F.pad(x, (0, width - x.shape[1]), value=PAD_ID) for x in ids])


class SymbolicPPOLearner(Learner):
    """Symbolic-PPO learner driven by :func:`glam_bench.runtime.training.train`; see the module docstring."""

    model_name = MODEL_NAME

    def __init__(self, run: RunConfig):
        self.config = cfg = from_run_config(run)
        self.device = resolve_device(run.device)
        self.action_names = ACTION_SPACES[run.action_space]
        self.model = build_model(cfg, run.seed).to(self.device)
        self.optimizer = make_optimizer(self.model, cfg)
        self.vocab = MissionVocab(cfg.max_vocab)
        self.generator = torch.Generator().manual_seed(run.seed)
        self.envs = make_vector_env(run.env, cfg.num_envs, text_fixes=run.text_fixes,
                                    task_sampling=run.task_sampling, render_text=READS_TEXT)
        self.observations, infos = self.envs.reset(seed=env_seeds(run.seed, cfg.num_envs, "train"))
        self.tracker = EpisodeTracker(cfg.num_envs, infos.get("task_kind"))
        self.memory = self.model.initial_memory(cfg.num_envs, self.device)
        self.mask = torch.zeros(cfg.num_envs, device=self.device)  # fresh envs: nothing to remember

    def update(self) -> UpdateResult:
        rollout, episodes = self._collect()
        losses = ppo_update(self.model, self.optimizer, rollout, self.config, self.generator)
        frames = self.config.frames_per_env * self.config.num_envs
        return UpdateResult(frames=frames, episodes=episodes, losses=losses)

    def _inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        image = torch.as_tensor(self.observations["image"], device=self.device)
        missions = self.vocab.encode_batch(self.observations["mission"]).to(self.device)
        return image, missions

    @torch.no_grad()
    def _collect(self) -> tuple[Rollout, list[Episode]]:
        """``frames_per_env`` steps in every env; BabyAI's ``collect_experiences``."""
        steps: dict[str, list[torch.Tensor]] = {k: [] for k in (
            "images", "missions", "actions", "log_probs", "values", "rewards", "dones",
            "masks", "memories")}
        episodes: list[Episode] = []
        self.model.train()  # batch-norm statistics of the acting batch, as BabyAI
        for _ in range(self.config.frames_per_env):
            image, missions = self._inputs()
            dist, value, memory = self.model(image, missions, self.memory * self.mask.unsqueeze(1))
            action = sample_actions(dist, self.generator).to(self.device)
            self.observations, reward, terminated, truncated, infos = self.envs.step(
                to_env_actions(action.cpu().numpy()))
            done = np.logical_or(terminated, truncated)
            episodes += self.tracker.step(reward, terminated, truncated, infos)
            for key, x in (("images", image), ("missions", missions), ("actions", action),
                           ("log_probs", dist.log_prob(action)), ("values", value),
                           ("rewards", scale_rewards(reward, self.config.reward_scale)),
                           ("dones", done), ("masks", self.mask), ("memories", self.memory)):
                steps[key].append(torch.as_tensor(x, device=self.device))
            self.memory = memory
            self.mask = torch.as_tensor(1.0 - done, dtype=torch.float32, device=self.device)
        image, missions = self._inputs()
        _, last_value, _ = self.model(image, missions, self.memory * self.mask.unsqueeze(1))
        stacked = {k: (pad_stack(v) if k == "missions" else torch.stack(v)) for k, v in steps.items()}
        stacked["rewards"] = stacked["rewards"].float()
        stacked["dones"] = stacked["dones"].float()
        return Rollout(**stacked, last_value=last_value), episodes

    # --- checkpointing ---------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Weights (batch-norm averages included), optimizer, vocabulary, envs, memories, RNG."""
        return {
            "config": dataclasses.asdict(self.config),
            "action_names": list(self.action_names),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "vocab": self.vocab.state_dict(),
            "envs": pickle.dumps((self.envs, self.tracker)),
            "observations": self.observations,
            "memory": self.memory.cpu(),
            "mask": self.mask.cpu(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.vocab.load_state_dict(state["vocab"])
        self.envs.close()
        self.envs, self.tracker = moved_modules.loads(state["envs"])
        self.observations = state["observations"]
        self.memory = state["memory"].to(self.device)
        self.mask = state["mask"].to(self.device)
        self.generator.set_state(state["generator"])

    def close(self) -> None:
        self.envs.close()


class SymbolicPPOAgent(Agent):
    """A trained Symbolic-PPO model acting in a vector env: sampled actions, eval-mode batch norm."""

    name = "symbolic-ppo"
    model = MODEL_NAME

    def __init__(
        self,
        model: SymbolicACModel,
        vocab: MissionVocab,
        num_envs: int,
        *,
        substitutions: Sequence[Mapping[str, str]] = (),
        language: str = "en",
        seed: int = 0,
        device: torch.device | str = "cpu",
        french_goal: str = "correct",
    ):
        super().__init__(num_envs)
        self.network = model.eval()
        self.french_goal = french_goal
        self.vocab = vocab
        self.vocab.frozen = True  # unseen test words read as the unknown id
        self.substitutions = tuple(substitutions)
        self.language = language
        self.device = torch.device(device)
        self.memory = model.initial_memory(num_envs, self.device)
        self.generator = torch.Generator().manual_seed(seed)

    def read_mission(self, mission: str) -> str:
        """The mission as this test shows it: translated if French, then rewritten (§D.1)."""
        if self.language == "fr":
            mission = translate_goal_fr(mission, self.french_goal)
        return apply_substitutions(mission, self.substitutions, protect_header=False)

    @torch.no_grad()
    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        missions = [self.read_mission(m) for m in observations["mission"]]
        image = torch.as_tensor(observations["image"], device=self.device)
        ids = self.vocab.encode_batch(missions).to(self.device)
        dist, _, self.memory = self.network(image, ids, self.memory)
        return to_env_actions(sample_actions(dist, self.generator).numpy())

    def reset(self, env_index: int) -> None:
        self.memory[env_index] = 0.0


def build_learner(config: RunConfig) -> SymbolicPPOLearner:
    """The Symbolic-PPO learner of a run."""
    return SymbolicPPOLearner(config)


def build_agent(config: RunConfig, learner_state: dict, vector_env: VectorEnv, test_set: TestSet,
                seed: int) -> SymbolicPPOAgent:
    """The trained model of ``learner_state`` acting in ``vector_env`` under ``test_set`` (§D.1)."""
    model_config = SymbolicPPOConfig(**{**learner_state["config"],
                                        "adam_betas": tuple(learner_state["config"]["adam_betas"])})
    if test_set.action_names is not None and len(test_set.action_names) != model_config.n_actions:
        raise ConfigError(
            f"test set {test_set.name!r} has {len(test_set.action_names)} actions but this "
            f"Symbolic-PPO model was trained with {model_config.n_actions}"
        )
    device = resolve_device(config.device)
    model = SymbolicACModel(model_config).to(device)
    model.load_state_dict(learner_state["model"])
    vocab = MissionVocab(model_config.max_vocab)
    vocab.load_state_dict(learner_state["vocab"])
    return SymbolicPPOAgent(model, vocab, vector_env.num_envs, substitutions=test_set.substitutions,
                            language=test_set.language, seed=seed, device=device,
                            french_goal=config.french_goal)
