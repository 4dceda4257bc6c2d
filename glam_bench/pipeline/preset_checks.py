"""Everything about a preset that can be checked before any job starts, beyond its schema.

The schema (``preset_schema.yaml``) says which keys exist and their types. This
module adds what needs the suite's own knowledge: YAML read strictly (a
duplicate key is an error, a syntax error names its line and column), the
names a preset takes from the study (agents under ``agent_training``,
experiments under ``experiments``, ``tests`` and ``experiment_training``, test
names, model sizes and frame budgets: ``glam_bench.paper.study``), env and model names, each learner's own
settings resolved for every run of the grid (``recurrence`` dividing
``frames_per_env``, unknown ``drrn``/``bc`` keys), a preset name that is safe
as a file name, and the device. The CLI (``load_preset``) and the
Snakefile (``workflows/rules/common.smk``) both call it, so a preset is refused
the same way whichever starts it, and every message names the key.

It stays cheap to import (no torch, no transformers): Snakemake imports it on
every start, and every SLURM job step starts Snakemake again.
"""

from __future__ import annotations

import importlib
import io
import re
from pathlib import Path

import yaml

from glam_bench.paper import study
from glam_bench.runtime.config import _deep_merge  # the one deep merge of preset blocks
from glam_bench.runtime.config import (ConfigError, check_names, load_schema, resolve_run, study_grid,
                                       validate_preset)
from glam_bench.llm.names import FETCHABLE_MODELS, TINY_MODELS

#: A preset name becomes a file name (``<work>/presets/<preset>.yaml``): no folders, no ``..``.
SAFE_PRESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: A Hugging Face model id, owner/name.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


# --- strict YAML ------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)
    and any anchor or alias: a few nested aliases expand to gigabytes once a validator or an
    error message walks the data (an "alias bomb"), and a preset never needs them."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = event.start_mark
            what = f"alias *{event.anchor}" if isinstance(event, yaml.AliasEvent) \
                else f"anchor &{event.anchor}"
            raise ConfigError(
                f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}: YAML {what} "
                "refused; presets take no anchors or aliases, write the values out in full"
            )
        return super().compose_node(parent, index)


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[object, yaml.Mark] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            first = seen[key]
            raise ConfigError(
                f"{key_node.start_mark.name}, line {key_node.start_mark.line + 1}, column "
                f"{key_node.start_mark.column + 1}: duplicate key {key!r} (first given on line "
                f"{first.line + 1}); keep one"
            )
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _mapping_without_duplicates)


def _utf8_text(path: Path) -> str:
    """The file's text; ConfigError naming the file when it is not UTF-8 (binary, UTF-16)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the preset ({error.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        found = "UTF-16 text" if utf16 else f"byte 0x{data[error.start]:02x} at offset {error.start}"
        raise ConfigError(f"{path}: a preset is UTF-8 text, found {found}; save it as UTF-8 "
                          "(e.g. iconv -t UTF-8), or pass the YAML preset, not another file") \
            from None


def load_yaml_strict(path: str | Path) -> object:
    """A YAML file's data; ConfigError naming the file on text that is not UTF-8, and with
    line and column on a syntax error, a duplicate key, an anchor or an alias."""
    path = Path(path)
    stream = io.StringIO(_utf8_text(path))
    stream.name = str(path)  # marks name the file
    try:
        return yaml.load(stream, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise ConfigError(f"{path}, {where}: not valid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None


# --- names ------------------------------------------------------------------------------


def tiny_model_names() -> tuple[str, ...]:
    """The built-in tiny model names (:data:`glam_bench.llm.names.TINY_MODELS`)."""
    return tuple(TINY_MODELS)


def fetchable_model_names() -> tuple[str, ...]:
    """Models that ``glam-bench models fetch`` installs."""
    return FETCHABLE_MODELS


def check_model(name: str, models_dir: str, where: str) -> None:
    """A model name the loader can mean: built-in, a Hub id (owner/name) or a local folder."""
    if name in tiny_model_names() + fetchable_model_names() or HUB_ID.match(name) \
            or Path(name).is_dir() \
            or (Path(models_dir) / name).is_dir():
        return
    raise ConfigError(
        f"{where}: unknown model {name!r}; use a built-in model ({', '.join(tiny_model_names())}), "
        f"a fetched one ({', '.join(fetchable_model_names())}: glam-bench models list), "
        "a Hugging Face id such as google/flan-t5-large, or a local model folder"
    )


def check_env(env_id: str, where: str) -> None:
    from glam_bench.envs.registry import LEVELS as levels  # gymnasium: on use only

    if env_id not in levels:
        raise ConfigError(f"{where}: unknown environment {env_id!r}; BabyAI-Text levels are: "
                          f"{', '.join(sorted(levels))}")


def check_device(device: str, where: str) -> None:
    """Refuse ``cuda`` on a machine without a usable CUDA device (torch imported only then)."""
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"{where}: device is 'cuda' but no CUDA device is available here; "
                          "set device: auto (or cpu), or run on a GPU machine")


# --- the whole preset -------------------------------------------------------------------


def _check_learner_settings(preset: dict, experiment: str, agent: str) -> None:
    """Resolve the run's learner settings as the learner will, naming the experiment."""
    config = resolve_run(preset, experiment, agent, preset["seeds"][0])
    where = f"experiments/{experiment} ({agent})"
    settings = study.AGENTS_BY_NAME[agent].settings  # the family's own block, if any
    try:
        if settings is not None:
            importlib.import_module(settings).from_run_config(config)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
    check_model(config.model, config.models_dir, f"{where}: training/model")


def check_preset(preset: dict, source: str = "preset") -> dict:
    """Every check of this module on a schema-valid preset; ConfigError naming the key."""
    name = preset["preset"]
    if not SAFE_PRESET_NAME.match(name):
        raise ConfigError(f"{source}: preset: {name!r} is not a safe name (it names files); "
                          "use letters, digits, '.', '_' and '-' only, e.g. my-preset")
    _check_study_names(preset, source)
    for experiment, spec in study_grid(preset).items():
        check_env(spec.env, f"{source}: experiments/{experiment}/env")
        for agent in spec.agents:
            _check_learner_settings(preset, experiment, agent)
    return preset


def evaluation_flags(evaluation: dict) -> str:
    """The ``glam-bench evaluate`` flags of a preset's ``evaluation`` block (§A.5, §D.1, §D.4):
    counting, task sampling (absent: each run's own) and the French tests' scored names."""
    flags = f"--counting {evaluation.get('counting', 'per_env')}"
    if evaluation.get("task_sampling"):
        flags += f" --task-sampling {evaluation['task_sampling']}"
    if evaluation.get("french_candidates", "french") != "french":
        flags += f" --french-candidates {evaluation['french_candidates']}"
    return flags



def _check_study_names(preset: dict, source: str) -> None:
    """Every name the preset takes from ``glam_bench.paper.study`` is one the study declares."""
    sizes = tuple(dict.fromkeys(e.model_size for e in study.EXPERIMENTS if e.model_size))
    budgets = tuple(dict.fromkeys(e.frame_budget for e in study.EXPERIMENTS if e.frame_budget))
    try:
        check_names(preset.get("agent_training"), study.AGENT_NAMES, "agent_training", "agent")
        check_names(preset.get("experiment_training"), tuple(study.EXPERIMENTS_BY_NAME),
                    "experiment_training", "experiment")
        check_names(preset.get("model_sizes"), sizes, "model_sizes", "model size")
        check_names(preset.get("frame_budgets"), budgets, "frame_budgets", "frame budget")
        check_names((preset.get("resources") or {}).get("experiments"),
                    tuple(study.EXPERIMENTS_BY_NAME), "resources/experiments", "experiment")
        study_grid(preset)  # the experiments, and the tests of each `tests` subset
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def run_devices(preset: dict) -> set[str]:
    """The devices the preset's runs ask for."""
    return {resolve_run(preset, experiment, agent, preset["seeds"][0]).device
            for experiment, spec in study_grid(preset).items() for agent in spec.agents}


def merge_overrides(preset: dict, overrides: dict) -> dict:
    """``preset`` with ``overrides`` (Snakemake's ``--config``, or a later preset file) merged
    in key by key at every depth: ``training={model: X}`` changes the model and keeps the
    rest of the preset's training block (issue 22), where a plain update would replace the
    block and reset pad grouping, dropout and micro-batches to their defaults. Lists and
    scalars are replaced whole. The same merge as a run's training blocks (resolve_run)."""
    return _deep_merge(preset, overrides)


def complete_preset(preset: dict, source: str = "preset") -> dict:
    """The preset as every job reads it, the one preparation for pipeline and hand runs.

    Schema-checked, with the defaults of the optional top-level keys filled in (folders,
    ``use_cached_results``, ``tensorboard``) and nothing filled in below them: a
    ``$defs/training`` default written into ``agent_training`` or ``experiment_training``
    would override the preset's own ``training`` for that agent or experiment (issue 22:
    size-xl got ``pad_group_size: null`` under paper.yaml). Training defaults apply once,
    in :class:`~glam_bench.runtime.config.RunConfig`.
    """
    validate_preset(preset, source)
    for key, spec in load_schema()["properties"].items():
        if "default" in spec and key not in preset:
            preset[key] = spec["default"]
    return preset


def load_preset(path: str | Path) -> dict:
    """Read and validate a preset YAML file: schema, then these checks (as the Snakefile)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"preset file {path} not found; presets live in workflows/config/")
    preset = load_yaml_strict(path)
    if not isinstance(preset, dict):
        raise ConfigError(f"{path}: a preset is a mapping of keys, found {type(preset).__name__}")
    return check_preset(complete_preset(preset, str(path)), str(path))
