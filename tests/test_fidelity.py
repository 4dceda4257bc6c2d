"""The fidelity switches of issue 13: each reachable from the paper preset, each doing what
it says, and the ledger (docs/fidelity.md) agreeing with the schema and paper.yaml."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from glam_bench.agents.drrn.prompt_memory import EnvPrompts
from glam_bench.agents.llm_ppo import (
    LLMPPOLearner,
    PromptBook,
    build_policy,
    policy_agent,
    scoring_config,
)
from glam_bench.agents.monitoring import AUTHORS_MONITORING_PROMPTS, monitoring_prompts
from glam_bench.agents.symbolic_ppo.learner import SymbolicPPOAgent
from glam_bench.runtime.config import RunConfig, load_schema, resolve_run, training_default
from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.envs import make_vector_env
from glam_bench.paper.test_sets import get_test_set
from glam_bench.llm.loading import load_model
from glam_bench.llm.scoring import CandidateScorer, ScoringConfig, padding_counts
from glam_bench.report import fidelity
from glam_bench.paper.vocabulary import ACTION_SPACES, SYNONYM_ACTION_SETS

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "workflows" / "config"
LEDGER = ROOT / "docs" / "fidelity.md"


def preset(name: str) -> dict:
    return load_preset(PRESETS / f"{name}.yaml")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("models"))


def paper_run(agent: str, models_dir: str, experiment: str = "pretraining") -> RunConfig:
    """A run of the paper preset, shrunk to the tiny model."""
    config = resolve_run(preset("paper"), experiment, agent, 1)
    return dataclasses.replace(config, model="tiny-t5", models_dir=models_dir, device="cpu",
                               value_head_hidden=16, num_envs=2)


# --- Item 8: one source of defaults ------------------------------------------------------


def test_the_scorer_default_has_one_source_the_schema():
    schema_default = load_schema()["$defs"]["training"]["properties"]["scorer"]["default"]
    assert RunConfig("e", "gflan", 1, "env").scorer == schema_default == "raw_logits"
    for name in ("ci", "default", "paper"):
        assert preset(name)["training"]["scorer"] == schema_default
    without = preset("ci")
    del without["training"]["scorer"]
    assert resolve_run(without, "mixed", "gflan", 1).scorer == schema_default


def test_every_schema_training_default_is_the_run_config_default():
    properties = load_schema()["$defs"]["training"]["properties"]
    fields = RunConfig.__dataclass_fields__
    with_default = [k for k, spec in properties.items() if "default" in spec]
    assert {"scorer", "pad_group_size", "non_pretrained_dropout", "french_goal",
            "monitoring_prompts"} <= set(with_default)
    for key in with_default:
        assert fields[key].default == properties[key]["default"] == training_default(key), key


def test_a_checkpoint_from_before_the_new_keys_still_resumes():
    """Keys absent from a saved config had their default: only a real change restarts a run."""
    from glam_bench.runtime.runs import changed_settings

    current = RunConfig("e", "gflan", 1, "env").to_dict()
    saved = {k: v for k, v in current.items()
             if k not in ("pad_group_size", "non_pretrained_dropout", "french_goal",
                          "monitoring_prompts")}
    assert changed_settings(saved, current) == []
    assert changed_settings(saved, {**current, "non_pretrained_dropout": True}) == [
        "non_pretrained_dropout"]


# --- Item 2: lamorel's pad grouping for raw_logits -----------------------------------------

#: Candidate lengths in tiny-t5 tokens, ``</s>`` included (counted by hand: every action
#: word is one token of tiny-t5's word-level vocabulary, plus one for ``</s>``).
HAND_LENGTHS = {
    "restricted": [3, 3, 3],
    "canonical": [3, 3, 3, 3, 2, 2],
    "augmented": [3, 3, 3, 3, 2, 2, 2, 3, 2],
    "synonyms_1": [3, 3, 3, 2, 2, 2],
    "synonyms_2": [3, 3, 3, 2, 2, 2],
}
#: +1.0 per pad position. Whole prompt: pad to the longest candidate of the prompt (3).
HAND_BONUS_WHOLE_PROMPT = {
    "restricted": [0, 0, 0],
    "canonical": [0, 0, 0, 0, 1, 1],                # drop, toggle: 3-2
    "augmented": [0, 0, 0, 0, 1, 1, 1, 0, 1],       # drop, toggle, sleep, think: 3-2
    "synonyms_1": [0, 0, 0, 1, 1, 1],               # take, release, switch: 3-2
    "synonyms_2": [0, 0, 0, 1, 1, 1],               # take, release, turn: 3-2
}
#: Groups of 3 (lamorel's decoder minibatches): pad to the longest of each group.
HAND_BONUS_GROUPS_OF_3 = {
    "restricted": [0, 0, 0],                        # (3,3,3)
    "canonical": [0, 0, 0, 0, 1, 1],                # (3,3,3) (3,2,2): max 3
    "augmented": [0, 0, 0, 0, 1, 1, 1, 0, 1],       # (3,3,3) (3,2,2) (2,3,2): max 3 each
    "synonyms_1": [0, 0, 0, 0, 0, 0],               # (3,3,3) (2,2,2): max 2, no pads
    "synonyms_2": [0, 0, 0, 0, 0, 0],               # (3,3,3) (2,2,2)
}
ACTION_SETS = {**ACTION_SPACES, **SYNONYM_ACTION_SETS}


@pytest.fixture(scope="module")
def tiny_t5(models_dir):
    return load_model("tiny-t5", models_dir=models_dir)


@pytest.mark.parametrize("name", list(HAND_LENGTHS))
def test_raw_logit_pad_bonuses_match_the_hand_arithmetic(name, tiny_t5):
    tokens = tiny_t5.tokenizer(list(ACTION_SETS[name]), add_special_tokens=False)["input_ids"]
    lengths = [len(ids) + 1 for ids in tokens]  # + </s> (append_eos, §B.2)
    assert lengths == HAND_LENGTHS[name]
    assert padding_counts([lengths]) == [HAND_BONUS_WHOLE_PROMPT[name]]
    assert padding_counts([lengths], 3) == [HAND_BONUS_GROUPS_OF_3[name]]
    # two prompts in one batch: every action set's size is a multiple of 3, so groups
    # never straddle prompts and each prompt gets its own bonuses
    assert padding_counts([lengths, lengths], 3) == [HAND_BONUS_GROUPS_OF_3[name]] * 2


@pytest.mark.parametrize("name", ["synonyms_1", "canonical"])
def test_the_scorer_adds_exactly_the_hand_bonus(name, tiny_t5):
    candidates = list(ACTION_SETS[name])
    prompt = ["Possible action of the agent: x \n Goal of the agent: go to the red ball"]
    scores = {}
    for group in (None, 3):
        scorer = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer,
                                 ScoringConfig(scorer="raw_logits", pad_group_size=group))
        with torch.no_grad():
            scores[group] = scorer(prompt, [candidates]).scores[0]
    expected = torch.tensor(HAND_BONUS_WHOLE_PROMPT[name], dtype=torch.float32) - torch.tensor(
        HAND_BONUS_GROUPS_OF_3[name], dtype=torch.float32)
    torch.testing.assert_close(scores[None] - scores[3], expected, atol=1e-5, rtol=0)


def test_pad_group_size_reaches_the_policy_from_the_preset(models_dir):
    assert preset("paper")["training"]["pad_group_size"] == 3
    config = paper_run("gflan", models_dir)
    assert scoring_config(config) == ScoringConfig("raw_logits", True, pad_group_size=3)
    assert build_policy(config, "gflan", torch.device("cpu")).scorer.config.pad_group_size == 3
    default = resolve_run(preset("default"), "mixed", "gflan", 1)
    assert scoring_config(default).pad_group_size is None


# --- Item 3: dropout in the non-pretrained variants ----------------------------------------


def _two_passes(policy) -> tuple[torch.Tensor, torch.Tensor]:
    prompts = ["Possible action of the agent: turn left, turn right \n Goal of the agent: go to "
               "the red ball \n Observation 0: You see a red ball 1 step forward, \n Action 0: "]
    candidates = [["turn left", "turn right"]]
    with torch.no_grad():
        torch.manual_seed(0)
        first = policy(prompts, candidates)
        second = policy(prompts, candidates)
    return torch.cat([first.logits, first.values[:, None]], 1), torch.cat(
        [second.logits, second.values[:, None]], 1)


@pytest.mark.parametrize("agent", ["npae", "npa", "npe"])
def test_non_pretrained_dropout_changes_two_forward_passes_and_nothing_else(agent, models_dir):
    on = paper_run(agent, models_dir)
    assert on.non_pretrained_dropout is True  # the paper preset's value
    off = dataclasses.replace(on, non_pretrained_dropout=False)
    with_dropout = build_policy(on, agent, torch.device("cpu"))
    without = build_policy(off, agent, torch.device("cpu"))
    assert with_dropout.llm.training and not without.llm.training
    # nothing else: same weights, same heads, same scoring
    for (name, a), (_, b) in zip(with_dropout.state_dict().items(),
                                 without.state_dict().items()):
        assert torch.equal(a, b), name
    assert with_dropout.scorer.config == without.scorer.config
    first, second = _two_passes(with_dropout)
    assert not torch.allclose(first, second)
    first, second = _two_passes(without)
    torch.testing.assert_close(first, second)


def test_pretrained_variants_never_get_dropout(models_dir):
    config = paper_run("gflan", models_dir)
    assert config.non_pretrained_dropout is True
    policy = build_policy(config, "gflan", torch.device("cpu"))
    assert not policy.llm.training
    first, second = _two_passes(policy)
    torch.testing.assert_close(first, second)


# --- Item 4: the authors' French goal ---------------------------------------------------

FRENCH_OBS = {"mission": ["go to the purple ball"],
              "descriptions": [("Tu vois une balle violette 1 pas devant",)]}


@pytest.mark.parametrize("french_goal, goal", [("correct", "aller à la balle violette"),
                                               ("authors", "aller à une balle violette")])
def test_french_goal_reaches_every_agent_that_reads_the_goal(french_goal, goal, models_dir):
    test_set = get_test_set("french")
    book = PromptBook(1, 3, test_set.action_names, "fr", (), french_goal)
    assert f"But de l'agent: {goal} \n" in book.observe(FRENCH_OBS)[0]
    drrn = EnvPrompts(1, 3, test_set.action_names, language="fr", french_goal=french_goal)
    drrn.observe(FRENCH_OBS["descriptions"])
    assert f"But de l'agent: {goal} \n" in drrn.prompts(FRENCH_OBS["mission"])[0]
    symbolic = SymbolicPPOAgent.__new__(SymbolicPPOAgent)
    symbolic.language, symbolic.substitutions, symbolic.french_goal = "fr", (), french_goal
    assert symbolic.read_mission("go to the purple ball") == goal
    # from the preset to the LLM agent
    config = dataclasses.replace(paper_run("gflan", models_dir, "gotolocal"),
                                 french_goal=french_goal)
    env = make_vector_env(test_set.env, 1)
    try:
        agent = policy_agent(config, "gflan", None, env, test_set, 1)
    finally:
        env.close()
    assert agent.book.french_goal == french_goal


# --- Item 5: the authors' monitoring prompts ------------------------------------------------

#: Two of the authors' prompts as their get_test_prompts builds them (template 1).
AUTHORS_FIRST = (
    "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n "
    "Goal of the agent: go to the green ball \n Observation 0: A wall 2 step left, A purple key "
    "1 step left and 2 steps forward, A yellow key 1 step left and 1 step forward, A green ball 3 "
    "steps forward, A grey ball 1 step right and 5 steps forward, A green key 1 step right and 2 "
    "steps forward, A grey ball 1 step right and 1 step forward, A green key 2 steps right and 4 "
    "steps forward, A red box 2 steps right and 2 steps forward, \n Action 0: ")
AUTHORS_LAST = (
    "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n "
    "Goal of the agent: pick up the green key then pick up the the red box \n Observation 0: You "
    "carry a green key, You see a wall 4 steps forward, You see a wall 4 steps left, You see a "
    "red box 1 step left, You see a purple ball 2 steps left and 1 step forward \n Action 0:  ")


def test_the_authors_monitoring_prompts_are_theirs():
    prompts = monitoring_prompts(ACTION_SPACES["canonical"], "authors")
    assert len(prompts) == len(AUTHORS_MONITORING_PROMPTS) == 11
    assert prompts[0] == AUTHORS_FIRST
    assert prompts[-1] == AUTHORS_LAST
    assert "Action 2: turn right" not in prompts[1] and "Action 1: turn right \n" in prompts[1]
    assert len(monitoring_prompts(ACTION_SPACES["canonical"], "suite")) == 11
    assert set(prompts).isdisjoint(monitoring_prompts(ACTION_SPACES["canonical"], "suite"))
    with pytest.raises(ValueError, match="monitoring prompt set"):
        monitoring_prompts(ACTION_SPACES["canonical"], "theirs")


@pytest.mark.parametrize("which", ["suite", "authors"])
def test_the_learner_logs_the_preset_s_monitoring_prompts(which, models_dir):
    config = dataclasses.replace(paper_run("gflan", models_dir, "mixed"),
                                 monitoring_prompts=which, frames_per_env=2)
    learner = LLMPPOLearner(config)
    try:
        assert learner.monitor_prompts == monitoring_prompts(learner.candidates, which)
    finally:
        learner.close()
    assert preset("paper")["training"]["monitoring_prompts"] == "authors"


# --- Captions (report.fidelity) ------------------------------------------------------------


def _write_run(root: Path, experiment: str, agent: str, **config) -> None:
    run = root / "runs" / experiment / agent / "seed-1"
    (run / "tests").mkdir(parents=True)
    data = {"experiment": experiment, "agent": agent, "seed": 1, "preset": "paper", **config}
    (run / "run.json").write_text(json.dumps({"config": data}))
    (run / "tests" / "french.json").write_text(json.dumps(
        {"test": "french", "counting": "first_finished", "task_sampling": "instance",
         "episodes": 4, "num_envs": 2}))


def test_captions_name_the_switches_of_the_runs_behind_a_figure(tmp_path):
    _write_run(tmp_path, "gotolocal", "gflan", scorer="raw_logits", pad_group_size=3,
               french_goal="authors", monitoring_prompts="authors")
    _write_run(tmp_path, "gotolocal", "npae", scorer="raw_logits", non_pretrained_dropout=True)
    settings = fidelity.read_run_settings(tmp_path)
    protocols = fidelity.read_protocols(tmp_path)
    rows = pd.DataFrame({"experiment": ["gotolocal"] * 2, "agent": ["gflan", "npae"],
                         "seed": [1, 1], "test": ["french", "french"]})
    gflan = rows.iloc[:1]
    assert "the authors' translation" in fidelity.french_goal_text(settings, gflan)
    assert "grammatical" in fidelity.french_goal_text(settings, rows.iloc[1:])  # default
    assert "the authors' set" in fidelity.monitoring_text(settings, gflan)
    scoring = fidelity.scoring_text(settings, rows)
    assert "groups of 3" in scoring and "whole prompt" in scoring and "dropout on" in scoring
    protocol = fidelity.protocol_text(settings, protocols, rows)
    assert "first N episodes to end" in protocol and "per instance" in protocol
    # a test without a protocol file: the per-env quota and the run's sampling
    plain = fidelity.protocol_text(settings, protocols.iloc[0:0], rows)
    assert "fixed quota per env" in plain and "per episode" in plain


# --- Item 6: the ledger ------------------------------------------------------------------


def ledger_rows(text: str | None = None) -> list[dict]:
    """Rows of the ledger's table: difference, key, paper, default, effect."""
    text = LEDGER.read_text(encoding="utf-8") if text is None else text
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 5 and not set(cells[0]) <= {"-", ":"}:
            rows.append(dict(zip(("difference", "key", "paper", "default", "effect"), cells)))
    return rows[1:]  # the header


def _schema_node(path: str) -> dict | None:
    schema = load_schema()
    node = schema
    for part in path.split("."):
        properties = node.get("properties", {})
        if part not in properties:
            return None
        node = properties[part]
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _preset_value(data: dict, path: str):
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return "(unset)"
        data = data[part]
    return data


def _ledger_value(cell: str):
    match = re.fullmatch(r"`([^`]*)`", cell)
    return yaml.safe_load(match.group(1)) if match else cell


def ledger_problems(text: str | None = None) -> list[str]:
    """Keys of the ledger missing from the schema, or whose paper/default value disagrees."""
    problems = []
    paper, default = preset("paper"), preset("default")
    for row in ledger_rows(text):
        if not row["key"].startswith("`"):
            continue
        path = row["key"].strip("`")
        if _schema_node(path) is None:
            problems.append(f"{path}: not in the preset schema")
            continue
        for name, data, cell in (("paper", paper, row["paper"]),
                                 ("default", default, row["default"])):
            if _preset_value(data, path) != _ledger_value(cell):
                problems.append(f"{path}: {name}.yaml has {_preset_value(data, path)!r}, "
                                f"the ledger says {cell}")
    return problems


def test_every_ledger_key_is_in_the_schema_and_paper_yaml_agrees():
    rows = ledger_rows()
    assert len(rows) >= 12 and sum(r["key"].startswith("`") for r in rows) >= 9
    assert ledger_problems() == []


def test_the_ledger_names_every_switch_of_issue_13():
    keys = {r["key"].strip("`") for r in ledger_rows()}
    assert {"training.pad_group_size", "training.non_pretrained_dropout",
            "training.french_goal", "training.monitoring_prompts", "training.scorer",
            "training.task_sampling", "training.text_fixes", "evaluation.task_sampling",
            "evaluation.counting"} <= keys


def test_the_ledger_check_catches_a_wrong_value_and_an_unknown_key():
    text = LEDGER.read_text(encoding="utf-8")
    wrong = text.replace("| `training.pad_group_size` | `3` |",
                         "| `training.pad_group_size` | `4` |")
    assert wrong != text and ledger_problems(wrong)
    unknown = text.replace("`training.french_goal`", "`training.french_goals`")
    assert any("not in the preset schema" in p for p in ledger_problems(unknown))


# --- Item 7: Table 2 (example prompts) -------------------------------------------------------


def test_table_2_rebuilds_the_paper_s_prompt_and_shows_both_french_goals(tmp_path):
    from glam_bench.report import build, items
    from glam_bench.report.prompt_table import PAPER_EXAMPLE, prompt_table, write_prompt_tables

    table = prompt_table()
    assert table["ours"][0] == PAPER_EXAMPLE and table["identical"][0] == "yes"
    french = table[table["example"].str.contains("French")]["ours"].tolist()
    assert "aller à la balle jaune" in french[0] and "aller à une balle jaune" in french[1]
    assert "table_prompts" in items.TABLE_ITEMS and "table_prompts" in build._builders()
    paths = write_prompt_tables(None, tmp_path)
    assert [p.name for p in paths] == ["table_prompts.csv", "table_prompts.md", "table_prompts.tex"]
    assert "| yes |" in (tmp_path / "table_prompts.md").read_text(encoding="utf-8")
