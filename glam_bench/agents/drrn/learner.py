"""DRRN as a suite learner and as an evaluation agent (§B.5).

:class:`DRRNLearner` plugs the DRRN into the shared training loop
(``glam_bench.runtime.training.train``); the Q-learning itself (acting from Q and the
TD update) is :class:`~glam_bench.agents.drrn.q_learning.DRRNQLearning`.
One update, as in the authors' loop:

1. ``frames_per_env`` (4, the paper's "steps per update") vector steps in
   ``num_envs`` (32) envs, each env acting by Boltzmann sampling from
   softmax(Q / temperature) over the action names (§B.5); every step's
   transitions go to the replay memory with the reward scaled to 20 x env
   reward (§A.4);
2. ``gradient_steps_per_update`` (1) gradient steps of Q-learning on uniform
   replay batches, once the memory holds a batch (§B.5).

The state the DRRN reads is the prompt of §B.1 (last ``nbr_obs`` observations
and actions per env, :class:`~glam_bench.agents.drrn.prompt_memory.EnvPrompts`),
with the authors' missing first observation after a reset available as the
``faithful_missing_first_obs`` option. A time-out counts as an episode end
(no bootstrap), as in the authors' code.

Log columns (§G). DRRN has no policy loss and its value function is Q, so:
``value_loss`` = ``loss`` = ``q_loss`` (the Huber TD loss of the update's
gradient step), ``grad_norm`` is the norm before clipping, ``entropy`` is the
mean entropy of the Boltzmann policy over the update's acting steps, and
``policy_loss`` is always NaN. Until the replay memory holds one batch, no
gradient step is taken and every loss column except ``entropy`` is NaN.
DRRN's own columns: ``q_loss``, ``q_mean`` (mean Q of the batch's chosen
actions) and ``target_mean`` (mean TD target).

:class:`DRRNAgent` acts with the trained network for the test sets of §D:
the prompt is built with the test set's action names and language, then
rewritten by its substitutions, and the test set's action names are the
scored candidates.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium.vector import VectorEnv

from glam_bench.agents.base import Agent, to_env_actions
from glam_bench.agents.drrn.config import DRRNConfig, from_run_config
from glam_bench.agents.drrn.network import DRRN
from glam_bench.agents.drrn.prompt_memory import EnvPrompts
from glam_bench.agents.drrn.q_learning import DRRNQLearning, boltzmann_sample
from glam_bench.agents.drrn.replay import ReplayMemory, Transition
from glam_bench.agents.drrn.tokenizer import DRRNTokenizer, ensure_tokenizer
from glam_bench.runtime.config import RunConfig
from glam_bench.runtime.devices import resolve_device
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import Episode, EpisodeTracker
from glam_bench.paper.test_sets import TestSet
from glam_bench.rl.rewards import scale_rewards
from glam_bench.paper.study import AGENTS_BY_NAME
from glam_bench.runtime.training import Learner, UpdateResult
from glam_bench.runtime import moved_modules
from glam_bench.paper.vocabulary import ACTION_SPACES

#: Written on every result row of a DRRN run (the authors' model name, §G).
MODEL_NAME = AGENTS_BY_NAME["drrn"].model

#: The training process flushes denormal floats to zero (glam_bench.runtime.process.configure_process):
#: gradients flowing back through hundreds of GRU steps decay into denormals, which make the
#: CPU backward ~8x slower; flushing them changes nothing visible.
FLUSH_DENORMAL = True


def boltzmann_entropy(q_values: Sequence[torch.Tensor], temperature: float) -> float:
    """Mean entropy of softmax(Q / temperature) over the states."""
    entropies = [torch.distributions.Categorical(logits=q.float() / temperature).entropy() for q in q_values]
    return float(torch.stack(entropies).mean())


def build_network(config: DRRNConfig, vocab_size: int, seed: int) -> DRRN:
    """The Q-network, initialised from ``seed`` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DRRN(vocab_size, config.embedding_dim, config.hidden_dim)


class DRRNLearner(Learner):
    """DRRN learner driven by :func:`glam_bench.runtime.training.train`; see the module docstring."""

    model_name = MODEL_NAME

    def __init__(self, run: RunConfig, tokenizer: DRRNTokenizer | None = None):
        config = from_run_config(run)
        self.run = run
        self.device = resolve_device(run.device)
        self.tokenizer = tokenizer or ensure_tokenizer(run.models_dir, config.vocab_size)
        # The request (8000, §B.5) is capped by what the corpus supports.
        self.config = dataclasses.replace(config, vocab_size=self.tokenizer.vocab_size)
        network = build_network(self.config, self.tokenizer.vocab_size, run.seed)
        self.q_learning = DRRNQLearning(network, self.config, self.device)
        self.replay = ReplayMemory(self.config.memory_capacity, self.config.memory_seed)
        self.action_names = ACTION_SPACES[run.action_space]
        self.candidates = self.tokenizer.encode_batch(self.action_names)
        self.generator = torch.Generator().manual_seed(run.seed)
        self.envs = make_vector_env(run.env, self.config.num_envs, text_fixes=run.text_fixes,
                                    task_sampling=run.task_sampling)
        self.observations, infos = self.envs.reset(
            seed=env_seeds(run.seed, self.config.num_envs, "train"))
        self.tracker = EpisodeTracker(self.config.num_envs, infos.get("task_kind"))
        self.prompts = EnvPrompts(self.config.num_envs, self.config.nbr_obs, self.action_names,
                                  faithful_missing_first_obs=self.config.faithful_missing_first_obs)
        self.prompts.observe(self.observations["descriptions"])
        self.states = self._encode_states()

    # --- one update ------------------------------------------------------

    def update(self) -> UpdateResult:
        episodes: list[Episode] = []
        entropies = []
        for _ in range(self.config.frames_per_env):
            finished, entropy = self._step()
            episodes += finished
            entropies.append(entropy)
        losses = {"entropy": float(np.mean(entropies)), **self._learn()}
        frames = self.config.frames_per_env * self.config.num_envs
        return UpdateResult(frames=frames, episodes=episodes, losses=losses)

    def _encode_states(self) -> list[list[int]]:
        return self.tokenizer.encode_batch(self.prompts.prompts(self.observations["mission"]))

    def _step(self) -> tuple[list[Episode], float]:
        """One vector step: act, store the transitions, move the prompts on."""
        with torch.no_grad():
            q_values = self.q_learning.q_values(self.states, [self.candidates] * len(self.states))
        indices = boltzmann_sample(q_values, self.config.temperature, self.generator)
        self.prompts.record_actions(indices)
        observations, rewards, terminated, truncated, infos = self.envs.step(
            to_env_actions(np.asarray(indices)))
        dones = np.logical_or(terminated, truncated)
        finished = self.tracker.step(rewards, terminated, truncated, infos)
        for i in np.flatnonzero(dones):
            self.prompts.episode_ended(int(i))
        self.observations = observations
        self.prompts.observe(observations["descriptions"])
        next_states = self._encode_states()
        scaled = scale_rewards(rewards, self.config.reward_scale)
        for i, index in enumerate(indices):
            self.replay.push(Transition(self.states[i], self.candidates[index], float(scaled[i]),
                                        next_states[i], self.candidates, bool(dones[i])))
        self.states = next_states
        return finished, boltzmann_entropy(q_values, self.config.temperature)

    def _learn(self) -> dict[str, float]:
        """The update's gradient steps, or NaN columns while the replay lacks a batch."""
        cfg = self.config
        if len(self.replay) < cfg.batch_size:
            stats = {"loss": float("nan"), "grad_norm": float("nan"),
                     "q_mean": float("nan"), "target_mean": float("nan")}
        else:
            steps = [self.q_learning.update(self.replay.sample(cfg.batch_size))
                     for _ in range(cfg.gradient_steps_per_update)]
            stats = {name: float(np.mean([s[name] for s in steps])) for name in steps[0]}
        return {"policy_loss": float("nan"), "value_loss": stats["loss"], "loss": stats["loss"],
                "grad_norm": stats["grad_norm"], "q_loss": stats["loss"],
                "q_mean": stats["q_mean"], "target_mean": stats["target_mean"]}

    # --- checkpointing ---------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Weights, optimizer, replay memory, envs mid-episode, prompts, RNGs and tokenizer."""
        return {
            "config": dataclasses.asdict(self.config),
            "action_names": list(self.action_names),
            "tokenizer": self.tokenizer.model_proto,
            "tokenizer_metadata": dict(self.tokenizer.metadata),
            "q_learning": self.q_learning.state_dict(),
            "replay": self.replay.state_dict(),
            "envs": pickle.dumps((self.envs, self.tracker)),
            "observations": self.observations,
            "prompts": self.prompts.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["tokenizer"] != self.tokenizer.model_proto:
            # Read with the tokenizer the network was trained with, whatever the models folder holds.
            self.tokenizer = DRRNTokenizer(state["tokenizer"], state["tokenizer_metadata"])
            self.candidates = self.tokenizer.encode_batch(self.action_names)
            self.config = dataclasses.replace(self.config, vocab_size=self.tokenizer.vocab_size)
            network = build_network(self.config, self.tokenizer.vocab_size, self.run.seed)
            self.q_learning = DRRNQLearning(network, self.config, self.device)
        self.q_learning.load_state_dict(state["q_learning"])
        self.replay.load_state_dict(state["replay"])
        self.envs.close()
        self.envs, self.tracker = moved_modules.loads(state["envs"])
        self.observations = state["observations"]
        self.prompts.load_state_dict(state["prompts"])
        self.generator.set_state(state["generator"])
        self.states = self._encode_states()

    def close(self) -> None:
        self.envs.close()


class DRRNAgent(Agent):
    """A trained DRRN acting in a vector env: Boltzmann sampling, as in training (§B.5)."""

    name = "drrn"
    model = MODEL_NAME

    def __init__(
        self,
        q_learning: DRRNQLearning,
        tokenizer: DRRNTokenizer,
        num_envs: int,
        action_names: Sequence[str],
        *,
        nbr_obs: int = 3,
        language: str = "en",
        substitutions: Sequence[Mapping[str, str]] = (),
        faithful_missing_first_obs: bool = False,
        seed: int = 0,
        french_goal: str = "correct",
    ):
        super().__init__(num_envs)
        self.q_learning = q_learning
        self.tokenizer = tokenizer
        self.prompts = EnvPrompts(num_envs, nbr_obs, action_names, language=language,
                                  substitutions=substitutions, french_goal=french_goal,
                                  faithful_missing_first_obs=faithful_missing_first_obs)
        self.candidates = tokenizer.encode_batch(list(action_names))
        self.generator = torch.Generator().manual_seed(seed)

    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        self.prompts.observe(observations["descriptions"])
        states = self.tokenizer.encode_batch(self.prompts.prompts(observations["mission"]))
        indices = self.q_learning.act(states, [self.candidates] * len(states), self.generator)
        self.prompts.record_actions(indices)
        return to_env_actions(np.asarray(indices))

    def reset(self, env_index: int) -> None:
        self.prompts.episode_ended(env_index)


def build_learner(config: RunConfig) -> DRRNLearner:
    """The DRRN learner of a run (tokenizer built into ``config.models_dir`` if missing)."""
    return DRRNLearner(config)


def build_agent(config: RunConfig, learner_state: dict, vector_env: VectorEnv, test_set: TestSet,
                seed: int) -> DRRNAgent:
    """The trained DRRN of ``learner_state`` acting in ``vector_env`` under ``test_set`` (§D.1)."""
    drrn_config = DRRNConfig(**learner_state["config"])
    tokenizer = DRRNTokenizer(learner_state["tokenizer"], learner_state["tokenizer_metadata"])
    network = DRRN(tokenizer.vocab_size, drrn_config.embedding_dim, drrn_config.hidden_dim)
    q_learning = DRRNQLearning(network, drrn_config, resolve_device(config.device))
    q_learning.load_state_dict(learner_state["q_learning"])
    action_names = test_set.action_names or tuple(learner_state["action_names"])
    return DRRNAgent(
        q_learning, tokenizer, vector_env.num_envs, action_names, nbr_obs=drrn_config.nbr_obs,
        language=test_set.language, substitutions=test_set.substitutions,
        faithful_missing_first_obs=drrn_config.faithful_missing_first_obs, seed=seed,
        french_goal=config.french_goal,
    )
