"""The ``glam-bench`` command line: every step of the pipeline, runnable by hand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from glam_bench.vocabulary import ACTIONS


def _play(args: argparse.Namespace) -> int:
    """Show episodes as an agent reads them: mission, sentences, chosen action."""
    from glam_bench.agents import make_reference_agent
    from glam_bench.envs import env_seeds, make_vector_env
    from glam_bench.evaluation.runner import run_episodes

    env = make_vector_env(args.env, num_envs=1, text_fixes=args.text_fixes)
    agent = make_reference_agent(args.agent, env, seed=args.seed)
    steps = [0]

    def show_step(observations, actions) -> None:
        if steps[0] == 0:
            print(f"\n=== mission: {observations['mission'][0]}")
        steps[0] += 1
        for sentence in observations["descriptions"][0]:
            print(f"      {sentence}")
        action = int(actions[0])
        print(f"  step {steps[0]:3d}: {ACTIONS[action] if action < len(ACTIONS) else 'done'}")

    def show_episode(episode) -> None:
        steps[0] = 0
        outcome = "success" if episode.success else "failure"
        print(f"  => {outcome} after {episode.length} steps, return {episode.episode_return:.4f}")

    episodes = run_episodes(env, agent, args.episodes, env_seeds(args.seed, 1, "test"),
                            on_step=show_step, on_episode=show_episode, progress=False)
    env.close()
    rate = sum(e.success for e in episodes) / len(episodes)
    print(f"\n{args.agent} on {args.env}: success rate {rate:.2f} over {len(episodes)} episodes")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glam-bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    play = commands.add_parser("play", help="watch an agent play a BabyAI-Text level as text")
    play.add_argument("--env", default="BabyAI-Text-MixedTrainLocal-v0")
    play.add_argument("--agent", default="bot", help="bot or random")
    play.add_argument("--episodes", type=int, default=3)
    play.add_argument("--seed", type=int, default=1)
    play.add_argument("--text-fixes", action="store_true",
                      help="corrected text instead of the paper's quirks (§A.2)")
    play.set_defaults(handler=_play)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:  # bad names and configs: one clear line, no traceback
        print(f"glam-bench {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
