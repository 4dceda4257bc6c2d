"""The ``glam-bench`` command line: every step of the pipeline, runnable by hand."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence

from glam_bench.errors import GlamBenchError
from glam_bench.paper.study import MODEL_FREE_AGENTS
from glam_bench.paper.vocabulary import ACTIONS


def _play(args: argparse.Namespace) -> int:
    """Show episodes as an agent reads them: mission, sentences, chosen action."""
    from glam_bench.agents import make_reference_agent
    from glam_bench.envs import env_seeds, make_vector_env
    from glam_bench.rl.episodes import run_episodes
    from glam_bench.runtime.process import configure_process

    configure_process()
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


def _train(args: argparse.Namespace) -> int:
    """Train one (experiment, agent, seed) of a preset, resuming from its checkpoint."""
    from glam_bench.agents.families import build_learner, check_agent, flushes_denormals, is_trained
    from glam_bench.runtime.config import resolve_run
    from glam_bench.pipeline.preset_checks import load_preset
    from glam_bench.pipeline.preset_checks import check_device
    from glam_bench.runtime.process import configure_process
    from glam_bench.runtime.results import check_output_path
    from glam_bench.runtime.runs import RunPaths
    from glam_bench.runtime.training import register_untrained_run, train

    preset = load_preset(args.config)
    check_agent(args.agent)
    config = resolve_run(preset, args.experiment, args.agent, args.seed)
    check_device(config.device, f"{args.config}: device of {args.experiment}/{args.agent}")
    # the run's own directories, recorded in its config (bc-gflan finds its source run there)
    config = dataclasses.replace(config, results_dir=args.results_dir or config.results_dir,
                                 work_dir=args.work_dir or config.work_dir)
    paths = RunPaths.for_run(config.results_dir, config.work_dir,
                             args.experiment, args.agent, args.seed)
    check_output_path(paths.results, is_dir=True)
    check_output_path(paths.work, is_dir=True)
    configure_process(threads=args.threads, seed=config.seed,
                      flush_denormal=flushes_denormals(args.agent))
    if not is_trained(args.agent):
        register_untrained_run(config, paths, _untrained_model_name(config))
        print(f"{args.agent} needs no training; registered {paths.results}")
        return 0
    is_main = _init_distributed()
    learner = build_learner(config)
    try:
        train(config, paths, learner, progress=not args.no_progress, is_main=is_main,
              tensorboard=bool(preset.get("tensorboard", False)))
    finally:
        learner.close()
    if is_main:
        print(f"trained {config.experiment}/{config.agent}/seed-{config.seed} "
              f"({learner.model_name}) -> {paths.results}")
    return 0


def _init_distributed() -> bool:
    """Join the process group when launched by torchrun; True on the process that writes files.

    One process per GPU (``LOCAL_RANK`` picks it); rank 0 steps the envs and
    writes logs and checkpoints, every rank shares each PPO minibatch.
    """
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return True
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank() == 0


#: torch CPU threads of `train` and `evaluate`: the pipeline's (its jobs have `threads: 1`, the
#: fastest when jobs share few cores), so a run by hand computes the same numbers bit for bit
#: (another count reorders CPU reductions).
DEFAULT_THREADS = 1


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


#: The most episodes one ``play`` or ``evaluate`` call plays: 1000x the paper's 1000 per test,
#: already days of CPU for an LLM agent; a larger count is a typo (an extra zero, 10**12).
MAX_EPISODES = 1_000_000


def _episode_count(text: str) -> int:
    """argparse type: a positive episode count, at most :data:`MAX_EPISODES`."""
    value = _positive(text)
    if value > MAX_EPISODES:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_EPISODES} (the paper plays 1000 per test), got {value}")
    return value


def _non_negative(text: str) -> int:
    """argparse type: an integer >= 0 (seeds)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _untrained_model_name(config) -> str:
    """The model an untrained run names: the study's for agents without an LLM (random: none,
    bot: babyai-bot), else the run's LLM (zero-shot)."""
    from glam_bench.paper.study import AGENTS_BY_NAME

    return AGENTS_BY_NAME[config.agent].model or config.model


def _evaluate(args: argparse.Namespace) -> int:
    """Evaluate a finished run on one test set."""
    from glam_bench.evaluation.evaluate import evaluate_run
    from glam_bench.runtime.process import configure_process

    configure_process(threads=args.threads)
    out = evaluate_run(args.run, args.test, args.episodes, num_envs=args.num_envs, out=args.out,
                       progress=not args.no_progress, task_sampling=args.task_sampling,
                       counting=args.counting, french_candidates=args.french_candidates)
    print(f"wrote {out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Every figure and table from the result files under --results."""
    from pathlib import Path

    from glam_bench.report import build_report
    from glam_bench.runtime.results import check_output_path

    check_output_path(args.out, is_dir=True)
    only = tuple(args.only.split(",")) if args.only else None
    summary = build_report(Path(args.results), Path(args.out), preset=args.preset, only=only,
                           progress=not args.no_progress)
    print(summary)
    return 0


def _cache(args: argparse.Namespace) -> int:
    """The committed result cache: refresh it from a finished run, or verify it."""
    from glam_bench.pipeline.cache import refresh_cache, verify_manifest

    if args.cache_command == "refresh":
        manifest = refresh_cache(args.source, args.cache, preset=args.preset,
                                 finished_only=args.finished_only)
        print(f"wrote {manifest}")
    else:
        manifest = verify_manifest(args.cache)
        print(f"{args.cache}: {len(manifest['files'])} files match {args.cache}/MANIFEST.json "
              f"(preset {manifest['preset']}, revision {manifest['git_revision']})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from glam_bench.tools.bench import TABLE_HEADER, run_bench, table_row, write_record
    from glam_bench.runtime.process import configure_process

    configure_process(threads=args.threads)
    record = run_bench(args.config, args.model, args.precision, args.device, args.cycles,
                       args.experiment, args.frames_per_env, args.num_envs,
                       progress=(lambda _: None) if args.no_progress else
                       (lambda line: print(line, file=sys.stderr, flush=True)))
    record["markdown_row"] = table_row(record)
    if args.out:
        write_record(record, args.out)
    print(TABLE_HEADER)
    print(record["markdown_row"])
    return 0


def _status(args: argparse.Namespace) -> int:
    from glam_bench.tools.status import collect_status, status_table

    print(status_table(collect_status(args.results)))
    return 0


def _models(args: argparse.Namespace) -> int:
    """Known language models: list them, or fetch one into the models folder."""
    from glam_bench.llm import loading, registry
    from glam_bench.llm.loading import default_models_dir

    models_dir = args.models_dir or default_models_dir()
    if args.models_command == "fetch":
        print(f"{args.name} -> {registry.fetch(args.name, models_dir, force=args.force)}")
        return 0
    print(f"{'model':24} {'present':8} {'source':9} {'licence':18} description  (models folder: {models_dir})")
    for entry in registry.MODELS.values():
        present = "yes" if loading.is_present(entry.name, models_dir) else "no"
        print(f"{entry.name:24} {present:8} {entry.source:9} {entry.licence:18} {entry.description}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    """Every job of a preset with its resources, and its cost from measured bench records."""
    from glam_bench.pipeline.cost import job_cost, load_records, render
    from glam_bench.pipeline.plan import Plan
    from glam_bench.pipeline.preset_checks import load_preset

    plan = Plan(load_preset(args.config))
    plan.check_grid()
    records = load_records(args.bench or ())
    costs = [job_cost(plan, job, records) for job in plan.jobs()]
    print(render(plan, costs, jobs=not args.totals))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glam-bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    play = commands.add_parser("play", help="watch an agent play a BabyAI-Text level as text")
    play.add_argument("--env", default="BabyAI-Text-MixedTrainLocal-v0")
    play.add_argument("--agent", default="bot",
                      help=f"an agent needing no run: {' or '.join(MODEL_FREE_AGENTS)}")
    play.add_argument("--episodes", type=_episode_count, default=3)
    play.add_argument("--seed", type=_non_negative, default=1)
    play.add_argument("--text-fixes", action="store_true",
                      help="corrected text instead of the paper's quirks (§A.2)")
    play.set_defaults(handler=_play)

    train = commands.add_parser("train", help="train one run of a preset (resumes if interrupted)")
    train.add_argument("--config", required=True, help="preset YAML, e.g. workflows/config/default.yaml")
    train.add_argument("--experiment", required=True)
    train.add_argument("--agent", required=True)
    train.add_argument("--seed", type=_non_negative, required=True)
    train.add_argument("--results-dir", help="default: the preset's results_dir")
    train.add_argument("--work-dir", help="checkpoints; default: the preset's work_dir")
    train.add_argument("--threads", type=_positive, default=DEFAULT_THREADS,
                       help=f"torch CPU threads (default {DEFAULT_THREADS}, as in the pipeline)")
    train.add_argument("--no-progress", action="store_true")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a finished run on a test set")
    evaluate.add_argument("--run", required=True, help="run directory (holds run.json)")
    evaluate.add_argument("--test", required=True, help="test set name, e.g. no_change")
    evaluate.add_argument("--episodes", type=_episode_count, default=1000)
    evaluate.add_argument("--num-envs", type=_positive, default=32)
    evaluate.add_argument("--out", help="CSV path; default: RUN/tests/TEST.csv")
    evaluate.add_argument("--task-sampling", choices=("episode", "instance"),
                          help="task kind per episode or per env instance (§A.5); "
                               "default: the run's")
    evaluate.add_argument("--counting", choices=("per_env", "first_finished"), default="per_env",
                          help="a quota per env, or the first N episodes to end, as the "
                               "authors counted (§D.1)")
    evaluate.add_argument("--french-candidates", choices=("french", "english"), default="french",
                          help="action names a French test scores: the French ones (as the "
                               "paper's figure) or the English ones (the authors' code, §D.4)")
    evaluate.add_argument("--threads", type=_positive, default=DEFAULT_THREADS,
                          help=f"torch CPU threads (default {DEFAULT_THREADS}, as in the pipeline)")
    evaluate.add_argument("--no-progress", action="store_true")
    evaluate.set_defaults(handler=_evaluate)

    report = commands.add_parser("report", help="build every figure and table from result files")
    report.add_argument("--results", default="results", help="folder searched for result CSVs")
    report.add_argument("--out", default="paper_figures")
    report.add_argument("--preset", help="keep only rows of this preset (ci, default, paper)")
    report.add_argument("--only", help="comma-separated item names")
    report.add_argument("--no-progress", action="store_true")
    report.set_defaults(handler=_report)

    bench = commands.add_parser("bench", help="frames/s, FLOP/s and memory of full PPO cycles here")
    bench.add_argument("--model", required=True,
                       help="flan-t5-small/base/large/xl or smollm2-135m (random weights), or a model name")
    bench.add_argument("--config", required=True, help="preset whose batch geometry is used")
    bench.add_argument("--precision", default="fp32", choices=("fp32", "tf32", "bf16"))
    bench.add_argument("--out", help="JSON record path")
    bench.add_argument("--device", default="auto", help="auto, cpu or cuda")
    bench.add_argument("--cycles", type=int, default=2, help="timed cycles after the counted warm-up")
    bench.add_argument("--experiment", help="default: the preset's first with gflan")
    bench.add_argument("--frames-per-env", type=int, help="shorten the preset's rollout")
    bench.add_argument("--num-envs", type=int, help="override the preset's env count")
    bench.add_argument("--threads", type=int, help="torch CPU threads")
    bench.add_argument("--no-progress", action="store_true")
    bench.set_defaults(handler=_bench)

    plan = commands.add_parser("plan", help="every job of a preset: GPUs, memory, time, GPU-hours")
    plan.add_argument("--config", required=True, help="preset YAML, e.g. workflows/config/paper.yaml")
    plan.add_argument("--bench", nargs="*", metavar="FILE",
                      help="glam-bench bench records (JSON), e.g. results/benchmarks/NVIDIA-H200.json")
    plan.add_argument("--totals", action="store_true", help="totals only, no line per job")
    plan.set_defaults(handler=_plan)

    status = commands.add_parser("status", help="progress, frames/s and ETA of every run")
    status.add_argument("--results", default="work/results", help="a preset's results_dir")
    status.set_defaults(handler=_status)

    cache = commands.add_parser("cache", help="the committed result cache (results/)")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    refresh = cache_commands.add_parser(
        "refresh", help="copy a finished run's small result files into the cache, write MANIFEST.json")
    refresh.add_argument("--from", dest="source", default="work/results",
                         help="results_dir of a finished run (default: work/results)")
    refresh.add_argument("--to", dest="cache", default="results",
                         help="the cache (default: results)")
    refresh.add_argument("--preset", help="refuse runs of any other preset")
    refresh.add_argument("--finished-only", action="store_true",
                         help="take the finished runs of a campaign still running, leave out the others")
    verify = cache_commands.add_parser("verify", help="check the cache against its MANIFEST.json")
    verify.add_argument("--results", dest="cache", default="results", help="default: results")
    cache.set_defaults(handler=_cache)

    models = commands.add_parser("models", help="the known language models: list, fetch")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    models_list = models_commands.add_parser("list", help="every known model, whether present, its licence")
    fetch = models_commands.add_parser("fetch", help="fetch and convert a model once (smollm2-135m)")
    fetch.add_argument("name", help="e.g. smollm2-135m")
    fetch.add_argument("--force", action="store_true", help="fetch and convert again even if present")
    for sub in (models_list, fetch):
        sub.add_argument("--models-dir", help="default: $GLAM_BENCH_MODELS_DIR or work/models")
    models.set_defaults(handler=_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "no_progress", False):
        # Hugging Face's weight-loading bars too: the variable is read when transformers is first
        # imported; a process that imported it already (a test session) is told directly
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.disable_progress_bar()
    try:
        return args.handler(args)
    except GlamBenchError as error:
        # the suite's own errors (bad names, configs, missing models, damaged files, a held run
        # directory): one clear line, no traceback. Anything else is a bug and keeps its traceback.
        print(f"glam-bench {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
