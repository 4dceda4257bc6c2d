"""Packages whose public names are imported on first use (PEP 562 module ``__getattr__``).

A package ``__init__`` that imported its submodules eagerly would make every
submodule as heavy as the heaviest: importing ``glam_bench.agents.drrn.config``
(plain dataclasses, read by a preset's checks each time Snakemake parses the
workflow) would import torch through the Q-network module. A package instead
lists which submodule defines each public name and hands that list to
:func:`lazy_exports`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: name -> ``getattr(package.<sources[name]>, name)``."""
    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{sources[name]}"), name)
    return __getattr__
