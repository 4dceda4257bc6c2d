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


def test_a_checkpoint_holding_objects_of_a_moved_module_loads(tmp_path):
    # A checkpoint from before the layout (and before digests). DRRN's hold the suite's objects
    # in the torch payload itself, not only in
    # the envs' pickle: load_checkpoint must map them too.
    import zipfile

    import torch

    from glam_bench.runtime.runs import UNVERIFIED_FORMAT, load_checkpoint

    written = tmp_path / "new.pt"
    torch.save({"format": UNVERIFIED_FORMAT, "tracker": EpisodeTracker(num_envs=2)}, written,
               pickle_protocol=2)
    old = tmp_path / "checkpoint.pt"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(old, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename.endswith("data.pkl"):
                data = data.replace(b"cglam_bench.rl.episodes\n", b"cglam_bench.evaluation.runner\n")
            target.writestr(entry, data)
    with pytest.raises(ModuleNotFoundError):
        torch.load(old, weights_only=False)
    assert type(load_checkpoint(old)["tracker"]) is EpisodeTracker
