"""glam_bench's modules import each other without cycles (a static check, no import runs).

A cycle works until someone imports the modules in another order, then fails
with a half-initialised module; one hidden in a function-level import is the
same two-way dependence, only deferred. The check reads every import statement
of every module, at module level and inside functions and classes (those under
``if TYPE_CHECKING:`` excluded: they never run) and asks for no cycle, both
between modules and between the layers they form: the subpackages
(``glam_bench.agents``, ``glam_bench.runtime``, ...) and top-level modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "glam_bench"


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by ``__init__``)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _runtime_imports(body: list[ast.stmt]):
    """Every import statement of a module that can run: at import time or later, inside a
    function or a class. Only those under ``if TYPE_CHECKING:`` are left out: they never run."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _runtime_imports(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, field, ()):
                    yield from _runtime_imports([child])


def _imported_names(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Every dotted name an import statement may load (``from a import b`` may load ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative import
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        anchor = package[:len(package) - node.level + 1]
        base = ".".join(anchor + ([node.module] if node.module else []))
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports at import time.

    Importing ``a.b.c`` also runs the packages ``a.b`` and ``a``: they are edges too,
    except the importer's own packages (already running when it is imported) and
    the root package, which imports nothing.
    """
    root = next(iter(modules)).split(".")[0]
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            for name in _imported_names(module, path, node):
                while name and name not in modules:  # ``from m import function``: the module m
                    name = name.rpartition(".")[0]
                while name and name != root:
                    if not (module == name or module.startswith(name + ".")):
                        targets.add(name)
                    name = name.rpartition(".")[0]
        graph[module] = targets
    return graph


def layer_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between layers: each subpackage of the root, and each top-level module."""
    def layer(module: str) -> str:
        return ".".join(module.split(".")[:2])

    layers: dict[str, set[str]] = {layer(m): set() for m in graph}
    for module, targets in graph.items():
        layers[layer(module)] |= {layer(t) for t in targets} - {layer(module)}
    return layers


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None when it has none."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once explored
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_modules_import_each_other_without_a_cycle():
    cycle = find_cycle(import_graph(module_files()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_subpackages_and_top_level_modules_form_layers_without_a_cycle():
    """E.g. the agents use ``glam_bench.evaluation`` (episodes, test sets): it must not use them."""
    cycle = find_cycle(layer_graph(import_graph(module_files())))
    assert cycle is None, "cycle between layers: " + " -> ".join(cycle)


def test_the_check_sees_imports_and_ignores_type_checking_ones(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub.b import f\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
        "def f():\n    from pkg import a\n")
    graph = import_graph(module_files(package))
    # The function-level import counts: a two-way dependence, only deferred.
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a"}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    graph = import_graph(module_files(package))
    assert graph["pkg.sub.b"] == set() and find_cycle(graph) is None
    (package / "sub" / "b.py").write_text("from . import c\n")
    (package / "sub" / "c.py").write_text("import pkg.a\n")
    graph = import_graph(module_files(package))
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.sub.c", "pkg.a"]


def test_checking_a_preset_imports_no_torch():
    """Snakemake checks the preset every time it parses the workflow (each SLURM job step too):
    the checks, and the families' settings modules they call through the study, stay free of
    torch, transformers and minigrid (a package ``__init__`` importing its networks would not)."""
    import subprocess
    import sys

    script = (
        "import sys, yaml\n"
        "from glam_bench.paper import study\n"
        "from glam_bench.pipeline import preset_checks\n"
        "for name in ('default', 'paper', 'ci', 'smollm2'):\n"
        "    preset_checks.check_preset(yaml.safe_load(open(f'workflows/config/{name}.yaml')))\n"
        "for spec in study.AGENTS:\n"
        "    if spec.settings: __import__(spec.settings)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'minigrid') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PACKAGE.parent, text=True,
                            capture_output=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_lazy_package_names_resolve_to_their_modules():
    from glam_bench.agents import RandomAgent, drrn, symbolic_ppo
    from glam_bench.agents.drrn.network import DRRN
    from glam_bench.agents.random import RandomAgent as defined
    from glam_bench.agents.symbolic_ppo.vocab import MissionVocab

    assert RandomAgent is defined and drrn.DRRN is DRRN and symbolic_ppo.MissionVocab is MissionVocab
    for package in (drrn, symbolic_ppo):
        assert all(getattr(package, name) for name in package.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'DRN'"):
        drrn.DRN
