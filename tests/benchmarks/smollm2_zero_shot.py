"""Zero-shot success of SmolLM2-135M-Instruct on a BabyAI-Text level, per task kind, with the paper's 99% interval.

A measurement, not a test: it prints and asserts nothing. The interval is
:func:`glam_bench.report.stats.mean_ci99` over the per-episode successes
(mean ± 2.5758 std/√n; the paper applies it across seeds, §D.1). Actions are
sampled from the policy, as the paper tested (§D.1), on the test seeds.

Run (a few minutes of CPU for a handful of episodes; SmolLM2 takes about a
second per prompt on a busy 2-core machine)::

    GLAM_BENCH_MODELS_DIR=work/models python -m tests.benchmarks.smollm2_zero_shot \\
        --env BabyAI-Text-GoToLocal-v0 --episodes 8 [--candidate-space candidate] [--chat-template]
"""

from __future__ import annotations

import argparse
import collections
import time

import torch

from glam_bench.agents.llm_ppo import LLMAgent
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.evaluation.runner import run_episodes
from glam_bench.evaluation.test_sets import get_test_set
from glam_bench.llm.heads import LLMPolicy
from glam_bench.llm.scoring import ScoringConfig
from glam_bench.report.stats import mean_ci99
from glam_bench.vocabulary import ACTIONS


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="BabyAI-Text-GoToLocal-v0")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--candidate-space", default="prompt", choices=("prompt", "candidate"))
    parser.add_argument("--chat-template", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(measure(args.env, args.episodes, args.num_envs, args.candidate_space, args.chat_template))


if __name__ == "__main__":
    main()
