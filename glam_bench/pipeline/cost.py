"""What a preset's plan will cost on a cluster, from measured ``glam-bench bench`` records.

For every job of the plan (:mod:`glam_bench.pipeline.plan`): what it asks for
(GPUs, memory, time limit) and, for the training runs of LLM agents, how long it
takes at the measured whole-cycle rate of its model and precision
(``results/benchmarks/*.json``, written by ``glam-bench bench``), hence its
GPU-hours, and the totals per experiment and for the preset.

Only measurements: a model (or precision) without a record is named and its
jobs are left unestimated, never projected from another model's rate. The rate
is one process's (``bench`` times one process), so a run on several GPUs is
charged the one-process wall time on all of them: an upper bound until
data-parallel speed-ups are measured. A record with ``checkpoint_write_s``
(seconds to write one checkpoint) adds the checkpoints of a run
(one every ``checkpoint_every`` updates, and one after the last update). The
disk a run's checkpoint takes follows from the record's parameter count: float32
weights and Adam's two moments, :data:`CHECKPOINT_BYTES_PER_PARAMETER`; each run
keeps its checkpoint (the tests load it), and holds two while one is rewritten.

Torch-free: it reads JSON and the plan.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from glam_bench.llm.files import folder_name
from glam_bench.paper import study
from glam_bench.pipeline.plan import Job, Plan
from glam_bench.runtime.config import ConfigError


#: Bytes per parameter of an LLM run's checkpoint: float32 weights and Adam's two float32
#: moments (the float32 master weights under bf16 too); RNG states and envs are negligible.
#: Flan-T5-large's record (752M trained parameters) gives 9.0 GB; the checkpoint measured
#: in issue 22 was 9.4 GB (with its envs, RNG states and optimizer bookkeeping).
CHECKPOINT_BYTES_PER_PARAMETER = 12


@dataclass(frozen=True)
class JobCost:
    """One job with what it asks for and, when measured, what it takes."""

    job: Job
    hours: float | None  # projected wall time; None: no measurement covers it
    record: str | None  # "device, model, precision" of the record used
    checkpoint_hours: float = 0.0
    checkpoint_gb: float | None = None  # the run's checkpoint on disk; None: not measured

    @property
    def gpu_hours(self) -> float | None:
        return None if self.hours is None else self.hours * self.job.resources["gpu"]

    @property
    def resubmissions(self) -> int:
        """Jobs killed at the time limit before the run ends (each resumes from a checkpoint)."""
        if self.hours is None:
            return 0
        return max(0, math.ceil(self.hours * 60 / self.job.resources["runtime"]) - 1)


def load_records(paths: Iterable[str | Path]) -> dict[tuple[str, str], dict]:
    """Bench records by (model, precision); a later file's record replaces an earlier one."""
    records: dict[tuple[str, str], dict] = {}
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"bench record {path} not found; write one with `glam-bench bench "
                              "--out FILE`, or use results/benchmarks/*.json") from None
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path} is not JSON ({error}); pass a file `glam-bench bench` "
                              "wrote") from None
        for record in data if isinstance(data, list) else [data]:
            if not isinstance(record, dict) or not {"model", "precision",
                                                    "cycle_frames_per_s"} <= set(record):
                raise ConfigError(f"{path}: not a glam-bench bench record (needs model, "
                                  "precision and cycle_frames_per_s)")
            records[record["model"], record["precision"]] = record
    return records


def job_cost(plan: Plan, job: Job, records: dict[tuple[str, str], dict]) -> JobCost:
    """A job's projected wall time from the record of its model and precision (training
    runs of PPO-trained LLM agents only: the one job kind ``bench`` measures)."""
    if job.test is not None or study.AGENTS_BY_NAME[job.agent].kind != "llm":
        return JobCost(job, None, None)
    config = plan.run_config(job.experiment, job.agent, job.seed)
    record = records.get((folder_name(config.model), config.precision))
    if record is None:
        return JobCost(job, None, None)
    hours = config.total_frames / record["cycle_frames_per_s"] / 3600
    checkpoint_hours = 0.0
    if record.get("checkpoint_write_s") is not None:
        frames_per_update = config.num_envs * config.frames_per_env
        updates = math.ceil(config.total_frames / frames_per_update)
        writes = updates // config.checkpoint_every + (updates % config.checkpoint_every != 0)
        checkpoint_hours = writes * record["checkpoint_write_s"] / 3600
    label = f"{record.get('device', '?')}, {record['model']}, {record['precision']}"
    checkpoint_gb = (record["parameters"] * CHECKPOINT_BYTES_PER_PARAMETER / 1e9
                     if record.get("parameters") else None)
    return JobCost(job, hours + checkpoint_hours, label, checkpoint_hours, checkpoint_gb)


def unmeasured_models(plan: Plan, costs: list[JobCost]) -> list[str]:
    """The (model, precision) of LLM training jobs no record covers, named once each."""
    names = []
    for cost in costs:
        if cost.hours is None and cost.job.test is None and \
                study.AGENTS_BY_NAME[cost.job.agent].kind == "llm":
            config = plan.run_config(cost.job.experiment, cost.job.agent, cost.job.seed)
            name = f"{config.model} ({config.precision})"
            if name not in names:
                names.append(name)
    return names


def checkpoint_disk_gb(costs: list[JobCost]) -> float:
    """Disk the measured runs' checkpoints need at once: every run keeps its own (the tests
    load it), and the largest is briefly there twice while rewritten (write, then rename)."""
    sizes = [c.checkpoint_gb for c in costs if c.checkpoint_gb is not None]
    return sum(sizes) + max(sizes, default=0.0)


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _job_name(job: Job) -> str:
    return "/".join([job.experiment, job.agent, f"seed-{job.seed}",
                     *([job.test] if job.test else [])])


def render(plan: Plan, costs: list[JobCost], jobs: bool = True) -> str:
    """The plan as text: one line per job, then totals per experiment and for the preset."""
    lines = [f"plan of preset {plan.name}: {len(costs)} jobs "
             "(hours: projected wall time at the measured one-process rate; '-': not measured)"]
    if jobs:
        lines.append(f"{'rule':<19} {'job':<46} {'gpus':>4} {'mem GB':>6} {'limit h':>7} "
                     f"{'hours':>6} {'GPU-h':>7} {'ckpt GB':>7}  note")
        for cost in costs:
            job, res = cost.job, cost.job.resources
            note = cost.record or ""
            if cost.resubmissions:
                note += f"; over the limit: {cost.resubmissions} resubmission(s)"
            lines.append(f"{job.rule:<19} {_job_name(job):<46} {res['gpu']:>4} "
                         f"{res['mem_mb'] / 1000:>6.0f} {res['runtime'] / 60:>7.1f} "
                         f"{_hours(cost.hours):>6} {_hours(cost.gpu_hours):>7} "
                         f"{_hours(cost.checkpoint_gb):>7}  {note}")
    lines += ["", f"{'experiment':<19} {'jobs':>5} {'GPU jobs':>8} {'measured':>8} "
                  f"{'hours':>8} {'GPU-h':>9} {'GPU-h asked':>11} {'ckpt GB':>8}"]
    for experiment in [*plan.experiments, None]:
        group = [c for c in costs if experiment is None or c.job.experiment == experiment]
        measured = [c for c in group if c.hours is not None]
        asked = sum(c.job.resources["gpu"] * c.job.resources["runtime"] / 60 for c in group)
        lines.append(
            f"{experiment or 'TOTAL':<19} {len(group):>5} "
            f"{sum(1 for c in group if c.job.resources['gpu']):>8} {len(measured):>8} "
            f"{sum(c.hours for c in measured):>8.1f} {sum(c.gpu_hours for c in measured):>9.1f} "
            f"{asked:>11.0f} {checkpoint_disk_gb(group):>8.0f}")
    lines.append("(GPU-h asked: GPUs x time limit of every job, what the allocation reserves "
                 "at most; measured covers LLM PPO training only; ckpt GB: the measured runs' "
                 "checkpoints, all kept for the tests, plus one more of the largest while it "
                 "is rewritten)")
    unmeasured = unmeasured_models(plan, costs)
    if unmeasured:
        lines.append("no bench record, not estimated: " + ", ".join(unmeasured)
                     + " (measure with `glam-bench bench --model <name> --config <preset> "
                       "--precision <p> --out FILE`)")
    missing = plan.missing_models
    if missing:
        lines.append("models not on this machine: "
                     + ", ".join(sorted({model for model, _, _ in missing})))
    return "\n".join(lines)
