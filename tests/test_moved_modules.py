"""Checkpoints written before a module moved still resume (glam_bench.runtime.moved_modules)."""

from __future__ import annotations

import importlib
import pickle

import pytest

from glam_bench.rl.episodes import EpisodeTracker
from glam_bench.runtime import moved_modules


def _pickled_at_old_path(obj: object, new: str, old: str) -> bytes:
    """``obj`` pickled as a checkpoint written before ``new`` moved from ``old`` would hold it."""
    data = pickle.dumps(obj, protocol=0)  # text protocol: module paths are plain lines
    assert f"c{new}\n".encode() in data
    return data.replace(f"c{new}\n".encode(), f"c{old}\n".encode())


def test_a_tracker_pickled_before_the_move_loads_at_its_new_place():
    tracker = EpisodeTracker(num_envs=3)
    data = _pickled_at_old_path(tracker, "glam_bench.rl.episodes", "glam_bench.evaluation.runner")
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(data)
    restored = moved_modules.loads(data)
    assert type(restored) is EpisodeTracker and vars(restored).keys() == vars(tracker).keys()


@pytest.mark.parametrize("old, new", sorted(moved_modules.MOVED_MODULES.items()))
def test_every_moved_module_exists_at_its_new_path_only(old, new):
    importlib.import_module(new)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)
