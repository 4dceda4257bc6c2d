"""Unpickling checkpoints written before a module moved: old dotted names -> where they live now.

A checkpoint pickles the vector envs, episode trackers and prompt books of a run
(``state["envs"]``), and pickle records each object's class by its module path.
When the package was laid out by layer (``glam_bench.prompts`` became
``glam_bench.paper.prompts``, ...), every checkpoint written before could no longer
be resumed: days of GPU time on a cluster. :func:`loads` reads such pickles by
mapping the old paths to the new ones; a module that moves again gets one more line
in :data:`MOVED_MODULES`.
"""

from __future__ import annotations

import io
import pickle
from types import SimpleNamespace
from typing import Any

#: Old module path -> its current path (the layout by layer of December 2026).
MOVED_MODULES = {
    "glam_bench.study": "glam_bench.paper.study",
    "glam_bench.vocabulary": "glam_bench.paper.vocabulary",
    "glam_bench.prompts": "glam_bench.paper.prompts",
    "glam_bench.evaluation.test_sets": "glam_bench.paper.test_sets",
    "glam_bench.evaluation.runner": "glam_bench.rl.episodes",
    "glam_bench.config": "glam_bench.runtime.config",
    "glam_bench.training": "glam_bench.runtime.training",
    "glam_bench.runs": "glam_bench.runtime.runs",
    "glam_bench.runlock": "glam_bench.runtime.runlock",
    "glam_bench.results": "glam_bench.runtime.results",
    "glam_bench.process": "glam_bench.runtime.process",
    "glam_bench.devices": "glam_bench.runtime.devices",
    "glam_bench.tensorboard_log": "glam_bench.runtime.tensorboard_log",
    "glam_bench.status": "glam_bench.tools.status",
    "glam_bench.bench": "glam_bench.tools.bench",
    "glam_bench.preset_checks": "glam_bench.pipeline.preset_checks",
    "glam_bench.cache": "glam_bench.pipeline.cache",
    "glam_bench.evaluate": "glam_bench.evaluation.evaluate",
    "glam_bench.protocol_effect": "glam_bench.evaluation.protocol_effect",
    "glam_bench.report.paper": "glam_bench.report.published",
}


class Unpickler(pickle.Unpickler):
    """A pickle reader that finds classes of moved modules at their current place."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_MODULES.get(module, module), name)


def loads(data: bytes) -> Any:
    """``pickle.loads`` that also reads pickles written before a module moved."""
    return Unpickler(io.BytesIO(data)).load()


#: For ``torch.load(..., pickle_module=moved_modules.pickle_module)``: a checkpoint's own
#: payload can hold the suite's objects too (DRRN's replay memory holds episode records).
pickle_module = SimpleNamespace(__name__=__name__, Unpickler=Unpickler, load=pickle.load)
