"""Process-wide settings, made in one visible place: :func:`configure_process`.

Some torch settings hold for the whole process (CPU thread count, flushing
denormal floats, the global RNGs). Each ``glam-bench`` command calls
:func:`configure_process` once, before it builds anything, with what its run
needs; no constructor and no checkpoint load changes them behind its back.
(The TF32 switches of the run's ``precision`` are set with each forward pass
by :func:`glam_bench.runtime.devices.autocast`.)
"""

from __future__ import annotations

import torch

from glam_bench.runtime.runs import seed_everything


def configure_process(*, threads: int | None = None, seed: int | None = None,
                      flush_denormal: bool = False, deterministic: bool = True) -> None:
    """Set what holds for this whole process.

    ``threads``: torch CPU threads (None keeps torch's choice); the pipeline's
    jobs use 1, and another count reorders CPU reductions (the 7th digit moves).
    ``seed``: seed Python's, numpy's and torch's global RNGs
    (:func:`glam_bench.runtime.runs.seed_everything`); None leaves them.
    ``flush_denormal``: treat denormal floats as zero in CPU arithmetic; DRRN's
    training asks for it (its family declares ``FLUSH_DENORMAL``): gradients
    through hundreds of GRU steps decay into denormals, which make the CPU
    backward about 8x slower. Off otherwise, as torch starts.
    ``deterministic``: cuDNN picks deterministic kernels and no benchmark-driven
    autotuning (``torch.backends.cudnn``), so a GPU run repeats itself; on by
    default for every command. It touches convolutions (Symbolic-PPO's image
    network) and RNNs on CUDA only; CPU runs and the transformers' matmuls are
    unaffected. ``False`` gives cuDNN back its fastest, run-to-run varying choice.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(flush_denormal)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    if seed is not None:
        seed_everything(seed)
