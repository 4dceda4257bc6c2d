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

import torch

#: The precisions a run may use; ``fp32`` is the paper's.
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")


def resolve_device(name: str) -> torch.device:
    """The device a run config names; ``auto`` means CUDA when available, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
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
