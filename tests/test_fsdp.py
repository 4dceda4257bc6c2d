"""FSDP (``data_parallel: fsdp``) over two gloo processes on CPU equals one process.

One spawn per model runs two phases on every rank of a sharded learner:

A. the DDP test's update (``ppo_update`` on a fixed batch of 24, 2 epochs, minibatches of 7 in
   micro-batches of 3: uneven shares, a zero-weight pass), then the learner's checkpoint state;
B. a fresh sharded learner restores A's state, gathers it again, then runs one whole
   ``update()``: acting on the envs (prompts broadcast, every rank in every forward), the
   update, the monitoring rows; then its state again.

The parent process replays both phases in one process and compares: weights, optimizer
state and losses within the DDP test's tolerances, the same sampled actions, and a
checkpoint written under FSDP that a single process loads and continues from.
"""

import copy
import dataclasses
import datetime
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from glam_bench.agents.llm_ppo import LLMPPOLearner, ppo_update
from glam_bench.runtime.config import (
    AdapterConfig,
    ConfigError,
    PPOConfig,
    resolve_run,
)
from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.llm.sharding import is_sharded
from glam_bench.runtime.runs import RunPaths, changed_settings
from glam_bench.runtime.training import train
from tests.test_llm_ppo import _fixed_batch, _free_port

ROOT = Path(__file__).resolve().parents[1]
#: The DDP test's geometry: minibatches of 7 (shares 4 and 3) in micro-batches of 3.
PPO = PPOConfig(lr=1e-3, epochs=2, minibatch_size=7, micro_batch_size=3)
#: Seconds a collective may wait: a rank that skips a forward fails the test instead of hanging.
COLLECTIVE_TIMEOUT = 60


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("models"))


def run_config(models_dir, model="tiny-t5", adapter=None, engine="fsdp"):
    """The ci preset's gflan run (2 envs x 8 frames) at a learning rate that moves the weights."""
    preset = load_preset(ROOT / "workflows" / "config" / "ci.yaml")
    config = resolve_run(preset, "mixed", "gflan", 1)
    return dataclasses.replace(config, model=model, adapter=adapter, models_dir=models_dir,
                               data_parallel=engine, ppo=PPO)


def run_phases(config, state=None):
    """Phase A (no ``state``) or B (``state``: A's checkpoint) on this process's learner.

    States are deep copies, as a checkpoint on disk: one process's state dict holds the live
    tensors, which the next optimizer step would change.
    """
    snapshot = lambda: copy.deepcopy(learner.state_dict())
    learner = LLMPPOLearner(config)
    try:
        if state is None:
            losses = ppo_update(learner.engine, learner.optimizer, _fixed_batch(),
                                learner.candidates, config.ppo, torch.Generator().manual_seed(5),
                                learner.device)
            return {"losses": losses, "state": snapshot()}
        learner.load_state_dict(copy.deepcopy(state))
        reloaded = snapshot()
        rollouts = []
        if learner.rank == 0:
            collect = learner._collect
            learner._collect = lambda: rollouts.append(collect()) or rollouts[-1]
        result = learner.update()
        return {"reloaded": reloaded, "rollout": rollouts[0][0] if rollouts else None,
                "losses": result.losses, "rows": result.extra_rows["policy_log"],
                "state": snapshot(), "sharded": learner.sharded}
    finally:
        learner.close()


def train_once(config, root):
    """One update through :func:`glam_bench.runtime.training.train`: the checkpoint and logs it writes."""
    paths = RunPaths.for_run(Path(root) / "results", Path(root) / "work", config.experiment,
                             config.agent, config.seed)
    learner = LLMPPOLearner(config)
    try:
        train(config, paths, learner, stop_after=1, progress=False, is_main=learner.rank == 0)
    finally:
        learner.close()
    return paths


def _worker(rank, port, config, out, root):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2,
                            timeout=datetime.timedelta(seconds=COLLECTIVE_TIMEOUT))
    try:
        a = run_phases(config)
        if rank == 0:  # as training does: rank 0 writes the checkpoint, every rank reads it
            torch.save(a, out)
        dist.barrier()
        b = run_phases(config, torch.load(out, weights_only=False)["state"])
        train_once(config, root)
        if rank == 0:
            torch.save({"a": a, "b": b}, out)
    finally:
        dist.destroy_process_group()


def assert_close_states(actual, expected):
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(actual[key], value, rtol=1e-4, atol=1e-5, msg=key)


def assert_close_optimizers(actual, expected):
    assert actual["param_groups"] == expected["param_groups"]
    assert actual["state"].keys() == expected["state"].keys()
    for index, moments in expected["state"].items():
        for name, value in moments.items():
            torch.testing.assert_close(actual["state"][index][name], value, rtol=1e-4, atol=1e-6,
                                       msg=f"{index}/{name}")


def assert_close_losses(actual, expected):
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


CASES = {
    "tiny-t5": {"model": "tiny-t5"},
    "tiny-gpt2-lora": {"model": "tiny-gpt2", "adapter": AdapterConfig(r=4)},
}


@pytest.fixture(scope="module", params=list(CASES))
def runs(request, models_dir, tmp_path_factory):
    """The two-process FSDP phases and the same phases in one process."""
    config = run_config(models_dir, **CASES[request.param])
    LLMPPOLearner(dataclasses.replace(config, data_parallel="ddp")).close()  # build the model once
    root = tmp_path_factory.mktemp("fsdp")
    mp.spawn(_worker, args=(_free_port(), config, str(root / "phases.pt"), str(root / "fsdp")),
             nprocs=2)
    fsdp = torch.load(root / "phases.pt", weights_only=False)
    fsdp["train"] = RunPaths.for_run(root / "fsdp" / "results", root / "fsdp" / "work",
                                     config.experiment, config.agent, config.seed)
    single_a = run_phases(config)
    single_b = run_phases(config, fsdp["a"]["state"])  # the FSDP checkpoint, in one process
    single_a["train"] = train_once(config, root / "single")
    return fsdp, single_a, single_b


def test_an_fsdp_update_equals_the_single_process_update(runs):
    fsdp, single, _ = runs
    assert fsdp["b"]["sharded"]
    assert_close_states(fsdp["a"]["state"]["policy"], single["state"]["policy"])
    assert_close_losses(fsdp["a"]["losses"], single["losses"])
    assert_close_optimizers(fsdp["a"]["state"]["optimizer"], single["state"]["optimizer"])


def test_an_fsdp_checkpoint_is_the_single_process_one_and_resumes_exactly(runs):
    """Written under FSDP, it has the single-process keys and format; restored under FSDP and
    gathered again it is bit for bit the same; one process continues from it as FSDP does."""
    fsdp, single_a, single_b = runs
    written, reloaded = fsdp["a"]["state"], fsdp["b"]["reloaded"]
    assert written["policy"].keys() == single_a["state"]["policy"].keys()
    for key, value in written["policy"].items():
        assert torch.equal(reloaded["policy"][key], value), key
    assert reloaded["optimizer"]["param_groups"] == written["optimizer"]["param_groups"]
    for index, moments in written["optimizer"]["state"].items():
        for name, value in moments.items():
            assert torch.equal(reloaded["optimizer"]["state"][index][name], value), (index, name)
    for key, value in written["policy"].items():  # the one process restored it exactly too
        assert torch.equal(single_b["reloaded"]["policy"][key], value), key
    assert_close_states(fsdp["b"]["state"]["policy"], single_b["state"]["policy"])
    assert_close_optimizers(fsdp["b"]["state"]["optimizer"], single_b["state"]["optimizer"])
    assert_close_losses(fsdp["b"]["losses"], single_b["losses"])


def test_acting_under_fsdp_samples_what_one_process_samples(runs):
    """Same prompts, same actions from rank 0's generator, logprobs and values within float
    tolerance; the monitoring rows too."""
    fsdp, _, single = runs
    sharded, alone = fsdp["b"]["rollout"], single["rollout"]
    assert sharded.prompts == alone.prompts
    assert torch.equal(sharded.actions, alone.actions)
    torch.testing.assert_close(sharded.logprobs, alone.logprobs, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(sharded.values, alone.values, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(sharded.advantages, alone.advantages, rtol=1e-4, atol=1e-5)
    assert len(fsdp["b"]["rows"]) == len(single["rows"]) > 0
    for row, expected in zip(fsdp["b"]["rows"], single["rows"]):
        assert row["probability"] == pytest.approx(expected["probability"], rel=1e-4, abs=1e-6)


def test_run_json_records_the_engine_each_segment_ran(runs):
    """run.json's segments name the engine beside the world size (issue 22: what a job used)."""
    fsdp, single, _ = runs
    segment = json.loads(fsdp["train"].run_json.read_text())["segments"][0]
    assert (segment["world_size"], segment["data_parallel"]) == (2, "fsdp")
    segment = json.loads(single["train"].run_json.read_text())["segments"][0]
    assert (segment["world_size"], segment["data_parallel"]) == (1, None)


def test_one_process_ignores_the_engine(models_dir):
    learner = LLMPPOLearner(run_config(models_dir))
    try:
        assert not learner.sharded and not is_sharded(learner.engine)
    finally:
        learner.close()


def test_an_unknown_engine_is_one_line_naming_the_key_and_choices(models_dir, tmp_path):
    with pytest.raises(ConfigError) as error:
        run_config(models_dir, engine="zero3")
    message = str(error.value)
    assert "\n" not in message and "data_parallel" in message and "ddp, fsdp" in message
    preset = (ROOT / "workflows" / "config" / "ci.yaml").read_text()
    path = tmp_path / "preset.yaml"
    path.write_text(preset.replace("training:\n", "training:\n  data_parallel: zero3\n", 1))
    with pytest.raises(ConfigError, match=r"training/data_parallel.*'ddp', 'fsdp'"):
        load_preset(path)


def test_training_under_fsdp_writes_what_one_process_writes(runs):
    """``train()`` gathers the state on every rank and rank 0 writes: the checkpoint and the logs
    of one update equal one process's within tolerance."""
    fsdp, single, _ = runs
    sharded, alone = (torch.load(r["train"].checkpoint, weights_only=False) for r in (fsdp, single))
    assert_close_states(sharded["learner"]["policy"], alone["learner"]["policy"])
    assert_close_optimizers(sharded["learner"]["optimizer"], alone["learner"]["optimizer"])
    logs = [pd.read_csv(r["train"].train_log) for r in (fsdp, single)]
    pd.testing.assert_frame_equal(logs[0][["frames", "episodes", "success_rate"]],
                                  logs[1][["frames", "episodes", "success_rate"]])
    for column in ("loss", "policy_loss", "value_loss", "entropy"):
        assert logs[0][column].tolist() == pytest.approx(logs[1][column].tolist(), rel=1e-4, abs=1e-5)
    rows = [pd.read_csv(r["train"].policy_log)["probability"] for r in (fsdp, single)]
    assert rows[0].tolist() == pytest.approx(rows[1].tolist(), rel=1e-4, abs=1e-6)


def test_a_checkpoint_resumes_under_the_other_engine(models_dir):
    """The engine is not a setting that sets a checkpoint aside: both write the same state."""
    ddp, fsdp = (run_config(models_dir, engine=e).to_dict() for e in ("ddp", "fsdp"))
    assert changed_settings(ddp, fsdp) == []
    assert changed_settings(ddp, {**fsdp, "precision": "bf16"}) == ["precision"]
