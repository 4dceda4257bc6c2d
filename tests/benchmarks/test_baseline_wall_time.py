"""Wall time of one 1.5M-frame MixedTrainLocal run of each baseline, on one and on two torch threads.

Issue 21's goals are wall times on the 2-core machine: a Symbolic-PPO Mixed run in at most
45 minutes, a DRRN one in at most 90. The pipeline runs each training job on one torch thread
(``threads: 1`` in ``workflows/rules/train.smk``) because a campaign runs one job per core;
a single run can take both cores with ``snakemake --set-threads train_baseline=2`` (or
``glam-bench train --threads 2``). This measurement times whole update cycles
(:func:`tests.benchmarks.test_baseline_flops.measure_cycles`) at both thread counts,
alternating them (ABBA) so machine noise and drift hit both alike, and projects the wall time of a 1.5M-frame
run from each. It needs the machine to itself: another job on the second core makes two
threads slower than one (torch's thread pool waits on its slowest thread).

Measured 2026-12-07 on the idle 2-core machine (the campaign paused; three runs of this and of
one-off scripts, the range over them):

    Symbolic-PPO  1 thread  457-542 frames/s  46-55 min    2 threads  618-675 frames/s  37-40 min
    DRRN          1 thread  179-200 frames/s  125-140 min  2 threads  242-278 frames/s  90-103 min

With a niced job on the second core, DRRN on two threads fell to 43 frames/s. Symbolic-PPO
meets its goal on two threads; DRRN reaches it only at the best of its range. Its GRU's
sequences are read in buckets of 32 (``glam_bench.agents.drrn.network.BUCKET_SIZE``): on two
threads 16, 24 and 64 were slower (206-235, 251 and 213-230 frames/s).

The assertion is the premise of the advice in the paper-cpu preset's header: two threads
make a Symbolic-PPO run faster than one.

Run: ``GLAM_BENCH_MEASUREMENTS=1 pytest -n 0 tests/benchmarks/test_baseline_wall_time.py -s -m slow``
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from glam_bench.runtime.process import configure_process
from tests.benchmarks.test_baseline_flops import RUN_FRAMES, measure_cycles
from tests.benchmarks.test_baseline_speed import paper_config

pytestmark = [pytest.mark.slow, pytest.mark.measurement, pytest.mark.benchmark(group="baselines")]

OUT = Path("work") / "benchmarks" / "baseline_wall_time.json"
THREAD_COUNTS = (1, 2)
#: Both thread counts are measured this many times, in ABBA order (1, 2, 2, 1, ...) so that a
#: drift over the run (warm caches, a first-cycle cost) favours neither.
ROUNDS = 2


def build(agent: str, models_dir: str):
    if agent == "symbolic-ppo":
        from glam_bench.agents.symbolic_ppo.learner import build_learner
        return build_learner(dataclasses.replace(paper_config(agent, frames_per_env=40), num_envs=64))
    from glam_bench.agents.drrn.learner import build_learner
    return build_learner(paper_config(agent, frames_per_env=4, models_dir=models_dir))


def frames_per_s(learner, agent: str, threads: int) -> float:
    configure_process(threads=threads, flush_denormal=True)
    timed = 2 if agent == "symbolic-ppo" else 6
    return measure_cycles(learner, warm_up=1, timed=timed)["frames_per_s"]


@pytest.mark.parametrize("agent", ["symbolic-ppo", "drrn"])
def test_projected_wall_time_on_one_and_two_threads(benchmark, agent, tmp_path):
    threads_before = torch.get_num_threads()
    learner = build(agent, str(tmp_path))
    try:
        rates: dict[int, list[float]] = {n: [] for n in THREAD_COUNTS}
        for round_ in range(ROUNDS):
            for n in (THREAD_COUNTS if round_ % 2 == 0 else THREAD_COUNTS[::-1]):
                rates[n].append(frames_per_s(learner, agent, n))
        benchmark.pedantic(learner.update, rounds=1, iterations=1)
    finally:
        learner.close()
        configure_process(threads=threads_before)
    best = {n: max(r) for n, r in rates.items()}
    report = {f"threads_{n}": {"frames_per_s": best[n], "projected_minutes": RUN_FRAMES / best[n] / 60}
              for n in THREAD_COUNTS}
    print(f"\n{agent}: " + "; ".join(f"{n} thread(s) {best[n]:.0f} frames/s, 1.5M frames in "
                                     f"{RUN_FRAMES / best[n] / 60:.0f} min" for n in THREAD_COUNTS))
    benchmark.extra_info.update({agent: report})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    recorded = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.write_text(json.dumps({**recorded, agent: report}, indent=2))
    if agent == "symbolic-ppo":
        assert best[2] > best[1], "two threads should make a Symbolic-PPO run faster than one"
