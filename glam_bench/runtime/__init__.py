"""The runtime every learner shares: one training loop, run directories, the process it runs in.

- ``training``: the one training loop (updates, ``train_log.csv`` rows, checkpoints, resume).
- ``runs``: run directories, atomic checkpoints and resumption.
- ``runlock``: one writer per run directory.
- ``results``: the one results schema (column contracts, atomic writes, validated reads).
- ``process``: process-wide settings (threads, seeds, denormals, cuDNN determinism).
- ``devices``: the device a run config names and the precision used there.
- ``tensorboard_log``: optional TensorBoard event files from the log rows.
- ``status``: progress, frames/s and ETA of every run under a results folder.
"""
