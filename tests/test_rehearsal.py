"""The dress rehearsal of issue 22: the paper preset, only its scale shrunk, end to end.

``workflows/config/paper.yaml`` as it is (every fidelity and protocol switch, its
``experiment_training``, ``agent_training`` and per-experiment ``resources``) with only
its scale changed (:func:`rehearsal_preset`: tiny models, a few frames, updates and test
episodes, one seed, two GPUs per LLM training job) and a slice of its grid that still has
a job of every cluster rule and both data-parallel engines (:data:`SLICE`):

* GoToLocal: GFlan-T5 (``train_llm``, two torchrun ranks, ``ddp``), Symbolic-PPO
  (``train_baseline``), the random agent (``register_reference``), each evaluated on the
  French test (``evaluate_llm``, ``evaluate_baseline``; French goal and candidates);
* bc: BC from the BabyAI bot (``train_bc``, ``evaluate_llm``);
* size-xl: GFlan-T5 of model size xl, which paper.yaml shards (``fsdp``), with its own
  per-experiment resources.

Two runs of that preset:

1. the local profile (``--resources gpu=2``): every run's ``run.json`` config is the
   config a hand run of the preset file gets (``resolve_run``, the whole dict), each LLM
   run trained over two ranks with the engine the preset names, every planned file exists;
2. the SLURM profile against stub SLURM commands (:data:`STUBS`, first on PATH): ``sbatch``
   records its argument line and runs the job at once, ``srun`` runs its command,
   ``sacct``/``squeue`` report what ``sbatch`` recorded. Every job went through one
   ``sbatch`` that asks what ``Plan.job_resources`` says (partition, ``--mem``, ``-t``,
   ``--gpus`` only with GPUs, any ``slurm_extra`` verbatim) and what the job used: the GPUs
   asked are the ranks its run.json records, and the jobs of agents without a language
   model ask none and go to the CPU partition. This machine has no GPU: ``device: auto``
   resolves to the CPU and torchrun starts its ranks with gloo, as the plan's launcher
   does for any job with more than one GPU.

The captured sbatch lines are written to ``<tmp>/sbatch.txt`` and, when
``GLAM_BENCH_REHEARSAL_OUT`` names a file, copied there (with each ``--wrap`` command
shortened to its target job), for closing notes:

    GLAM_BENCH_REHEARSAL_OUT=/tmp/sbatch.txt python -m pytest tests/test_rehearsal.py

About 3.5 minutes on 2 cores (local profile ~75 s, SLURM profile ~130 s: each SLURM job
starts Snakemake twice more, the plugin's job step and srun's).
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest
import yaml

from glam_bench.paper import study
from glam_bench.pipeline.plan import Plan
from glam_bench.pipeline.preset_checks import complete_preset, load_yaml_strict
from glam_bench.runtime.config import resolve_run, validate_preset
from tests.test_workflow import REPO, copy_checkout, job_env, snakemake

PAPER = REPO / "workflows" / "config" / "paper.yaml"
#: Where the captured sbatch lines are copied when set (a file path).
OUT_VARIABLE = "GLAM_BENCH_REHEARSAL_OUT"
#: GPUs of an LLM training job in the rehearsal: two ranks, on CPUs.
RANKS = 2

#: The slice of paper.yaml's grid (its selection keys: experiments, agents, tests).
SLICE = {
    "experiments": ["gotolocal", "bc", "size-xl"],
    "agents": ["gflan", "symbolic-ppo", "random", "bc-bot"],
    "tests": {"gotolocal": ["french"], "bc": ["no_change"]},
}
#: The rules the cluster runs; the rehearsal has jobs of each.
CLUSTER_RULES = {"train_llm", "train_baseline", "train_bc", "register_reference",
                 "evaluate_llm", "evaluate_baseline"}


def rehearsal_preset(root: Path, models: Path) -> dict:
    """paper.yaml with its scale shrunk, its grid sliced (:data:`SLICE`), its folders under
    ``root``; every other key as paper.yaml has it."""
    preset = load_yaml_strict(PAPER)
    preset.update(seeds=[1], work_dir=f"{root}/work", results_dir=f"{root}/work/results",
                  figures_dir=f"{root}/figures", models_dir=str(models), **SLICE)
    training = preset["training"]
    training.update(model="tiny-t5", num_envs=2, frames_per_env=4, total_frames=8)
    training["ppo"].update(minibatch_size=8, micro_batch_size=4)  # paper: 64 in micro-batches of 32
    training["bc"].update(transitions=32, batch_size=8, eval_transitions=8)
    # Symbolic-PPO: frames_per_env stays a multiple of its recurrence (20, §B.6)
    preset["agent_training"]["symbolic-ppo"].update(num_envs=2, frames_per_env=20)
    preset["model_sizes"] = {"small": "tiny-t5-small", "xl": "tiny-t5-xl"}
    preset["frame_budgets"] = {"gotolocal": 8, "pretraining": 8}  # one update of each learner
    resources = preset["resources"]
    resources["train_llm"] = {"gpus": RANKS}
    resources["experiments"]["size-xl"]["train_llm"]["gpus"] = RANKS
    preset["evaluation"].update(episodes=4, num_envs=2)
    return preset


def write_rehearsal_preset(root: Path, models: Path) -> Path:
    path = root / "rehearsal.yaml"
    path.write_text(yaml.safe_dump(rehearsal_preset(root, models), sort_keys=False),
                    encoding="utf-8")
    return path


def pipeline_plan(preset_file: Path) -> Plan:
    """The plan Snakemake schedules: the preset file completed as the Snakefile does."""
    return Plan(complete_preset(load_yaml_strict(preset_file), "rehearsal"))


def hand_config(preset_file: Path, run: tuple[str, str, int]) -> dict:
    """A run's config as a hand run of the preset file gets it (`glam-bench train --config`):
    the file, schema-checked with nothing filled in, resolved by resolve_run; JSON-normalised
    as run.json stores it."""
    preset = validate_preset(load_yaml_strict(preset_file), "rehearsal")
    return json.loads(json.dumps(resolve_run(preset, *run).to_dict()))


def run_json(plan: Plan, run: tuple[str, str, int]) -> dict:
    return json.loads(Path(plan.run_file(*run, "run.json")).read_text(encoding="utf-8"))


def llm_free(agent: str) -> bool:
    """Agents that act without a language model: DRRN, Symbolic-PPO, random, bot (CPU jobs)."""
    return study.AGENTS_BY_NAME[agent].llm is None


# --- the stubs ------------------------------------------------------------------------------

#: The SLURM commands the slurm executor plugin (and its job-step plugin) calls, as Python
#: scripts. State lives in $GLAM_STUB_SLURM: sbatch.txt (one argument line per call),
#: srun.txt (job id, srun's options), jobs.txt (id|name|state), last_id.
STUBS = {
    "sbatch": '''
import fcntl, os, re, shlex, subprocess, sys
from pathlib import Path

state = Path(os.environ["GLAM_STUB_SLURM"])
args = sys.argv[1:]
with open(state / "lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    last = state / "last_id"
    jobid = int(last.read_text()) + 1 if last.exists() else 1001
    last.write_text(str(jobid))
    with open(state / "sbatch.txt", "a") as log:
        log.write(shlex.join(args) + "\\n")
options, wrap = {}, None
for i, arg in enumerate(args):
    if arg.startswith("--wrap="):
        wrap = arg[len("--wrap="):]
    elif arg in ("--job-name", "--output", "-D"):
        options[arg] = args[i + 1]
if wrap is None:
    sys.exit("sbatch stub: only --wrap jobs")
# What SLURM sets in a job; no GPU variable: this machine has no GPU to hand out.
env = dict(os.environ, SLURM_JOB_ID=str(jobid), SLURM_JOBID=str(jobid),
           SLURM_JOB_NAME=options.get("--job-name", ""))
output = options.get("--output", os.devnull).replace("%j", str(jobid))
with open(output, "w") as out:
    code = subprocess.run(["/bin/sh", "-c", wrap], cwd=options.get("-D"), env=env,
                          stdout=out, stderr=subprocess.STDOUT).returncode
with open(state / "lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    with open(state / "jobs.txt", "a") as jobs:
        name = options.get("--job-name", "")
        jobs.write(f"{jobid}|{name}|{'COMPLETED' if code == 0 else 'FAILED'}\\n")
print(jobid)
''',
    "srun": '''
import os, shlex, sys
from pathlib import Path

args = sys.argv[1:]
start = next(i for i, arg in enumerate(args) if not arg.startswith("-"))
with open(Path(os.environ["GLAM_STUB_SLURM"]) / "srun.txt", "a") as log:
    log.write(f"{os.environ.get('SLURM_JOB_ID')}|{shlex.join(args[:start])}\\n")
os.execvp(args[start], args[start:])
''',
    # sacct: the status query (--name <run id>); a failed job's reasons (-j) and the
    # account guess (-nu) get nothing
    "sacct": '''
import os, sys
from pathlib import Path

args = sys.argv[1:]
if "--name" in args:
    name = args[args.index("--name") + 1]
    jobs = Path(os.environ["GLAM_STUB_SLURM"]) / "jobs.txt"
    for line in (jobs.read_text().splitlines() if jobs.exists() else []):
        jobid, job_name, state = line.split("|")
        if job_name == name:
            print(f"{jobid}|{state}")
''',
    "sinfo": '''
print("PARTITION")
print("cpu*")
print("gpu")
''',
    "scontrol": "",
    "scancel": "",
    "sshare": "",
    "sacctmgr": "",
}
STUBS["squeue"] = STUBS["sacct"]


def install_stubs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, body in STUBS.items():
        path = folder / name
        path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        path.chmod(0o755)
    return folder


def job_step(line: str) -> list[str]:
    """The command an sbatch line wraps (Snakemake's job step), as arguments."""
    wrap = next(arg for arg in shlex.split(line) if arg.startswith("--wrap="))
    return shlex.split(wrap[len("--wrap="):])


def target_job(line: str) -> tuple[str, dict[str, str]]:
    """(rule, wildcards) of the Snakemake job an sbatch line runs (its --target-jobs)."""
    step = job_step(line)
    rule, _, wildcards = step[step.index("--target-jobs") + 1].partition(":")
    return rule, dict(pair.split("=", 1) for pair in wildcards.split(",") if pair)


def job_threads(line: str, rule: str) -> int:
    """The threads Snakemake gives the job (the profile's --set-threads, else the rule's 1)."""
    step = job_step(line)
    if "--set-threads" not in step:
        return 1
    values = []
    for arg in step[step.index("--set-threads") + 1:]:
        if arg.startswith("--"):
            break
        values.append(base64.b64decode(arg.removeprefix("base64//")).decode())
    threads = dict(value.split("=", 1) for value in values)
    return int(threads.get(rule, 1))


def sbatch_options(line: str) -> dict[str, str]:
    """The options of an sbatch line other than --wrap, as {option: value} (value '' for flags)."""
    args = shlex.split(line)
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--wrap="):
            pass
        elif "=" in arg and arg.startswith("--"):
            key, value = arg.split("=", 1)
            options[key] = value
        elif i + 1 < len(args) and not args[i + 1].startswith("-"):
            options[arg] = args[i + 1]
            i += 1
        else:
            options[arg] = ""
        i += 1
    return options


def shortened(line: str) -> str:
    """An sbatch line with its --wrap command (Snakemake's job step) cut to its target job."""
    rule, wildcards = target_job(line)
    target = f"{rule}:{','.join(f'{k}={v}' for k, v in wildcards.items())}"
    args = [arg for arg in shlex.split(line) if not arg.startswith("--wrap=")]
    return f"sbatch {shlex.join(args)} --wrap='<snakemake job step of {target}>'"


# --- the two runs -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rehearsal_root(tmp_path_factory) -> Path:
    """A clone of the working tree and the models folder both runs share."""
    root = tmp_path_factory.mktemp("rehearsal")
    copy_checkout(root / "glam-bench")
    (root / "models").mkdir()
    return root


def timed_snakemake(*args: str, cwd: Path, env: dict) -> float:
    began = time.perf_counter()
    snakemake(*args, "train", "evaluate", cwd=cwd, env=env, timeout=900)
    return time.perf_counter() - began


@pytest.fixture(scope="module")
def local_rehearsal(rehearsal_root):
    """The preset through the local profile, two GPUs' worth of ranks: (preset file, plan)."""
    root = rehearsal_root / "local"
    root.mkdir()
    preset = write_rehearsal_preset(root, rehearsal_root / "models")
    seconds = timed_snakemake("--profile", "workflows/profiles/local", "--configfile", str(preset),
                              "--resources", f"gpu={RANKS}", "--cores", "2",
                              cwd=rehearsal_root / "glam-bench", env=job_env())
    print(f"rehearsal, local profile: {seconds:.0f} s")
    return preset, pipeline_plan(preset)


@pytest.fixture(scope="module")
def slurm_rehearsal(rehearsal_root, tmp_path_factory):
    """The preset through the SLURM profile against the stubs: (preset file, plan, sbatch
    lines, srun lines by job id)."""
    root = rehearsal_root / "slurm"
    root.mkdir()
    preset = write_rehearsal_preset(root, rehearsal_root / "models")
    stubs = install_stubs(root / "bin")
    state = root / "state"
    state.mkdir()
    env = job_env(GLAM_STUB_SLURM=str(state))
    env["PATH"] = f"{stubs}{os.pathsep}{env['PATH']}"
    for variable in [v for v in env if v.startswith(("SLURM_", "SBATCH_", "SRUN_"))]:
        del env[variable]
    seconds = timed_snakemake("--profile", "workflows/profiles/slurm", "--configfile", str(preset),
                              "--slurm-init-seconds-before-status-checks", "1",
                              cwd=rehearsal_root / "glam-bench", env=env)
    print(f"rehearsal, SLURM profile (stubs): {seconds:.0f} s")
    lines = (state / "sbatch.txt").read_text(encoding="utf-8").splitlines()
    srun = dict(line.split("|", 1) for line in
                (state / "srun.txt").read_text(encoding="utf-8").splitlines())
    record = tmp_path_factory.getbasetemp() / "rehearsal-sbatch.txt"
    text = "".join(f"{shortened(line)}\n" for line in lines)
    record.write_text(text, encoding="utf-8")
    if os.environ.get(OUT_VARIABLE):
        Path(os.environ[OUT_VARIABLE]).write_text(text, encoding="utf-8")
    print(f"rehearsal: {len(lines)} sbatch lines in {record}")
    return preset, pipeline_plan(preset), lines, srun


# --- the checks -------------------------------------------------------------------------------


def test_the_slice_has_every_cluster_rule_and_both_engines(tmp_path):
    """What the rehearsal covers, from the plan alone (fast)."""
    preset = write_rehearsal_preset(tmp_path, tmp_path / "models")
    plan = pipeline_plan(preset)
    assert {job.rule for job in plan.jobs()} == CLUSTER_RULES
    engines = {plan.run_config(*run).data_parallel for run in plan.runs
               if plan.train_job(*run).rule == "train_llm"}
    assert engines == {"ddp", "fsdp"}
    assert all(plan.train_job(*run).resources["gpu"] == RANKS for run in plan.runs
               if plan.train_job(*run).rule == "train_llm")
    # only the scale changed: every switch of paper.yaml's training block is the same
    paper, shrunk = load_yaml_strict(PAPER), load_yaml_strict(preset)
    scale = {"model", "num_envs", "frames_per_env", "total_frames", "ppo", "bc"}
    assert {k: v for k, v in paper["training"].items() if k not in scale} == \
        {k: v for k, v in shrunk["training"].items() if k not in scale}
    assert shrunk["experiment_training"] == paper["experiment_training"]
    assert shrunk["evaluation"]["counting"] == paper["evaluation"]["counting"]


@pytest.mark.slow
def test_local_profile_runs_the_hand_resolved_configs_over_two_ranks(local_rehearsal):
    preset, plan = local_rehearsal
    for job in plan.jobs():
        for output in job.outputs:
            assert Path(output).exists(), f"{job.rule} did not write {output}"
    for run in plan.runs:
        recorded = run_json(plan, run)
        assert recorded["config"] == hand_config(preset, run), run
        check_ranks(plan, run, recorded, plan.train_job(*run).resources["gpu"])


def check_ranks(plan: Plan, run: tuple[str, str, int], recorded: dict, gpus: int) -> None:
    """The run used the GPUs its job had: one rank per GPU under the preset's engine for LLM
    training, one process otherwise; none recorded for agents that are only registered."""
    if plan.train_job(*run).rule == "register_reference":
        assert recorded["segments"] == [] and gpus == 0, run
        return
    segment = recorded["segments"][-1]
    if plan.train_job(*run).rule == "train_llm":
        assert (segment["world_size"], segment["data_parallel"]) == \
            (RANKS, recorded["config"]["data_parallel"]), run
        assert gpus == RANKS, run
    else:
        assert (segment["world_size"], segment["data_parallel"]) == (1, None), run
        assert gpus <= 1, run
    assert segment["device"] == "cpu"  # device auto on a machine without GPUs


@pytest.mark.slow
def test_slurm_profile_asks_each_job_what_the_plan_says_and_the_job_uses(slurm_rehearsal):
    preset, plan, lines, srun = slurm_rehearsal
    planned = {(job.rule, job.experiment, job.agent, str(job.seed), job.test or ""): job
               for job in plan.jobs()}
    asked = {}
    for line in lines:
        rule, wildcards = target_job(line)
        key = (rule, wildcards["experiment"], wildcards["agent"], wildcards["seed"],
               wildcards.get("test", ""))
        assert key in planned and key not in asked, f"unplanned or repeated job: {key}"
        asked[key] = line
    assert sorted(asked) == sorted(planned)  # every job went through sbatch once

    cpu_partition = "cpu"
    for key, line in asked.items():
        job, options, shown = planned[key], sbatch_options(line), shortened(line)
        resources = job.resources
        # what the plan says
        assert options["-p"] == resources["slurm_partition"], (key, shown)
        assert options["--mem"] == str(resources["mem_mb"]), (key, shown)
        assert options["-t"] == str(resources["runtime"]), (key, shown)
        assert options.get("--gpus") == (str(resources["gpu"]) if resources["gpu"] else None), \
            (key, shown)
        if resources.get("slurm_extra"):
            assert f" {resources['slurm_extra']} " in shown, (key, shown)
        # what the job uses: its GPUs, its threads
        gpus = int(options.get("--gpus", 0))
        assert int(options["--cpus-per-task"]) >= job_threads(line, job.rule), (key, shown)
        if llm_free(job.agent):
            assert gpus == 0 and options["-p"] == cpu_partition, (key, shown)
        if job.test is None:
            recorded = run_json(plan, (job.experiment, job.agent, job.seed))
            assert recorded["config"] == hand_config(preset, (job.experiment, job.agent,
                                                              job.seed)), key
            check_ranks(plan, (job.experiment, job.agent, job.seed), recorded, gpus)
            if recorded["segments"]:
                assert recorded["segments"][-1]["slurm_job_id"] in srun, key
        else:
            assert gpus <= 1, (key, shown)  # an evaluation runs in one process
            assert Path(job.outputs[0]).exists(), key
    # each job step asked the GPUs of its allocation
    for line_number, line in enumerate(lines):
        jobid = str(1001 + line_number)
        step = srun[jobid]
        gpus = sbatch_options(line).get("--gpus")
        assert (f"--gpus={gpus}" in step) if gpus else ("--gpus" not in step), (jobid, step)
