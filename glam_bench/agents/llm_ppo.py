"""GLAM's LLM agents trained online with PPO: GFlan-T5 and the §B.4 variants (§C).

:class:`LLMPPOLearner` collects ``frames_per_env`` steps in each of
``num_envs`` envs with the LLM policy (prompts of §B.1, candidates scored by
:mod:`glam_bench.llm.scoring`), computes GAE, then runs ``epochs`` passes of
random minibatches of the clipped PPO objective. The scoring code that picks
actions is the one that carries gradients in the update.

The policy stays in eval mode: dropout off in rollouts and updates alike, so
the PPO ratio is exactly 1 before the first step (lamorel's servers do not
switch HF models to train mode either). ``non_pretrained_dropout`` is the
exception the authors' code made for the variants built from a config
(NPAE, NPA, NPE): their model was never put in eval mode, so its dropout was
active everywhere (§B.4).

With an ``adapter`` block (LoRA, :mod:`glam_bench.llm.adapters`) only the
adapter and the heads are trained and checkpointed; LoRA dropout, if any,
acts in the update's forward passes only.

Data parallelism (``torchrun``, one process per GPU): rank 0 steps the envs
and samples the actions; the rollout is broadcast; every minibatch is split
across ranks, each rank back-propagates its share weighted by its sample count,
and the engine averages the gradients once per minibatch (micro-batches before
the last accumulate without reduction), so the update equals the single-process
one on the same batch (the paper's four LLM servers did the same split, §F.3).
The run's ``data_parallel`` key picks the engine:

* ``ddp``: :class:`~torch.nn.parallel.DistributedDataParallel`, a whole copy of
  the policy per GPU (bucketed reduction overlapped with backward, ``no_sync``
  across micro-batches); only rank 0 runs the acting forwards.
* ``fsdp``: the policy sharded with FSDP2 (:mod:`glam_bench.llm.sharding`),
  for models that fit no single GPU. Every forward all-gathers the weights, so
  every rank joins every acting forward on rank 0's broadcast prompts;
  checkpoints are gathered to the single-process format on rank 0.

Both are tested equal to one process with two gloo processes on the CPU. Forward
passes run in the run's ``precision`` (:mod:`glam_bench.runtime.devices`): ``fp32``,
the paper's, unless a preset opts into ``tf32`` or ``bf16``.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from gymnasium.vector import VectorEnv
from torch.nn.parallel import DistributedDataParallel

from glam_bench.agents.base import Agent, to_env_actions
from glam_bench.agents.monitoring import monitoring_prompts
from glam_bench.runtime.config import ConfigError, PPOConfig, RunConfig
from glam_bench.runtime.devices import autocast, resolve_device
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import EpisodeTracker
from glam_bench.paper.test_sets import TestSet
from glam_bench.llm.adapters import (
    adapter_dropout,
    load_policy_state_dict,
    policy_state_dict,
)
from glam_bench.llm.heads import VARIANTS, LLMPolicy, PolicyOutput
from glam_bench.llm.loading import model_weights_record
from glam_bench.llm.scoring import ScoringConfig
from glam_bench.llm.sharding import (
    full_optimizer_state_dict,
    is_sharded,
    load_full_optimizer_state_dict,
    shard_policy,
)
from glam_bench.paper.prompts import PromptMemory, apply_substitutions
from glam_bench.rl.gae import compute_gae
from glam_bench.rl.ppo import ppo_losses
from glam_bench.rl.rewards import scale_rewards
from glam_bench.paper.study import BC_AGENTS
from glam_bench.runtime.training import Learner, UpdateResult, frame_schedule
from glam_bench.runtime import moved_modules
from glam_bench.paper.vocabulary import ACTION_SPACES

# --- Prompts of many envs ---------------------------------------------------------


class PromptBook:
    """One :class:`PromptMemory` per env; turns observation batches into prompts (§B.1).

    ``substitutions`` (test sets, §D.1) rewrite the finished prompt text only;
    the env and the memories keep the original sentences.
    """

    def __init__(self, num_envs: int, nbr_obs: int, action_names: Sequence[str],
                 language: str = "en", substitutions: Sequence[Mapping[str, str]] = (),
                 french_goal: str = "correct"):
        self.memories = [PromptMemory(nbr_obs) for _ in range(num_envs)]
        self.action_names = list(action_names)
        self.language = language
        self.substitutions = list(substitutions)
        self.french_goal = french_goal

    def observe(self, observations: Mapping[str, Any]) -> list[str]:
        """Store each env's new observation and return each env's prompt."""
        prompts = []
        for memory, mission, sentences in zip(self.memories, observations["mission"],
                                              observations["descriptions"]):
            memory.add_observation(sentences)
            options = {"french_goal": self.french_goal} if self.language == "fr" else {}
            prompt = memory.prompt(mission, self.action_names, language=self.language, **options)
            if self.substitutions:
                prompt = apply_substitutions(prompt, self.substitutions)
            prompts.append(prompt)
        return prompts

    def record(self, action_indices: Sequence[int]) -> None:
        for memory, index in zip(self.memories, action_indices):
            memory.add_action(self.action_names[int(index)])

    def reset(self, env_index: int) -> None:
        self.memories[env_index].reset()


def sample_actions(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Sample from softmax(logits) with a dedicated generator (its state is checkpointed)."""
    probs = torch.softmax(logits.float(), dim=-1).cpu()
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def scoring_config(config: RunConfig) -> ScoringConfig:
    """How a run scores candidates: scorer, ``</s>``, raw_logits pad grouping (§B.2), and the
    candidate framing of causal models (space placement, chat template)."""
    return ScoringConfig(scorer=config.scorer, append_eos=config.append_eos,
                         pad_group_size=config.pad_group_size,
                         candidate_space=config.candidate_space,
                         chat_template=config.chat_template)


def uses_dropout(config: RunConfig, variant: str) -> bool:
    """Whether ``variant``'s model runs in train mode: the non-pretrained ones under
    ``non_pretrained_dropout``, as the authors' code left them (§B.4)."""
    return config.non_pretrained_dropout and not VARIANTS[variant].pretrained


def build_policy(config: RunConfig, variant: str, device: torch.device) -> LLMPolicy:
    """The LLM policy of a run; weights are read offline from ``config.models_dir``.

    The model is in eval mode, or in train mode (dropout active in acting,
    updates, monitoring and tests alike) when :func:`uses_dropout` says so.
    """
    if config.adapter is not None and config.agent in BC_AGENTS:
        raise ConfigError(f"adapter: LoRA is built for the LLM PPO agents; {config.agent} fine-tunes "
                          f"all weights (§C): set `adapter: null` in agent_training.{config.agent}")
    policy = LLMPolicy.from_pretrained(
        config.model, variant, n_actions=len(ACTION_SPACES[config.action_space]),
        scoring=scoring_config(config),
        head_hidden=config.value_head_hidden, models_dir=config.models_dir,
        seed=config.seed, device=device, adapter=config.adapter,
    )
    return policy.train(uses_dropout(config, variant))


@torch.no_grad()
def monitoring_rows(policy: LLMPolicy, prompts: list[str], candidates: list[str],
                    device: torch.device, precision: str = "fp32") -> list[dict]:
    """``policy_log.csv`` rows: each action's probability on each monitoring prompt (§G)."""
    with autocast(device, precision):
        output = policy(prompts, [candidates] * len(prompts))
    probabilities = torch.softmax(output.logits.float(), dim=-1).cpu()
    return [{"prompt_id": j, "action": action, "probability": float(probabilities[j, k])}
            for j in range(len(prompts)) for k, action in enumerate(candidates)]


# --- The PPO update ----------------------------------------------------------------


@dataclass
class RolloutBatch:
    """A flattened rollout: one entry per (step, env)."""

    prompts: list[str]
    actions: torch.Tensor
    logprobs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor


def world() -> tuple[int, int]:
    """(rank, world size) under torch.distributed, (0, 1) otherwise."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def data_parallel(policy: torch.nn.Module, engine: str = "ddp") -> torch.nn.Module:
    """``policy`` under the run's engine when torch.distributed runs, else itself.

    ``ddp``: wrapped in DistributedDataParallel. Buffers are not re-broadcast
    (none changes); action-head variants leave the LM head without gradients,
    so DDP is told to look for unused parameters. ``fsdp``: sharded in place
    (:func:`glam_bench.llm.sharding.shard_policy`); build the optimizer after.
    A policy already under either engine is returned as it is.
    """
    _, size = world()
    if size == 1 or isinstance(policy, DistributedDataParallel) or is_sharded(policy):
        return policy
    if engine == "fsdp":
        return shard_policy(policy)
    device = next(policy.parameters()).device
    return DistributedDataParallel(
        policy, device_ids=[device.index] if device.type == "cuda" else None,
        broadcast_buffers=False, find_unused_parameters=bool(policy.variant.action_heads))


def ppo_update(policy: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: RolloutBatch,
               candidates: Sequence[str], ppo: PPOConfig, generator: torch.Generator,
               device: torch.device, precision: str = "fp32") -> dict[str, float]:
    """``ppo.epochs`` passes of random minibatches over ``batch`` (§C); mean losses.

    Under torch.distributed every rank holds the same batch and draws the same
    permutation; rank r takes minibatch entries r, r+W, ... and its loss is
    weighted by its share (times W, as DDP averages), so the reduced gradients
    equal the full minibatch's (DDP and FSDP alike average over ranks). Every
    rank runs as many micro-steps as rank 0 (the largest share): a rank whose
    share is used up runs zero-weight passes, since FSDP all-gathers weights in
    every forward and the last micro-step's gradient reduction needs every rank.
    """
    engine = data_parallel(policy)
    unwrapped = engine.module if isinstance(engine, DistributedDataParallel) else engine
    unwrapped.set_gradient_checkpointing(ppo.gradient_checkpointing)
    rank, size = world()
    sums = {"entropy": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "loss": 0.0,
            "grad_norm": 0.0}
    steps = 0
    n = len(batch.prompts)
    params = [p for p in engine.parameters() if p.requires_grad]
    for _ in range(ppo.epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, ppo.minibatch_size):
            minibatch = order[start:start + ppo.minibatch_size]
            chunks = micro_batches(minibatch[rank::size], ppo.micro_batch_size)
            micro_steps = len(micro_batches(minibatch[0::size], ppo.micro_batch_size))
            optimizer.zero_grad(set_to_none=False)
            totals = [0.0] * 4  # python floats: one chunk gives exactly the unsplit numbers
            for i in range(micro_steps):
                last = i == micro_steps - 1
                chunk = chunks[i] if i < len(chunks) else minibatch[:1]
                weight = len(chunk) / len(minibatch) if i < len(chunks) else 0.0
                with _gradient_sync(engine, last), adapter_dropout(unwrapped, generator):
                    local = _minibatch_losses(engine, batch, chunk, candidates, ppo, device, precision)
                    (local["loss"] * (weight * size)).backward()
                totals = [t + weight * float(local[k].detach()) for t, k in
                          zip(totals, ("entropy", "policy_loss", "value_loss", "loss"))]
            stats = torch.tensor(totals)
            if size > 1:
                dist.all_reduce(stats)
            # under FSDP: the norm over every shard, a replicated DTensor (the same on all ranks)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, ppo.max_grad_norm)
            optimizer.step()
            for key, value in zip(("entropy", "policy_loss", "value_loss", "loss"), stats.tolist()):
                sums[key] += value
            sums["grad_norm"] += float(grad_norm)
            steps += 1
    return {k: v / max(steps, 1) for k, v in sums.items()}


def _gradient_sync(engine: torch.nn.Module, sync: bool):
    """No gradient reduction in the micro-steps before a minibatch's last: DDP's ``no_sync``,
    FSDP's ``set_requires_gradient_sync(False)`` (gradients stay unsharded until the last)."""
    if is_sharded(engine):
        return _fsdp_gradient_sync(engine, sync)
    if sync or not isinstance(engine, DistributedDataParallel):
        return contextlib.nullcontext()
    return engine.no_sync()


@contextlib.contextmanager
def _fsdp_gradient_sync(engine: torch.nn.Module, sync: bool):
    engine.set_requires_gradient_sync(sync)
    try:
        yield
    finally:
        engine.set_requires_gradient_sync(True)


def micro_batches(indices: torch.Tensor, size: int | None) -> list[torch.Tensor]:
    """``indices`` in consecutive chunks of ``size`` (one chunk when None); none when empty.

    Each chunk's mean loss is weighted by its share of the minibatch, so the
    accumulated gradient is the whole minibatch's (the losses are plain means).
    """
    if len(indices) == 0:
        return []
    return list(torch.split(indices, size or len(indices)))


def _minibatch_losses(policy, batch: RolloutBatch, indices: torch.Tensor,
                      candidates: Sequence[str], ppo: PPOConfig, device: torch.device,
                      precision: str = "fp32"):
    idx = indices.tolist()
    prompts = [batch.prompts[i] for i in idx]
    with autocast(device, precision):
        output = policy(prompts, [candidates] * len(prompts))
    losses = ppo_losses(
        output.logits, output.values, batch.actions[indices].to(device),
        batch.logprobs[indices].to(device), batch.values[indices].to(device),
        batch.advantages[indices].to(device), ppo.clip_eps, ppo.entropy_coef, ppo.value_coef,
    )
    return {"loss": losses.loss, "entropy": losses.entropy.detach(),
            "policy_loss": losses.policy_loss.detach(), "value_loss": losses.value_loss.detach()}


# --- The learner -------------------------------------------------------------------


class LLMPPOLearner(Learner):
    """GFlan-T5 (and AFlan, NPAE, NPA, NPE) fine-tuned online with PPO."""

    def __init__(self, config: RunConfig, policy: LLMPolicy | None = None):
        """``policy`` replaces the one ``config.model`` names (``glam-bench bench``'s random shapes)."""
        self.config = config
        self.device = resolve_device(config.device)
        self.rank, self.world_size = world()
        self.policy = policy if policy is not None else build_policy(config, config.agent, self.device)
        #: What the update runs: the policy, or with several ranks the policy under
        #: DistributedDataParallel (``ddp``) or sharded in place (``fsdp``; then it is the policy).
        self.engine = data_parallel(self.policy, config.data_parallel)
        #: Under FSDP every rank takes part in every forward pass, acting included.
        self.sharded = is_sharded(self.engine)
        if not self.policy.trainable:
            raise ValueError(f"agent {config.agent!r} is never trained; evaluate it directly")
        self.model_name = config.model
        self.candidates = list(ACTION_SPACES[config.action_space])
        ppo = config.ppo
        # Only trainable weights: with an adapter the frozen base is left out.
        trainable = [p for p in self.policy.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=ppo.lr,
                                          betas=ppo.adam_betas, eps=ppo.adam_eps)
        self.action_generator = torch.Generator().manual_seed(config.seed)
        self.minibatch_generator = torch.Generator().manual_seed(config.seed + 1)
        self.monitor_prompts = monitoring_prompts(self.candidates, config.monitoring_prompts)
        self.vector_env: VectorEnv | None = None
        if self.rank == 0:
            self._start_envs()

    def _start_envs(self) -> None:
        config = self.config
        self.vector_env = make_vector_env(config.env, config.num_envs, text_fixes=config.text_fixes,
                                          task_sampling=config.task_sampling)
        observations, infos = self.vector_env.reset(seed=env_seeds(config.seed, config.num_envs))
        self.book = PromptBook(config.num_envs, config.nbr_obs, self.candidates)
        self.tracker = EpisodeTracker(config.num_envs, infos.get("task_kind"))
        self.prompts = self.book.observe(observations)

    # --- one update ---

    def update(self) -> UpdateResult:
        rollout = self._collect() if self.rank == 0 else self._follow()
        if self.world_size > 1:
            holder = [rollout]
            dist.broadcast_object_list(holder, src=0)
            rollout = holder[0]
        batch, episodes = rollout
        losses = ppo_update(self.engine, self.optimizer, batch, self.candidates, self.config.ppo,
                            self.minibatch_generator, self.device, self.config.precision)
        rows = self._policy_rows() if self.rank == 0 or self.sharded else []  # FSDP: every rank
        return UpdateResult(frames=frame_schedule(self.config).frames_per_update, episodes=episodes,
                            losses=losses, extra_rows={"policy_log": rows if self.rank == 0 else []})

    @torch.no_grad()
    def _forward(self, prompts: list[str] | None) -> PolicyOutput:
        """The policy on rank 0's ``prompts``.

        Under FSDP each forward all-gathers the weights, so every rank must run
        it: rank 0 broadcasts its prompts and all ranks score all of them. The
        other ranks' inputs do not change rank 0's scores; the same prompts make
        every rank call the same units in the same order (the scorer's chunks and
        pad groups depend on the prompts), which the collectives need. Each
        rank scoring a share and gathering the scores would divide the acting
        compute by the world size, but needs uneven shares padded and a dummy
        pass for a rank with none; scoring everything everywhere computes
        exactly what one process computes, with no gather. Acting is one forward
        per frame against about three passes per frame per epoch in the update,
        so the duplicated compute matters only at large world sizes: measure
        before splitting it. Only rank 0 uses the output: it samples the
        actions from its own generator, as one process does.
        """
        if self.sharded:
            holder = [prompts]
            dist.broadcast_object_list(holder, src=0)
            prompts = holder[0]
        with autocast(self.device, self.config.precision):
            output = self.policy(prompts, [self.candidates] * len(prompts))
        self._reshard()
        return output

    def _reshard(self) -> None:
        """Free the weights FSDP gathered for a forward without backward.

        FSDP2 keeps the root unit's weights gathered after a forward, expecting
        the backward; the module then holds whole tensors in place of the
        shards that the optimizer and the state-dict gather refer to.
        """
        if self.sharded:
            self.policy.reshard()

    def _follow(self) -> None:
        """A rank other than 0: join rank 0's acting forwards under FSDP (one per step, then the
        bootstrap value); nothing under DDP. Returns None: the rollout comes by broadcast."""
        if self.sharded:
            for _ in range(self.config.frames_per_env + 1):
                self._forward(None)

    def _act(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        output = self._forward(prompts)
        logits = output.logits.float().cpu()
        actions = sample_actions(logits, self.action_generator)
        logprobs = torch.distributions.Categorical(logits=logits).log_prob(actions)
        return actions, logprobs, output.values.float().cpu()

    def _collect(self) -> tuple[RolloutBatch, list]:
        config = self.config
        steps, n = config.frames_per_env, config.num_envs
        prompts: list[list[str]] = []
        actions = torch.zeros(steps, n, dtype=torch.long)
        logprobs, values = torch.zeros(steps, n), torch.zeros(steps, n)
        rewards, dones = torch.zeros(steps, n), torch.zeros(steps, n)
        episodes = []
        for t in range(steps):
            prompts.append(self.prompts)
            actions[t], logprobs[t], values[t] = self._act(self.prompts)
            self.book.record(actions[t].tolist())
            observations, reward, terminated, truncated, infos = self.vector_env.step(
                to_env_actions(actions[t].numpy()))
            rewards[t] = torch.from_numpy(scale_rewards(reward, config.reward_scale))
            dones[t] = torch.as_tensor(np.logical_or(terminated, truncated), dtype=torch.float32)
            for episode in self.tracker.step(reward, terminated, truncated, infos):
                self.book.reset(episode.env_index)
                episodes.append(episode)
            self.prompts = self.book.observe(observations)
        last_value = self._values()
        advantages = compute_gae(rewards, values, dones, last_value, config.ppo.gamma,
                                 config.ppo.gae_lambda)
        batch = RolloutBatch([p for step in prompts for p in step], actions.flatten(),
                             logprobs.flatten(), values.flatten(), advantages.flatten())
        return batch, episodes

    def _values(self) -> torch.Tensor:
        return self._forward(self.prompts).values.float().cpu()

    def _policy_rows(self) -> list[dict]:
        """The monitoring rows; under FSDP every rank runs it (the prompts are fixed)."""
        rows = monitoring_rows(self.policy, self.monitor_prompts, self.candidates, self.device,
                               self.config.precision)
        self._reshard()
        return rows

    # --- state ---

    def state_dict(self) -> dict[str, Any]:
        """The learner's state as one process writes it; every rank calls it (an FSDP policy and
        optimizer are gathered whole on rank 0, the rank that writes)."""
        optimizer = (full_optimizer_state_dict(self.policy, self.optimizer) if self.sharded
                     else self.optimizer.state_dict())
        state = {"policy": policy_state_dict(self.policy), "optimizer": optimizer,
                 "minibatch_generator": self.minibatch_generator.get_state(),
                 "action_generator": self.action_generator.get_state()}
        if self.rank == 0:
            state["envs"] = pickle.dumps((self.vector_env, self.book, self.tracker, self.prompts))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_policy_state_dict(self.policy, state["policy"])
        if self.sharded:
            load_full_optimizer_state_dict(self.policy, self.optimizer, state["optimizer"])
        else:
            self.optimizer.load_state_dict(state["optimizer"])
        self.minibatch_generator.set_state(state["minibatch_generator"])
        self.action_generator.set_state(state["action_generator"])
        if self.rank == 0:
            if self.vector_env is not None:
                self.vector_env.close()
            self.vector_env, self.book, self.tracker, self.prompts = moved_modules.loads(state["envs"])

    def weights(self) -> dict:
        """The revision and digests of the weights ``config.model`` loads (run.json)."""
        return model_weights_record(self.config.model, self.config.models_dir)

    def data_parallel(self) -> str | None:
        if self.sharded:
            return "fsdp"
        return "ddp" if isinstance(self.engine, DistributedDataParallel) else None

    def close(self) -> None:
        if self.vector_env is not None:
            self.vector_env.close()


# --- Acting in evaluation ------------------------------------------------------------


class LLMAgent(Agent):
    """An LLM policy acting with sampled actions (as the paper tested, §D.1)."""

    def __init__(self, policy: LLMPolicy, num_envs: int, nbr_obs: int, test_set: TestSet,
                 training_actions: Sequence[str], seed: int, device: torch.device, name: str,
                 french_goal: str = "correct", precision: str = "fp32"):
        super().__init__(num_envs)
        self.policy, self.device, self.name = policy, device, name
        self.precision = precision
        self.candidates = list(test_set.action_names or training_actions)
        self.book = PromptBook(num_envs, nbr_obs, self.candidates, test_set.language,
                               test_set.substitutions, french_goal)
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        """Score and sample for the envs that still count; the others turn left (index 0)."""
        prompts = self.book.observe(observations)
        rows = np.arange(len(prompts)) if self.counted_envs is None else np.flatnonzero(
            self.counted_envs)
        actions = np.zeros(len(prompts), dtype=np.int64)
        if rows.size:
            with autocast(self.device, self.precision):
                output = self.policy([prompts[i] for i in rows], [self.candidates] * rows.size)
            actions[rows] = sample_actions(output.logits, self.generator).numpy()
        self.book.record(actions.tolist())
        return to_env_actions(actions)

    def reset(self, env_index: int) -> None:
        self.book.reset(env_index)


def build_learner(config: RunConfig) -> LLMPPOLearner:
    return LLMPPOLearner(config)


def build_agent(config: RunConfig, learner_state: dict | None, vector_env: VectorEnv,
                test_set: TestSet, seed: int) -> LLMAgent:
    """The run's policy (final weights; the pretrained model for zero-shot) as an agent."""
    return policy_agent(config, config.agent, learner_state, vector_env, test_set, seed)


def policy_agent(config: RunConfig, variant: str, learner_state: dict | None,
                 vector_env: VectorEnv, test_set: TestSet, seed: int) -> LLMAgent:
    """An :class:`LLMAgent` over ``variant``'s policy with the weights of ``learner_state``."""
    device = resolve_device(config.device)
    policy = build_policy(config, variant, device)
    if learner_state is not None:
        load_policy_state_dict(policy, learner_state["policy"])
    agent = LLMAgent(policy, vector_env.num_envs, config.nbr_obs, test_set,
                     ACTION_SPACES[config.action_space], seed, device, config.agent,
                     french_goal=config.french_goal, precision=config.precision)
    agent.model = config.model
    return agent
