"""A run never lands on the CPU in place of a GPU silently (issue 22 item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from glam_bench.cli import main
from glam_bench.errors import GlamBenchError
from glam_bench.runtime.devices import GPU_ALLOCATION_VARIABLES, resolve_device

CI = Path(__file__).resolve().parents[1] / "workflows" / "config" / "ci.yaml"


@pytest.fixture
def no_cuda(monkeypatch):
    """A node without a usable GPU (no driver, or a CPU build of torch), no GPU allocated."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for variable in GPU_ALLOCATION_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_device_cuda_refuses_the_cpu(no_cuda, name):
    with pytest.raises(GlamBenchError, match=f"device is '{name}' but torch finds no usable CUDA"):
        resolve_device(name)


def test_auto_falls_back_to_the_cpu_only_when_the_job_was_given_no_gpu(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    no_cuda.setenv("CUDA_VISIBLE_DEVICES", "-1")  # hidden on purpose: still the CPU
    assert resolve_device("auto") == torch.device("cpu")
    no_cuda.setenv("SLURM_JOB_GPUS", "0,1")
    with pytest.raises(GlamBenchError, match=r"given GPUs \(SLURM_JOB_GPUS=0,1\).*device: cpu"):
        resolve_device("auto")


def test_a_gpu_job_on_a_node_without_a_usable_gpu_stops_in_one_line(no_cuda, tmp_path, capsys):
    """The job itself checks (cluster jobs skip the pre-DAG check): the learner's device."""
    preset = yaml.safe_load(CI.read_text())
    preset["training"]["device"] = "auto"
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(preset))
    no_cuda.setenv("CUDA_VISIBLE_DEVICES", "0")
    code = main(["train", "--config", str(path), "--experiment", "gotolocal", "--agent", "drrn",
                 "--seed", "1", "--results-dir", str(tmp_path / "r"), "--work-dir",
                 str(tmp_path / "w"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "CUDA_VISIBLE_DEVICES=0" in err and "no usable CUDA device" in err
    assert not list((tmp_path / "r").rglob("train_log.csv"))  # no update ran on the CPU
