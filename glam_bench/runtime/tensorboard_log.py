"""TensorBoard event files written from the same rows as ``train_log.csv`` (optional).

Off unless a preset says ``tensorboard: true``; needs the ``tensorboard``
extra. One writer per run, in ``<run results>/tensorboard``; every numeric
column of a ``train_log.csv`` row becomes a scalar at step ``frames``, so the
curves are the CSV's, never a second computation.
"""

from __future__ import annotations

import math
from pathlib import Path


class TensorBoardRows:
    """Mirror ``train_log.csv`` rows into TensorBoard scalars."""

    def __init__(self, folder: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:  # the optional extra is missing
            raise ImportError("tensorboard: true needs the tensorboard package: "
                              "pip install 'glam-bench[tensorboard]'") from error
        self.writer = SummaryWriter(log_dir=str(folder))

    def add(self, row: dict) -> None:
        """One ``train_log.csv`` row: its numbers (NaN ones skipped) at step ``row['frames']``."""
        step = int(row["frames"])
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "frames":
                if not math.isnan(value):
                    self.writer.add_scalar(f"train/{key}", value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
