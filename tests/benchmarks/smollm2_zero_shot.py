"""Zero-shot skill of SmolLM2-135M-Instruct on a BabyAI-Text level, per task kind, with the paper's 99% interval.

A measurement, not a test: it prints and asserts nothing. Two modes:

* ``episodes``: zero-shot success over full episodes, actions sampled from the
  policy on the test seeds (as the paper tested, §D.1). Costly on a CPU: a
  failed GoToLocal episode is 64 steps of a 135M model on ~250-token prompts.
* ``states`` (default): the states a BabyAI bot visits; on each, for every
  framing (``candidate_space`` x ``chat_template``) on the *same* prompts, the
  zero-shot policy's probability of the bot's action and whether its greedy
  action is the bot's. One forward per prompt and framing, so it compares the
  framings at a cost a CPU can pay; it is a proxy, not success.

Intervals are :func:`glam_bench.report.stats.mean_ci99` over episodes or
states (mean ± 2.5758 std/√n; the paper applies it across seeds, §D.1).

Run::

    GLAM_BENCH_MODELS_DIR=work/models python -m tests.benchmarks.smollm2_zero_shot \\
        --env BabyAI-Text-GoToLocal-v0 --mode states --states 24
    GLAM_BENCH_MODELS_DIR=work/models python -m tests.benchmarks.smollm2_zero_shot \\
        --env BabyAI-Text-GoToLocal-v0 --mode episodes --episodes 8 [--candidate-space candidate] [--chat-template]
"""

from __future__ import annotations

import argparse
import collections
import time

import torch

from glam_bench.agents import make_reference_agent
from glam_bench.agents.llm_ppo import LLMAgent, PromptBook
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import run_episodes
from glam_bench.paper.test_sets import get_test_set
from glam_bench.llm.heads import LLMPolicy
from glam_bench.llm.scoring import CandidateScorer, ScoringConfig
from glam_bench.llm.loading import load_model
from glam_bench.report.stats import mean_ci99
from glam_bench.paper.vocabulary import ACTIONS


def measure(env: str, episodes: int, num_envs: int, candidate_space: str, chat_template: bool,
            seed: int = 1) -> str:
    """One line per task kind and one for all: successes/episodes, rate, 99% interval."""
    scoring = ScoringConfig(candidate_space=candidate_space, chat_template=chat_template)
    policy = LLMPolicy.from_pretrained("smollm2-135m", "zero-shot", n_actions=6, head_hidden=8,
                                       scoring=scoring, seed=seed)
    vector_env = make_vector_env(env, num_envs)
    agent = LLMAgent(policy, num_envs, 3, get_test_set("no_change"), ACTIONS, seed,
                     torch.device("cpu"), "zero-shot")
    start = time.perf_counter()
    done = run_episodes(vector_env, agent, episodes, env_seeds(seed, num_envs, "test"))
    seconds = time.perf_counter() - start
    vector_env.close()
    by_kind = collections.defaultdict(list)
    for episode in done:
        by_kind[episode.task_kind].append(float(episode.success))
        by_kind["all"].append(float(episode.success))
    lines = [f"{env} zero-shot smollm2-135m, candidate_space={candidate_space}, "
             f"chat_template={chat_template}: {len(done)} episodes, "
             f"{sum(e.length for e in done)} steps in {seconds:.0f} s"]
    for kind, outcomes in sorted(by_kind.items()):
        estimate = mean_ci99(outcomes) if len(outcomes) > 1 else None
        interval = f"[{estimate.low:.2f}, {estimate.high:.2f}]" if estimate else "(one episode)"
        lines.append(f"  {kind:24} {int(sum(outcomes))}/{len(outcomes)} = {sum(outcomes) / len(outcomes):.2f}"
                     f"  99% interval {interval}")
    return "\n".join(lines)


def bot_states(env: str, n: int, seed: int = 1) -> list[tuple[str, int, str]]:
    """(prompt, bot's action index, task kind) of the first ``n`` states a bot visits, one env."""
    vector_env = make_vector_env(env, 1)
    bot = make_reference_agent("bot", vector_env)
    book = PromptBook(1, 3, ACTIONS)
    observations, infos = vector_env.reset(seed=env_seeds(seed, 1, "test"))
    kind = infos.get("task_kind", ["-"])[0]
    states = []
    while len(states) < n:
        prompt = book.observe(observations)[0]
        action = int(bot.act(observations)[0])
        states.append((prompt, action, kind))
        book.record([action])
        observations, _, terminated, truncated, infos = vector_env.step([action])
        if terminated[0] or truncated[0]:
            book.reset(0)
            bot.reset(0)
            kind = infos.get("task_kind", ["-"])[0]
    vector_env.close()
    return states


def framing_agreement(env: str, n: int) -> str:
    """Bot-action probability and greedy agreement of zero-shot SmolLM2 under each framing, same states."""
    states = bot_states(env, n)
    loaded = load_model("smollm2-135m")
    lines = [f"{env}: {len(states)} bot-visited states, zero-shot smollm2-135m, logprob scorer"]
    for space in ("prompt", "candidate"):
        for chat in (False, True):
            scorer = CandidateScorer(loaded.model, loaded.tokenizer,
                                     ScoringConfig(candidate_space=space, chat_template=chat))
            greedy, probability = collections.defaultdict(list), collections.defaultdict(list)
            for prompt, action, kind in states:
                with torch.no_grad():
                    probs = scorer([prompt], [list(ACTIONS)]).scores.softmax(-1)[0]
                for key in (kind, "all"):
                    greedy[key].append(float(int(probs.argmax()) == action))
                    probability[key].append(float(probs[action]))
            for key in sorted(greedy):
                g, p = mean_ci99(greedy[key]), mean_ci99(probability[key])
                lines.append(f"  space={space:9} chat={str(chat):5} {key:22} n={len(greedy[key]):3} "
                             f"greedy=bot {g.value:.2f} [{g.low:.2f}, {g.high:.2f}]  "
                             f"P(bot action) {p.value:.3f} [{p.low:.3f}, {p.high:.3f}]")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="BabyAI-Text-GoToLocal-v0")
    parser.add_argument("--mode", choices=("states", "episodes"), default="states")
    parser.add_argument("--states", type=int, default=24)
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--candidate-space", default="prompt", choices=("prompt", "candidate"))
    parser.add_argument("--chat-template", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.mode == "states":
        print(framing_agreement(args.env, args.states))
    else:
        print(measure(args.env, args.episodes, args.num_envs, args.candidate_space, args.chat_template))


if __name__ == "__main__":
    main()
