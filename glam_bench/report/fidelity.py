"""Which fidelity switches stand behind a figure, for its caption (``docs/fidelity.md``).

Result CSVs do not carry the run settings; each run's ``run.json`` does, and
each test CSV may have an evaluation record ``<test>.json`` beside it. This module reads
both (absent keys mean the schema's defaults, i.e. what the suite did before
the key existed) and words them for the footers of the figures they change.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from glam_bench.paper import study
from glam_bench.pipeline.cache import RECORD_SUFFIX, report_glob
from glam_bench.runtime.config import RunConfig
from glam_bench.runtime.results import read_result_json

#: Run-config keys a caption may name; their defaults are RunConfig's (= the schema's).
SWITCHES: tuple[str, ...] = ("scorer", "pad_group_size", "non_pretrained_dropout",
                             "french_goal", "monitoring_prompts", "task_sampling")
RUN_KEYS = ["experiment", "agent", "seed"]
#: Agents built from a config rather than a checkpoint (§B.4): the dropout switch applies.
NON_PRETRAINED_AGENTS = tuple(a.name for a in study.AGENTS if a.llm and not a.llm.pretrained)
#: Agents whose policy is an LLM (the scorer switches apply).
SCORED_AGENTS = tuple(a.name for a in study.AGENTS if a.llm)

_DEFAULTS = {f: RunConfig.__dataclass_fields__[f].default for f in SWITCHES}
FRENCH_GOAL_WORDS = {"correct": "the suite's grammatical translation",
                     "authors": "the authors' translation (§D.4)"}
MONITORING_WORDS = {"suite": "the suite's set", "authors": "the authors' set (get_test_prompts)"}


SETTINGS_COLUMNS = [*RUN_KEYS, *SWITCHES]
PROTOCOL_COLUMNS = [*RUN_KEYS, "test", "counting", "test_task_sampling", "french_candidates"]
#: The scored action names of a French test (``evaluation.french_candidates``, §D.4).
FRENCH_CANDIDATE_WORDS = {"french": "the French names (as the paper's figure)",
                          "english": "the English names (as the authors' code would have)"}


def read_run_settings(results_dir: Path, preset: str | None = None) -> pd.DataFrame:
    """One row per run.json under ``results_dir``: experiment, agent, seed and :data:`SWITCHES`."""
    rows = []
    for path in report_glob(results_dir, "run"):
        config = read_result_json(path).get("config", {})
        if "experiment" not in config or (preset is not None and config.get("preset") != preset):
            continue
        rows.append({**{k: config[k] for k in RUN_KEYS},
                     **{k: config.get(k, _DEFAULTS[k]) for k in SWITCHES}})
    return pd.DataFrame(rows, columns=SETTINGS_COLUMNS)


def read_protocols(results_dir: Path) -> pd.DataFrame:
    """One row per evaluation record ``tests/<test>.json``: experiment, agent, seed, test, counting,
    task_sampling (read from the path, ``runs/<experiment>/<agent>/seed-<seed>/tests/``) and,
    for a French test recorded since the switch existed, its scored candidates ('' before)."""
    rows = []
    for path in report_glob(results_dir, "record"):
        protocol = read_result_json(path)
        if "counting" not in protocol:  # a record written before the protocol was recorded
            continue
        run = path.parent.parent
        rows.append({"experiment": run.parent.parent.name, "agent": run.parent.name,
                     "seed": int(run.name.removeprefix("seed-")),
                     "test": path.name[: -len(RECORD_SUFFIX)],
                     "counting": protocol["counting"],
                     "test_task_sampling": protocol["task_sampling"],
                     "french_candidates": protocol.get("french_candidates", "")})
    return pd.DataFrame(rows, columns=PROTOCOL_COLUMNS)


def _settings_of(settings: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The settings of the runs behind ``rows``; runs without a run.json get the defaults."""
    runs = rows[RUN_KEYS].drop_duplicates()
    merged = runs.merge(settings, on=RUN_KEYS, how="left")
    return merged.fillna({k: v for k, v in _DEFAULTS.items() if v is not None})


def _values(frame: pd.DataFrame, key: str) -> list:
    values = frame[key].tolist()
    return sorted({("none" if v is None or v != v else v) for v in values}, key=str)


def _join(values: list) -> str:
    return "/".join(str(v) for v in values)


def scoring_text(settings: pd.DataFrame, rows: pd.DataFrame) -> str:
    """Scorer, raw-logit pad grouping and non-pretrained dropout of the LLM runs behind
    ``rows``; empty when no LLM agent is among them."""
    frame = _settings_of(settings, rows)
    frame = frame[frame["agent"].isin(SCORED_AGENTS)]
    if frame.empty:
        return ""
    parts = [f"scorer {_join(_values(frame, 'scorer'))}"]
    raw = frame[frame["scorer"] == "raw_logits"]
    if len(raw):
        groups = ["whole prompt" if g == "none" else f"groups of {int(g)}"
                  for g in _values(raw, "pad_group_size")]
        parts.append(f"raw-logit pads counted per {' / '.join(groups)} (§B.2)")
    npx = frame[frame["agent"].isin(NON_PRETRAINED_AGENTS)]
    if len(npx):
        modes = ["on (train mode)" if v else "off" for v in _values(npx, "non_pretrained_dropout")]
        parts.append(f"NPAE/NPA/NPE dropout {' / '.join(modes)} (§B.4)")
    return "Switches: " + ", ".join(parts)


def protocol_text(settings: pd.DataFrame, protocols: pd.DataFrame, rows: pd.DataFrame) -> str:
    """The test protocol behind ``rows``: counting and the test envs' task sampling (§D.1)."""
    tests = rows[[*RUN_KEYS, "test"]].drop_duplicates()
    merged = tests.merge(protocols, on=[*RUN_KEYS, "test"], how="left").merge(
        _settings_of(settings, rows)[[*RUN_KEYS, "task_sampling"]], on=RUN_KEYS, how="left")
    merged["counting"] = merged["counting"].fillna("per_env")
    merged["test_task_sampling"] = merged["test_task_sampling"].fillna(merged["task_sampling"])
    counting = {"per_env": "a fixed quota per env",
                "first_finished": "the first N episodes to end (the authors')"}
    return ("Test protocol: episodes counted as " + " / ".join(
        counting[c] for c in _values(merged, "counting")) + "; task kind drawn per "
        + " / ".join(_values(merged, "test_task_sampling")) + " (§A.5, §D.1)")


def french_goal_text(settings: pd.DataFrame, rows: pd.DataFrame) -> str:
    frame = _settings_of(settings, rows)
    return "French goal: " + " / ".join(FRENCH_GOAL_WORDS[v] for v in _values(frame, "french_goal"))


def monitoring_text(settings: pd.DataFrame, rows: pd.DataFrame) -> str:
    frame = _settings_of(settings, rows)
    return ("prompts: "
            + " / ".join(MONITORING_WORDS[v] for v in _values(frame, "monitoring_prompts")))


def french_candidates_text(protocols: pd.DataFrame, rows: pd.DataFrame) -> str:
    """The scored action names of the French tests behind ``rows`` (§D.4), as their records
    say; '' when no record says (results evaluated before the switch, which scored French)."""
    tests = rows[[*RUN_KEYS, "test"]].drop_duplicates()
    merged = tests.merge(protocols, on=[*RUN_KEYS, "test"], how="inner")
    recorded = [v for v in _values(merged, "french_candidates") if v in FRENCH_CANDIDATE_WORDS]
    if not recorded:
        return ""
    return "scored candidates: " + " / ".join(FRENCH_CANDIDATE_WORDS[v] for v in recorded)
