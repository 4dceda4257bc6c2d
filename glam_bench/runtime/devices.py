"""Where the networks run: the device a run config names, and the precision used there.

Precision is applied here and nowhere else (the ``precision`` key of a preset's
``training`` block, :data:`PRECISIONS`):

* ``fp32``: float32 weights and arithmetic, TF32 matrix units off. The paper's
  setting: the authors' accelerate config says ``mixed_precision: 'no'`` and
  they ran torch 1.12, whose CUDA matmuls default to full float32 (§F.3).
* ``tf32``: float32 weights, matrix products on the TF32 units (10-bit
  mantissa inputs, float32 accumulation). Opt-in; its effect is measured by
  ``glam-bench bench``, not assumed.
* ``bf16``: float32 master weights and optimizer state, forward passes under
  bf16 autocast; scores (log-softmax), the PPO loss and the optimizer stay in
  float32. Opt-in; the README gives its measured drift from fp32.

On the CPU ``fp32`` and ``tf32`` are the same (no TF32 units) and ``bf16`` is
CPU autocast.
"""

from __future__ import annotations

import contextlib
import os

import torch

from glam_bench.errors import GlamBenchError

#: The precisions a run may use; ``fp32`` is the paper's.
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")


#: Environment variables through which a scheduler hands a job its GPUs (SLURM, then any).
GPU_ALLOCATION_VARIABLES = ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "CUDA_VISIBLE_DEVICES")


class DeviceError(GlamBenchError, RuntimeError):
    """A run that would land on another device than the one it was meant for."""


def allotted_gpus() -> str | None:
    """``VAR=value`` of the first variable saying this job was given GPUs, else None."""
    for variable in GPU_ALLOCATION_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value and value not in ("-1", "NoDevFiles"):
            return f"{variable}={value}"
    return None


def _no_cuda_here() -> str:
    return (f"torch finds no usable CUDA device (torch {torch.__version__}, built for CUDA "
            f"{torch.version.cuda or 'none: a CPU-only build'})")


def resolve_device(name: str) -> torch.device:
    """The device a run config names, never the CPU in place of a GPU silently.

    ``auto`` means CUDA when available, else the CPU, unless the job was given
    GPUs (:func:`allotted_gpus`): a GPU job on a node whose GPU or driver is
    unusable stops with :class:`DeviceError` instead of training for days on the
    CPU. ``cuda`` (or ``cuda:N``) without a usable CUDA device is refused too.
    Every learner resolves its device here, so the check runs inside each job,
    cluster jobs included.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        given = allotted_gpus()
        if given is not None:
            raise DeviceError(f"device auto: this job was given GPUs ({given}) but {_no_cuda_here()}; "
                              "fix the node's driver or torch's CUDA build, or set device: cpu to "
                              "train on the CPU on purpose")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device is {name!r} but {_no_cuda_here()}; run on a GPU node, or set "
                          "device: auto or cpu to train on the CPU")
    return torch.device(name)


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return precision


def set_matmul_precision(precision: str) -> None:
    """Switch the process-wide TF32 flags: on for ``tf32`` only (cuBLAS and cuDNN alike)."""
    tf32 = check_precision(precision) == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def autocast(device: torch.device, precision: str = "fp32"):
    """The context every forward pass runs under: bf16 autocast for ``bf16``, else nothing.

    Calling it also sets the TF32 flags (:func:`set_matmul_precision`), so the
    one call that wraps a forward pass fixes all of its precision.
    """
    set_matmul_precision(precision)
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
