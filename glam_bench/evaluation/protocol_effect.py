"""How much the test protocol moves a success rate: counting and task sampling (§A.5, §D.1).

The authors' tests fixed one task kind per env instance and counted the first
1000 episodes to end across 32 envs; the suite's default draws a kind per
episode and counts a fixed quota per env. This plays the bot and the random
agent (cheap, no model) under each combination and prints a Markdown table of
success rates with a 99% Wilson interval over the episodes, the mean episode
length and the share of short-task (go-to / pick-up) episodes, for
``docs/fidelity.md``::

    python -m glam_bench.evaluation.protocol_effect --episodes 1000 --seed 1
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from glam_bench.agents import make_reference_agent
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import COUNTING_MODES, Episode, run_episodes
from glam_bench.report.stats import Z_99

#: Task kinds with the short (64-step) episode limit (§A.5).
SHORT_KINDS = ("goto", "pickup")


def wilson_interval(successes: int, n: int, z: float = Z_99) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (99% with the default ``z``)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def measure(agent_name: str, task_sampling: str, counting: str, episodes: int, num_envs: int,
            seed: int, env_id: str) -> list[Episode]:
    """Test episodes of a reference agent under one protocol (test seeds of §A.6)."""
    vector_env = make_vector_env(env_id, num_envs, task_sampling=task_sampling)
    try:
        agent = make_reference_agent(agent_name, vector_env, seed=seed)
        return run_episodes(vector_env, agent, episodes, env_seeds(seed, num_envs, "test"),
                            progress=False, counting=counting)
    finally:
        vector_env.close()


def table_row(agent: str, task_sampling: str, counting: str, finished: list[Episode]) -> str:
    n = len(finished)
    wins = sum(e.success for e in finished)
    low, high = wilson_interval(wins, n)
    length = sum(e.length for e in finished) / n
    short = sum(e.task_kind in SHORT_KINDS for e in finished) / n
    return (f"| {agent} | {task_sampling} | {counting} | {wins / n:.3f} [{low:.3f}, {high:.3f}] "
            f"| {length:.1f} | {short:.2f} | {n} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="BabyAI-Text-MixedTrainLocal-v0")
    parser.add_argument("--agents", default="bot,random")
    parser.add_argument("--task-sampling", default="episode,instance")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--num-envs", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"{args.env}, {args.episodes} test episodes, {args.num_envs} envs, run seed {args.seed}")
    print("| agent | task sampling | counting | success rate [99% Wilson] | mean length "
          "| go-to/pick-up share | episodes |")
    print("|---|---|---|---|---|---|---|")
    for agent in args.agents.split(","):
        for task_sampling in args.task_sampling.split(","):
            for counting in COUNTING_MODES:
                finished = measure(agent, task_sampling, counting, args.episodes,
                                   args.num_envs, args.seed, args.env)
                print(table_row(agent, task_sampling, counting, finished), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
