"""The run identity (issue 22 item 4): what changes a run's results, and nothing else.

The pipeline reruns a run when ``RunConfig.identity_sha`` changes, and a
checkpoint is set aside when ``runs.changed_settings`` finds a difference; both
read the one declaration in ``glam_bench.runtime.config``.
"""

from __future__ import annotations

import copy

import pytest

from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.runtime.config import RunConfig, resolve_run
from glam_bench.runtime.runs import changed_settings, load_checkpoint, save_checkpoint

PAPER = "workflows/config/paper.yaml"


@pytest.fixture(scope="module")
def paper() -> dict:
    return load_preset(PAPER)


def _edited(preset: dict, block: str, key: str, value) -> dict:
    edited = copy.deepcopy(preset)
    target = edited.setdefault("training", {})
    if block:
        target = target.setdefault(block, {})
    target[key] = value
    return edited


def _edited_top(preset: dict, key: str, value) -> dict:
    return {**copy.deepcopy(preset), key: value}


def _edited_where_the_agent_reads_it(preset: dict, agent: str, key: str, value) -> dict:
    """Edit ``key`` in the agent's ``agent_training`` block when it overrides it there
    (paper.yaml's DRRN ``checkpoint_every``), else in ``training``."""
    if key in (preset.get("agent_training") or {}).get(agent, {}):
        edited = copy.deepcopy(preset)
        edited["agent_training"][agent][key] = value
        return edited
    return _edited(preset, "", key, value)


@pytest.mark.parametrize("agent", ["gflan", "drrn", "symbolic-ppo"])
@pytest.mark.parametrize("edit", [
    lambda p, a: _edited(p, "ppo", "micro_batch_size", 4),
    lambda p, a: _edited(p, "ppo", "gradient_checkpointing", True),
    lambda p, a: _edited(p, "", "device", "cpu"),
    lambda p, a: _edited(p, "", "data_parallel", "fsdp"),
    lambda p, a: _edited_where_the_agent_reads_it(p, a, "checkpoint_every", 7),
    lambda p, a: _edited_top(p, "models_dir", "/scratch/models"),
    lambda p, a: _edited_top(p, "work_dir", "/scratch/work"),
], ids=["micro_batch_size", "gradient_checkpointing", "device", "data_parallel",
        "checkpoint_every", "models_dir", "work_dir"])
def test_settings_that_change_no_result_rerun_nothing(paper, agent, edit):
    before = resolve_run(paper, "mixed", agent, 1)
    after = resolve_run(edit(paper, agent), "mixed", agent, 1)
    assert after != before  # the edit reached the run config...
    assert after.identity_sha() == before.identity_sha()  # ...and reruns nothing
    assert changed_settings(before.to_dict(), after.to_dict()) == []


def test_the_learning_rate_reruns_the_llm_run_but_not_drrn(paper):
    edited = _edited(paper, "ppo", "lr", 3e-6)
    gflan = [resolve_run(p, "mixed", "gflan", 1) for p in (paper, edited)]
    assert gflan[0].identity_sha() != gflan[1].identity_sha()
    assert changed_settings(gflan[0].to_dict(), gflan[1].to_dict()) == ["ppo.lr"]
    drrn = [resolve_run(p, "mixed", "drrn", 1) for p in (paper, edited)]
    assert drrn[0].identity_sha() == drrn[1].identity_sha()  # DRRN reads no ppo block


def test_llm_settings_do_not_rerun_symbolic_ppo_but_its_own_block_does(paper):
    scorer = _edited(paper, "", "scorer", "logprob")
    runs = [resolve_run(p, "mixed", "symbolic-ppo", 1) for p in (paper, scorer)]
    assert runs[0].identity_sha() == runs[1].identity_sha()
    own = _edited(paper, "symbolic_ppo", "lr", 3e-4)
    changed = resolve_run(own, "mixed", "symbolic-ppo", 1)
    assert changed.identity_sha() != runs[0].identity_sha()
    assert changed_settings(runs[0].to_dict(), changed.to_dict()) == ["symbolic_ppo.lr"]


def test_a_result_setting_shared_by_every_agent_reruns_each(paper):
    edited = _edited(paper, "", "reward_scale", 10.0)
    for agent in ("gflan", "drrn", "symbolic-ppo"):
        before, after = (resolve_run(p, "mixed", agent, 1) for p in (paper, edited))
        assert before.identity_sha() != after.identity_sha(), agent


def test_a_neutral_edit_keeps_the_checkpoint_and_a_real_one_sets_it_aside(tmp_path):
    config = RunConfig("mixed", "gflan", 1, "env", device="cuda")
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"update": 3, "config": config.to_dict()})
    moved = RunConfig("mixed", "gflan", 1, "env", device="cpu", models_dir="/elsewhere",
                      ppo=type(config.ppo)(micro_batch_size=2))
    assert load_checkpoint(path, config=moved.to_dict())["update"] == 3
    assert not list(tmp_path.glob("checkpoint.pt.*stale"))
    other = RunConfig("mixed", "gflan", 1, "env", ppo=type(config.ppo)(lr=1e-3))
    assert load_checkpoint(path, config=other.to_dict()) is None
    assert len(list(tmp_path.glob("checkpoint.pt.*.stale"))) == 1  # named by its settings


def test_a_config_saved_as_json_has_the_same_identity():
    """Tuples come back from JSON as lists; the identity must not see a change."""
    import json

    config = RunConfig("mixed", "gflan", 1, "env")
    reread = json.loads(json.dumps(config.to_dict()))
    assert changed_settings(reread, config.to_dict()) == []
    assert RunConfig.from_dict(reread).identity_sha() == config.identity_sha()
