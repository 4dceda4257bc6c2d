"""Where the networks run: the device a run config names, and the precision used there."""

from __future__ import annotations

import contextlib

import torch


def resolve_device(name: str) -> torch.device:
    """The device a run config names; ``auto`` means CUDA when available, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def autocast(device: torch.device):
    """bf16 autocast on CUDA, nothing on the CPU (fp32), as the paper's A100 runs used bf16."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
