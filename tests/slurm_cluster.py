"""The SLURM profile against a real SLURM: a one-node cluster started on this machine.

workflows/slurm/local_cluster.sh installs Debian's slurmctld/slurmd/slurm-client/munge when
absent (apt-get), starts munged, slurmctld and slurmd on loopback, and stops them again. The
ci preset then runs through workflows/profiles/slurm (with the test cluster's workflow
profile workflows/slurm/profile: no GPUs, small requests, job status through squeue since
there is no accounting database). Checks: every non-local job went through sbatch (slurmctld
log, `scontrol show job`: completed, with the rule in its comment), and the result files equal
those of the same preset run locally (timing columns aside).

Only a slice of the ci preset goes through the cluster (SLURM_SLICE): every rule that runs
on the cluster still runs there, at a third of the preset's jobs. The slurm executor backs
off between status checks (10 s more after each check that finds nothing finished), so each
job costs tens of seconds of waiting on top of its work; the whole preset took 466 s of CI.

Needs root and apt-get (CI has both); skipped otherwise, or when this machine already has a
SLURM configuration of its own.

The test is collected through tests/test_workflow.py, which imports it: under xdist
(`pytest -n 2 --dist loadfile`) each test file goes to one worker, so the local ci run it
compares against is built once, on the worker that also runs the other pipeline tests.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.test_workflow import (  # noqa: F401  (fixtures used by name)
    REPORT_RULE,
    REPO,
    checkout,
    ci_local_run,
    copy_checkout,
    dry_run,
    job_env,
    models_dir,
    result_tables,
    snakemake,
)

SCRIPT = REPO / "workflows" / "slurm" / "local_cluster.sh"
#: The slice of the ci preset run through SLURM (--config overrides): GoToLocal's training
#: (LLM, baseline and reference agents), behavioural cloning from it, and one test. Every
#: rule that the profile sends to the cluster has jobs in it (checked below).
SLICE_EXPERIMENTS = ("gotolocal", "bc")
SLICE_TESTS = {"gotolocal": ("no_change",)}  # bc keeps the preset's tests
SLURM_SLICE = (f"experiments=[{','.join(SLICE_EXPERIMENTS)}]",
               "tests={" + ", ".join(f"{e}: [{','.join(t)}]" for e, t in SLICE_TESTS.items()) + "}")
CLUSTER_RULES = {"train_llm", "train_baseline", "train_bc", "register_reference",
                 "evaluate_llm", "evaluate_baseline"}
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
BINARIES = ("slurmctld", "slurmd", "sbatch", "munged")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cluster_script(command: str, env: dict, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), command], env=env, text=True, capture_output=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A running one-node cluster: (environment for Snakemake, its state folder)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: slurmd starts jobs as their user and slurm comes from apt-get")
    if not all(shutil.which(b) for b in BINARIES) and shutil.which("apt-get") is None:
        pytest.skip("slurm/munge are not installed and apt-get is unavailable to install them")
    if SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink():
        pytest.skip(f"{SYSTEM_CONF} exists: this machine has a SLURM setup of its own")
    state = tmp_path_factory.mktemp("slurm")
    ctld_port = free_port()
    node_port = free_port()
    while node_port == ctld_port:
        node_port = free_port()
    env = job_env(GLAM_SLURM_DIR=str(state), GLAM_SLURM_CTLD_PORT=str(ctld_port),
                  GLAM_SLURM_NODE_PORT=str(node_port))
    installed = cluster_script("install", env, timeout=1500)
    assert installed.returncode == 0, f"installing slurm failed:\n{installed.stderr[-4000:]}"
    try:
        started = cluster_script("start", env, timeout=300)
        assert started.returncode == 0, f"starting the cluster failed:\n{started.stderr[-4000:]}"
        env["SLURM_CONF"] = str(state / "slurm.conf")
        yield env, state
    finally:
        stopped = cluster_script("stop", env, timeout=300)
        print(stopped.stderr)
        assert not SYSTEM_CONF.is_symlink() or not str(os.readlink(SYSTEM_CONF)).startswith(
            str(state)), "stop left the system config link behind"


def show_job(jobid: str, env: dict) -> dict[str, str]:
    """`scontrol show job -o` as a dict (Comment holds the rule and its wildcards)."""
    line = subprocess.run(["scontrol", "show", "job", "-o", jobid], env=env, text=True,
                          capture_output=True, timeout=30, check=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S*)", line))
    return fields


@pytest.mark.slow
def test_ci_preset_through_the_slurm_profile_matches_a_local_run(slurm_cluster, ci_local_run,
                                                                tmp_path):
    env, state = slurm_cluster
    clone = copy_checkout(tmp_path / "glam-bench")
    args = ["--profile", "workflows/profiles/slurm", "--workflow-profile",
            "workflows/slurm/profile", "--configfile", "workflows/config/ci.yaml",
            "--config", f"models_dir={ci_local_run['models']}", *SLURM_SLICE]
    counts = dry_run(*args, cwd=clone)
    remote = Counter({rule: n for rule, n in counts.items() if not REPORT_RULE.match(rule)})
    assert set(remote) == CLUSTER_RULES

    result = snakemake(*args, cwd=clone, env=env, timeout=2400)
    output = result.stdout + result.stderr

    # every non-local job was one sbatch submission, seen by slurmctld, completed
    submitted = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output)
    slurm_ids = [jobid for _, jobid in submitted]
    assert len(slurm_ids) == len(set(slurm_ids)) == sum(remote.values()), output[-3000:]
    controller_log = (state / "log" / "slurmctld.log").read_text(errors="replace")
    rules = Counter()
    for jobid in slurm_ids:
        assert f"_slurm_rpc_submit_batch_job: JobId={jobid} " in controller_log, jobid
        job = show_job(jobid, env)
        assert job.get("JobState") == "COMPLETED", job
        match = re.match(r"rule_(.+?)_wildcards_", job.get("Comment", ""))
        assert match, job
        rules[match.group(1)] += 1
    assert rules == remote  # and no report job: those ran on this machine (localrule)

    # the same results as the local run of the whole preset, timing columns aside
    local = result_tables(ci_local_run["results"])
    cluster = result_tables(clone / "work" / "ci" / "results")
    assert sorted(cluster) == sorted(name for name in local if in_slice(name))
    for name in cluster:
        assert cluster[name] == local[name], name
    drawn = {png.name for png in (clone / "work" / "ci" / "paper_figures").glob("*.png")}
    assert drawn == {f"{rule[len('draw_'):]}.png" for rule in counts
                     if rule.startswith("draw_") and rule != "draw_tables"}


def in_slice(result_file: str) -> bool:
    """Whether a result file of the whole ci preset belongs to SLURM_SLICE's runs."""
    _, experiment, *_, folder, name = result_file.split("/")  # runs/<exp>/<agent>/seed-<n>/...
    if experiment not in SLICE_EXPERIMENTS:
        return False
    tests = SLICE_TESTS.get(experiment)
    return folder != "tests" or tests is None or name.removesuffix(".csv") in tests
