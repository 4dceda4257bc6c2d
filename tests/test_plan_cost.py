"""`glam-bench plan`: each job's request and measured cost (glam_bench.pipeline.cost)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glam_bench.pipeline.cost import (
    CHECKPOINT_BYTES_PER_PARAMETER,
    checkpoint_disk_gb,
    job_cost,
    load_records,
    render,
    unmeasured_models,
)
from glam_bench.pipeline.plan import Plan
from glam_bench.pipeline.preset_checks import load_yaml_strict
from glam_bench.runtime.config import ConfigError, validate_preset

ROOT = Path(__file__).resolve().parents[1]
H200 = ROOT / "results" / "benchmarks" / "NVIDIA-H200.json"


def paper(**changes) -> Plan:
    data = validate_preset(load_yaml_strict(ROOT / "workflows" / "config" / "paper.yaml"))
    data.update(changes)
    return Plan(data)


def rate(model: str, precision: str = "fp32") -> float:
    return next(r["cycle_frames_per_s"] for r in json.loads(H200.read_text())
                if (r["model"], r["precision"]) == (model, precision))


def test_a_run_costs_its_frames_at_its_own_models_measured_rate():
    plan, records = paper(), load_records([H200])
    mixed = job_cost(plan, plan.train_job("mixed", "gflan", 1), records)
    assert mixed.hours == pytest.approx(1_500_000 / rate("flan-t5-large") / 3600)
    assert mixed.gpu_hours == pytest.approx(4 * mixed.hours)
    small = job_cost(plan, plan.train_job("size-small", "gflan", 1), records)
    assert small.hours == pytest.approx(400_000 / rate("flan-t5-small") / 3600)
    assert small.gpu_hours == pytest.approx(small.hours)  # one GPU
    assert "flan-t5-small" in small.record


def test_a_model_without_a_record_is_named_not_extrapolated():
    plan, records = paper(), load_records([H200])
    costs = [job_cost(plan, job, records) for job in plan.jobs()]
    xl = [c for c in costs if c.job.experiment == "size-xl"]
    assert xl and all(c.hours is None for c in xl)
    assert unmeasured_models(plan, costs) == ["google/flan-t5-xl (fp32)"]
    assert "no bench record, not estimated: google/flan-t5-xl (fp32)" in render(plan, costs)


def test_a_precision_without_a_record_is_not_taken_from_another():
    data = validate_preset(load_yaml_strict(ROOT / "workflows" / "config" / "paper.yaml"))
    data["training"]["precision"] = "bf16"
    plan = Plan(data)
    only_fp32 = {k: v for k, v in load_records([H200]).items() if k[1] == "fp32"}
    assert job_cost(plan, plan.train_job("mixed", "gflan", 1), only_fp32).hours is None


def test_totals_add_up_per_experiment_and_for_the_preset():
    plan, records = paper(), load_records([H200])
    costs = [job_cost(plan, job, records) for job in plan.jobs()]
    text = render(plan, costs, jobs=False)
    expected = sum(c.gpu_hours for c in costs if c.gpu_hours is not None)
    total = next(line for line in text.splitlines() if line.startswith("TOTAL")).split()
    assert float(total[5]) == pytest.approx(expected, abs=0.05)
    mixed = next(line for line in text.splitlines() if line.startswith("mixed ")).split()
    assert float(mixed[5]) == pytest.approx(
        sum(c.gpu_hours for c in costs if c.job.experiment == "mixed" and c.gpu_hours), abs=0.05)
    assert "mixed/gflan/seed-1" not in text and "mixed/gflan/seed-1" in render(plan, costs)


def test_a_run_longer_than_its_limit_shows_its_resubmissions():
    data = validate_preset(load_yaml_strict(ROOT / "workflows" / "config" / "paper.yaml"))
    data["resources"]["train_llm"] = {"runtime": 1200}  # the old 20 h
    plan = Plan(data)
    cost = job_cost(plan, plan.train_job("mixed", "gflan", 1), load_records([H200]))
    assert cost.resubmissions == 1  # 37.5 h in 20 h jobs
    assert "over the limit: 1 resubmission(s)" in render(plan, [cost])


def test_recorded_checkpoint_cost_is_added(tmp_path):
    record = dict(json.loads(H200.read_text())[1], checkpoint_write_s=36.0)
    path = tmp_path / "bench.json"
    path.write_text(json.dumps([record]))
    plan = paper()
    cost = job_cost(plan, plan.train_job("mixed", "gflan", 1), load_records([path]))
    updates = -(-1_500_000 // (32 * 40))  # 1172: a checkpoint every 20 updates (paper.yaml), and
    assert plan.run_config("mixed", "gflan", 1).checkpoint_every == 20  # one after the last
    assert cost.checkpoint_hours == pytest.approx((updates // 20 + 1) * 36.0 / 3600)
    assert cost.hours == pytest.approx(1_500_000 / record["cycle_frames_per_s"] / 3600
                                       + cost.checkpoint_hours)


@pytest.mark.parametrize("content, message", [(None, "not found"), ("{", "is not JSON"),
                                              ('[{"model": "x"}]', "not a glam-bench bench")])
def test_a_bad_bench_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "bench.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as refused:
        load_records([path])
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_the_cli_prints_the_plan(capsys):
    from glam_bench.cli import main

    assert main(["plan", "--config", str(ROOT / "workflows" / "config" / "ci.yaml"),
                 "--totals"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plan of preset ci:") and "\nTOTAL" in out


def test_checkpoint_disk_follows_the_measured_parameter_count():
    """Each run keeps a checkpoint of float32 weights and Adam's two moments; the preset needs
    all of them at once, and one more of the largest while it is rewritten."""
    plan, records = paper(), load_records([H200])
    large = records["flan-t5-large", "fp32"]["parameters"]
    costs = [job_cost(plan, job, records) for job in plan.jobs() if job.experiment == "mixed"]
    runs = [c for c in costs if c.checkpoint_gb is not None]
    assert len(runs) == 4  # gflan and npae, 2 seeds; baselines and references: not measured
    assert runs[0].checkpoint_gb == pytest.approx(large * CHECKPOINT_BYTES_PER_PARAMETER / 1e9)
    assert 8.5 < runs[0].checkpoint_gb < 9.5  # the 9.4 GB measured for Flan-T5-large
    assert checkpoint_disk_gb(costs) == pytest.approx(5 * runs[0].checkpoint_gb)
