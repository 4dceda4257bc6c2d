"""Whole-cycle FLOP rate and env-stepping share of the two baselines at the paper's settings.

A cycle is one ``learner.update()``: acting and env stepping for ``frames_per_env`` frames in
``num_envs`` envs, then the learning step(s). Symbolic-PPO: 64 envs x 40 frames and 4 PPO
epochs (§B.6); DRRN: 32 envs x 4 steps and one Q-learning step of batch 64 (§B.5).

As ``glam_bench.tools.bench`` does for the LLM cycle, FLOPs are counted with
``torch.utils.flop_counter.FlopCounterMode`` over one untimed cycle (matrix products and
convolutions, padded shapes as computed: GRU steps on padding count); the timed cycles run
without the counter, and their FLOP rate is the counted FLOPs per frame times their frames
per second. The ceiling is a dense 1024x1024 fp32 matmul timed in the same process, on the
same torch threads, interleaved with the cycles so machine noise hits both alike: only the
ratio means anything on the shared machine. The env-stepping share is the wall time spent
inside ``envs.step`` over the cycle's wall time, measured in the timed cycles themselves.

The projected wall time of a 1.5M-frame MixedTrainLocal run is printed from the measured
whole-cycle frames per second (one torch thread, sync envs: the pipeline's settings).

Run: ``pytest -n 0 tests/benchmarks/test_baseline_flops.py -s -m slow --benchmark-enable``.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from glam_bench.runtime.process import configure_process
from tests.benchmarks.test_baseline_speed import paper_config

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="baselines")]

#: The MTRL figure's frame axis (§B.5, §B.6).
RUN_FRAMES = 1_500_000
MATMUL_SIZE = 1024


def matmul_flops_per_s(repeats: int = 5) -> float:
    """Median FLOP/s of a dense fp32 matmul on the current torch threads."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(MATMUL_SIZE, MATMUL_SIZE, generator=generator) for _ in range(2))
    a @ b
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - began)
    return 2 * MATMUL_SIZE**3 / statistics.median(times)


class StepTimer:
    """Wraps a vector env's ``step`` to add up the seconds spent in it."""

    def __init__(self, envs):
        self.seconds = 0.0
        self._step = envs.step
        envs.step = self

    def __call__(self, actions):
        began = time.perf_counter()
        try:
            return self._step(actions)
        finally:
            self.seconds += time.perf_counter() - began


def measure_cycles(learner, warm_up: int, timed: int) -> dict[str, float]:
    """Counted FLOPs per frame, then median cycle rate, matmul rate and env share, interleaved."""
    for _ in range(warm_up):
        learner.update()
    with FlopCounterMode(display=False) as counter:
        frames = learner.update().frames
    flops_per_frame = counter.get_total_flops() / frames
    timer = StepTimer(learner.envs)
    fps, matmul, env_share = [], [], []
    for k in range(timed):
        if k % 2:
            matmul.append(matmul_flops_per_s())
        timer.seconds = 0.0
        began = time.perf_counter()
        frames = learner.update().frames
        seconds = time.perf_counter() - began
        fps.append(frames / seconds)
        env_share.append(timer.seconds / seconds)
        if not k % 2:
            matmul.append(matmul_flops_per_s())
    fps_median = statistics.median(fps)
    matmul_median = statistics.median(matmul)
    return {
        "frames_per_s": fps_median,
        "flops_per_frame": flops_per_frame,
        "achieved_gflops": flops_per_frame * fps_median / 1e9,
        "matmul_gflops": matmul_median / 1e9,
        "fraction_of_matmul": flops_per_frame * fps_median / matmul_median,
        "env_share": statistics.median(env_share),
        "projected_minutes": RUN_FRAMES / fps_median / 60,
    }


def report(benchmark, name: str, record: dict[str, float]) -> None:
    benchmark.extra_info.update({f"{name}_{k}": v for k, v in record.items()})
    print(f"\n{name}: {record['frames_per_s']:.0f} frames/s, "
          f"{record['flops_per_frame'] / 1e6:.1f} MFLOP/frame, {record['achieved_gflops']:.1f} GFLOP/s "
          f"= {record['fraction_of_matmul']:.2f} of a {MATMUL_SIZE}^2 matmul "
          f"({record['matmul_gflops']:.1f} GFLOP/s); env stepping {record['env_share']:.0%} "
          f"of the cycle; 1.5M frames in {record['projected_minutes']:.0f} min")


@pytest.fixture(autouse=True)
def one_thread():
    """The pipeline's training jobs run on one torch thread (glam_bench.runtime.process)."""
    threads = torch.get_num_threads()
    configure_process(threads=1, flush_denormal=True)  # DRRN's setting; harmless for PPO
    yield
    configure_process(threads=threads)


#: Measured on the shared, heavily loaded 2-core machine (one torch thread, matmul 14-21 GFLOP/s
#: instead of ~85 unloaded): Symbolic-PPO 0.74 of the matmul rate (148 MFLOP/frame), env stepping
#: 7% of the cycle; DRRN 0.46 (256 MFLOP/frame), env stepping 3%. Goals (issue 21): >= 0.5 and
#: >= 0.25, env stepping <= 15%. The floors leave room for noise.
SYMBOLIC_PPO_MIN_FRACTION, DRRN_MIN_FRACTION = 0.5, 0.3
MAX_ENV_SHARE = 0.15


def test_symbolic_ppo_cycle_flop_rate_and_env_share(benchmark):
    from glam_bench.agents.symbolic_ppo.learner import build_learner

    config = dataclasses.replace(paper_config("symbolic-ppo", frames_per_env=40), num_envs=64)
    learner = build_learner(config)
    try:
        record = measure_cycles(learner, warm_up=0, timed=3)
        benchmark.pedantic(learner.update, rounds=1, iterations=1)
    finally:
        learner.close()
    report(benchmark, "symbolic_ppo", record)
    assert record["fraction_of_matmul"] >= SYMBOLIC_PPO_MIN_FRACTION
    assert record["env_share"] <= MAX_ENV_SHARE


def test_drrn_cycle_flop_rate_and_env_share(benchmark, tmp_path):
    from glam_bench.agents.drrn.learner import build_learner

    learner = build_learner(paper_config("drrn", frames_per_env=4, models_dir=str(tmp_path)))
    try:
        # The first update fills the replay past one batch, so every counted or timed one learns.
        record = measure_cycles(learner, warm_up=1, timed=9)
        benchmark.pedantic(learner.update, rounds=1, iterations=1)
    finally:
        learner.close()
    report(benchmark, "drrn", record)
    assert record["fraction_of_matmul"] >= DRRN_MIN_FRACTION
    assert record["env_share"] <= MAX_ENV_SHARE
