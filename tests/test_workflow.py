"""The Snakemake pipeline: lint, the dry-run DAG of every preset, config errors, the committed
result cache (figures without training), a run killed and resumed, a missing model, and the
ci preset end to end (slow).

Everything runs Snakemake in a subprocess, as a user would, with every folder of the run in
a temporary directory. Tests that need a clean clone copy the checkout (tracked and untracked
non-ignored files) into a temporary folder.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import yaml

from glam_bench.runtime.results import TIMING_COLUMNS
from glam_bench.pipeline.cache import CacheError, refresh_cache, verify_manifest, write_manifest
from glam_bench.paper import study
from glam_bench.runtime.config import study_grid
from glam_bench.paper.study import LLM_AGENTS, REFERENCE_AGENTS
from glam_bench.report import items as report_items

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "workflows" / "config"
#: Rules that never go to a cluster (report, aggregation, cache).
REPORT_RULE = re.compile(
    r"^(all|train|evaluate|figures|draw_.+|fig_.+|verify_cache|refresh_cache)$")


# --- helpers ----------------------------------------------------------------------------------


def job_env(**extra: str) -> dict[str, str]:
    """This interpreter's folder first on PATH: the jobs' `python -m glam_bench.cli` use it."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.update(extra)
    return env


def snakemake(*args: str, cwd: Path, timeout: float = 900, env: dict | None = None,
              check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, text=True,
                            capture_output=True, timeout=timeout, env=env or job_env())
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count} (empty: nothing to be done)."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Job stats:"):
            for row in lines[i + 3:]:
                parts = row.split()
                if len(parts) != 2 or parts[0] == "total":
                    break
                counts[parts[0]] = int(parts[1])
            break
    return counts


def dry_run(*args: str, cwd: Path) -> dict[str, int]:
    result = snakemake(*args, "-n", "--quiet", "rules", cwd=cwd)
    return job_counts(result.stdout + result.stderr)


def folder_config(root: Path, models: Path | None = None) -> list[str]:
    """--config values that put every folder of a run under ``root``."""
    values = [f"work_dir={root}/work", f"results_dir={root}/work/results",
              f"figures_dir={root}/figures"]
    if models is not None:
        values.append(f"models_dir={models}")
    return ["--config", *values]


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_preset(path: Path, preset: dict) -> Path:
    path.write_text(yaml.safe_dump(preset, sort_keys=False), encoding="utf-8")
    return path


def copy_checkout(dest: Path) -> Path:
    """What a clone of the current working tree holds: tracked and untracked, non-ignored files."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
        capture_output=True, check=True).stdout.decode().split("\0")
    for relative in filter(None, listing):
        source = REPO / relative
        if not (source.exists() or source.is_symlink()):
            continue  # deleted in the working tree
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_file():
            shutil.copy2(source, target)
    return dest


def scramble_mtimes(root: Path, rng: random.Random) -> None:
    """Arbitrary timestamps, as a fresh clone has (results newer or older than the code)."""
    now = time.time()
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            stamp = now - rng.uniform(0, 30 * 86400)
            os.utime(path, (stamp, stamp))


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS}
                for row in csv.DictReader(handle)]


def result_tables(results: Path) -> dict[str, list[dict[str, str]]]:
    """Every result CSV under ``results`` without its timing columns, by relative path."""
    return {str(p.relative_to(results)): read_rows(p) for p in sorted(results.rglob("*.csv"))}


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    """A copy of the working tree that Snakemake runs in (keeps .snakemake/ and work/ out of
    the developer's checkout)."""
    return copy_checkout(tmp_path_factory.mktemp("checkout") / "glam-bench")


# --- what the preset says the DAG is -----------------------------------------------------------


#: The training rule of each agent kind of the study.
TRAIN_RULE = {"llm": "train_llm", "baseline": "train_baseline", "bc": "train_bc",
              "reference": "register_reference"}


def expected_jobs(preset: dict) -> dict[str, int]:
    """Jobs per rule of a fresh run of ``preset``, computed from its YAML and the study alone."""
    counts: dict[str, int] = {}

    def add(rule: str, n: int = 1) -> None:
        if n:
            counts[rule] = counts.get(rule, 0) + n

    seeds = len(preset["seeds"])
    available = set()
    for name, spec in study_grid(preset).items():
        for agent in (*spec.agents, *spec.reference_agents):
            add(TRAIN_RULE[study.AGENTS_BY_NAME[agent].kind], seeds)
            llm = study.AGENTS_BY_NAME[agent].llm is not None
            add("evaluate_llm" if llm else "evaluate_baseline", seeds * len(spec.tests))
            available |= {("episodes", name, agent, t) for t in spec.tests}
        available |= {("train_log", name, a, "") for a in spec.agents}
        available |= {("policy_log", name, a, "") for a in spec.agents if a in LLM_AGENTS}
    for item in report_items.FIGURE_ITEMS:
        if all((n.kind, n.experiment, n.agent, n.test) in available
               for n in report_items.item_needs(item)):
            add(f"draw_{item}")
    add("draw_tables")
    add("all")
    return counts


# --- fast checks ------------------------------------------------------------------------------


def test_lint_is_clean(checkout):
    result = snakemake("--lint", cwd=checkout)
    output = result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in output, output
    assert "Lints for" not in output


def stub_models(root: Path, *names: str) -> Path:
    """A models folder where each Hub model looks present (config, tokenizer, weights files):
    the plan's pre-flight check looks at files only."""
    for name in names:
        folder = root / name.split("/")[-1]
        folder.mkdir(parents=True)
        for file in ("config.json", "spiece.model", "model.safetensors"):
            (folder / file).write_text("{}", encoding="utf-8")
    return root


PAPER_MODELS = ("google/flan-t5-large", "google/flan-t5-small", "google/flan-t5-xl")


@pytest.mark.parametrize("name", ["ci", "default", "paper"])
def test_dry_run_lists_every_job_of_the_preset(name, tmp_path, checkout):
    preset = load_yaml(CONFIG_DIR / f"{name}.yaml")
    models = stub_models(tmp_path / "models", *PAPER_MODELS)
    counts = dry_run("--configfile", str(CONFIG_DIR / f"{name}.yaml"),
                     *folder_config(tmp_path, models), cwd=checkout)
    assert counts == expected_jobs(preset)
    # The preset the jobs read keeps the per-agent and per-experiment blocks as written: a
    # schema default copied into them overrode `training` (size-xl got pad_group_size: null).
    written = load_yaml(tmp_path / "work" / "presets" / f"{preset['preset']}.yaml")
    for block in ("training", "agent_training", "experiment_training"):
        assert written.get(block) == preset.get(block), block


def test_default_preset_is_embedded_and_a_configfile_replaces_it(tmp_path, checkout):
    """No --configfile: default.yaml. --configfile ci.yaml: ci's experiments only, not merged."""
    default = dry_run(*folder_config(tmp_path / "default"), cwd=checkout)
    assert default == expected_jobs(load_yaml(CONFIG_DIR / "default.yaml"))
    result = snakemake("-n", "--configfile", str(CONFIG_DIR / "ci.yaml"),
                       *folder_config(tmp_path / "ci"), cwd=checkout)
    ci_experiments = set(load_yaml(CONFIG_DIR / "ci.yaml")["experiments"])
    mentioned = set(re.findall(r"wildcards: experiment=([^,\s]+)", result.stdout))
    assert mentioned == ci_experiments
    written = load_yaml(tmp_path / "ci" / "work" / "presets" / "ci.yaml")
    assert set(written["experiments"]) == ci_experiments and written["preset"] == "ci"


def test_config_overrides_reach_the_preset_file_the_jobs_read(tmp_path, checkout):
    """--config key=value (scalars; Snakemake reads nested values as strings) is validated and
    written, with the schema's defaults, to the preset file every job reads."""
    dry_run("--configfile", str(CONFIG_DIR / "ci.yaml"), *folder_config(tmp_path),
            "preset=ci-renamed", cwd=checkout)
    written = load_yaml(tmp_path / "work" / "presets" / "ci-renamed.yaml")
    assert written["preset"] == "ci-renamed"
    assert written["cached_results_dir"] == "results"  # schema default filled in
    assert written["work_dir"] == f"{tmp_path}/work"


def test_a_nested_config_override_changes_only_its_keys(tmp_path, checkout):
    """`--config 'training={model: X}'` replaced the whole training block, silently resetting
    pad grouping, dropout, monitoring prompts and micro-batches to their defaults."""
    dry_run("--configfile", str(CONFIG_DIR / "ci.yaml"), *folder_config(tmp_path),
            "training={model: tiny-t5-large, ppo: {lr: 0.5}}", cwd=checkout)
    written = load_yaml(tmp_path / "work" / "presets" / "ci.yaml")["training"]
    preset = load_yaml(CONFIG_DIR / "ci.yaml")["training"]
    assert written["model"] == "tiny-t5-large" and written["ppo"]["lr"] == 0.5
    assert {k: v for k, v in written.items() if k not in ("model", "ppo")} == \
        {k: v for k, v in preset.items() if k not in ("model", "ppo")}
    assert {k: v for k, v in written["ppo"].items() if k != "lr"} == \
        {k: v for k, v in preset["ppo"].items() if k != "lr"}


@pytest.mark.parametrize("change, message", [
    (lambda p: p.update(learning_rate=0.1), "learning_rate"),
    (lambda p: p["evaluation"].update(episodes="many"), "evaluation/episodes"),
    (lambda p: p["training"].update(scorer="softmax"), "training/scorer"),
    (lambda p: p["tests"]["mixed"].append("no_such_test"), "no_such_test"),
    (lambda p: p["experiments"].append("no_such_experiment"), "no_such_experiment"),
    (lambda p: p.update(experiments=["mixed", "bc"]), "source_experiment"),
])
def test_a_malformed_preset_stops_before_any_job_naming_the_key(change, message, tmp_path,
                                                                checkout):
    preset = load_yaml(CONFIG_DIR / "ci.yaml")
    change(preset)
    path = write_preset(tmp_path / "broken.yaml", preset)
    result = snakemake("-n", "--configfile", str(path), *folder_config(tmp_path), cwd=checkout,
                       check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "invalid preset" in output and message in output, output[-3000:]
    assert "Job stats" not in output


def test_figures_without_a_cache_says_how_to_build_one(tmp_path, checkout):
    result = snakemake("--cores", "1", "figures", *folder_config(tmp_path),
                       "cached_results_dir=" + str(tmp_path / "none"), cwd=checkout, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no usable cached results" in output and "glam-bench cache refresh" in output


# --- the cache module -------------------------------------------------------------------------


def make_finished_runs(root: Path, preset: str = "default", seeds=(1, 2), episodes: int = 12,
                       updates: int = 6) -> Path:
    """A small synthetic result set in the layout of a finished run (runs/E/A/seed-S/...)."""
    from glam_bench.report.synthetic import write_synthetic_results

    raw = write_synthetic_results(root / "raw", seeds=tuple(seeds), episodes=episodes,
                                  updates=updates, frames_per_update=128, policy_updates=updates,
                                  preset=preset)
    results = root / "results"
    for folder in sorted(raw.glob("*/*/seed_*")):
        experiment, agent, seed = folder.parts[-3], folder.parts[-2], folder.name[len("seed_"):]
        target = results / "runs" / experiment / agent / f"seed-{seed}"
        shutil.copytree(folder, target)
        run = {"config": {"preset": preset, "experiment": experiment, "agent": agent,
                          "seed": int(seed)},
               "environment": {"git_revision": "synthetic"}, "checkpoint": "none"}
        (target / "run.json").write_text(json.dumps(run), encoding="utf-8")
        (target / "done.json").write_text(json.dumps({"updates": updates}), encoding="utf-8")
        (target / "checkpoint.pt").write_bytes(b"never copied")
    return results


def test_cache_refresh_copies_small_files_and_verify_checks_them(tmp_path):
    source = make_finished_runs(tmp_path, seeds=(1,), episodes=4, updates=3)
    cache = tmp_path / "cache"
    (cache / "runs" / "old" / "gone" / "seed-1").mkdir(parents=True)
    (cache / "runs" / "old" / "gone" / "seed-1" / "train_log.csv").write_text("stale")
    (cache / "README.md").write_text("kept")
    manifest_path = refresh_cache(source, cache)
    manifest = json.loads(manifest_path.read_text())
    assert manifest["preset"] == "default" and manifest["run_git_revisions"] == ["synthetic"]
    assert {"git_revision", "date", "machine", "files"} <= set(manifest)
    names = {Path(f).name for f in manifest["files"]}
    assert "checkpoint.pt" not in names and {"run.json", "done.json", "train_log.csv"} <= names
    assert not (cache / "runs" / "old").exists() and (cache / "README.md").exists()
    assert not list(cache.rglob("*.pt"))
    assert verify_manifest(cache)["files"] == manifest["files"]

    victim = next(iter(sorted(cache.rglob("tests/*.csv"))))
    victim.write_text(victim.read_text() + "\n")
    with pytest.raises(CacheError, match=re.escape(str(victim)) + ".*sha256 does not match"):
        verify_manifest(cache)
    victim.unlink()
    with pytest.raises(CacheError, match="missing"):
        verify_manifest(cache)
    write_manifest(cache, "default")
    extra = cache / "runs" / "mixed" / "gflan" / "seed-9" / "train_log.csv"
    extra.parent.mkdir(parents=True)
    extra.write_text("x")
    with pytest.raises(CacheError, match="not listed"):
        verify_manifest(cache)


def test_cache_refresh_refuses_unfinished_runs(tmp_path):
    source = make_finished_runs(tmp_path, seeds=(1,), episodes=2, updates=2)
    next(iter(source.rglob("done.json"))).unlink()
    with pytest.raises(CacheError, match="has not finished"):
        refresh_cache(source, tmp_path / "cache")
    with pytest.raises(CacheError, match="MANIFEST.json not found"):
        verify_manifest(tmp_path / "cache")


# --- figures from the committed cache, in a fresh clone ------------------------------------------


@pytest.fixture(scope="module")
def clone_with_cache(tmp_path_factory):
    """A copy of the checkout whose results/ holds a verified cache of synthetic results."""
    root = tmp_path_factory.mktemp("clone")
    clone = copy_checkout(root / "glam-bench")
    source = make_finished_runs(root / "finished")
    subprocess.run([sys.executable, "-m", "glam_bench.cli", "cache", "refresh", "--from",
                    str(source), "--to", str(clone / "results"), "--preset", "default"],
                   cwd=clone, check=True, capture_output=True, env=job_env())
    shutil.rmtree(clone / "paper_figures", ignore_errors=True)
    scramble_mtimes(clone, random.Random(6))
    return clone


def test_figures_target_runs_only_report_jobs_from_the_cache(clone_with_cache):
    clone = clone_with_cache
    lint = snakemake("--lint", cwd=clone)  # the cached-results rules exist only with a cache
    assert "Congratulations" in lint.stdout + lint.stderr and "Lints for" not in lint.stdout
    counts = dry_run("figures", cwd=clone)
    assert counts == {"verify_cache": 1, "figures": 1}
    cached = dry_run("--config", "use_cached_results=true", cwd=clone)
    assert set(cached) == {"verify_cache", "figures", "all"}
    one = dry_run("fig_q2q3_generalisation", cwd=clone)
    assert one == {"verify_cache": 1, "fig_q2q3_generalisation": 1}
    assert dry_run("fig_generalisation", cwd=clone) == {"verify_cache": 1,
                                                        "fig_generalisation": 1}
    assert dry_run("fig_table_generalisation", cwd=clone) == {"verify_cache": 1,
                                                              "fig_table_generalisation": 1}

    snakemake("--cores", "1", "figures", cwd=clone, timeout=600)
    figures = clone / "paper_figures"
    for item in report_items.FIGURE_ITEMS:
        assert (figures / f"{item}.png").stat().st_size > 0, item
        assert (figures / f"{item}.pdf").exists(), item
    assert (figures / "table_generalisation.md").exists()
    assert (figures / "summary_tests.csv").exists()

    # Newer results, newer code: still nothing to train, nothing to redraw.
    for path in [*(clone / "results").rglob("*"), *(clone / "glam_bench").rglob("*.py")]:
        if path.is_file():
            path.touch()
    assert dry_run("figures", cwd=clone) == {}
    assert dry_run("--config", "use_cached_results=true", cwd=clone) in ({}, {"all": 1})


def pdf_drawing(data: bytes) -> list[bytes]:
    """A PDF's streams, decompressed, with every decimal number rounded to 6 places.

    Matplotlib writes layout coordinates with 10 decimals, and the last of them can differ
    between two runs of the same code (seen on ``appendix_policy_evolution``'s clip boxes,
    ±1e-10 points, or 0 written as -0); everything drawn (text, data, colours, fonts) must
    still be equal.
    """
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            stream = zlib.decompress(match.group(1))
        except zlib.error:
            stream = match.group(1)
        stream = re.sub(rb"-?\d+\.\d+", lambda m: b"%.6f" % (round(float(m.group()), 6) + 0.0),
                        stream)
        streams.append(re.sub(rb"(?<![\d.])-0(?![\d.])", b"0", stream))  # -0 is 0
    return streams


def test_pdf_drawing_ignores_layout_rounding_but_not_content():
    page = b"q 39.92258375 257.2174676562 264.2421267436 149.56734140%d re W n BT (%s) Tj ET"
    def pdf(last_digit, text):
        body = zlib.compress(page % (last_digit, text))
        return b"%PDF-1.4\n1 0 obj\n<< /Length 9 >>\nstream\n" + body + b"\nendstream\nendobj\n"
    assert pdf_drawing(pdf(63, b"Prompt 1")) == pdf_drawing(pdf(62, b"Prompt 1"))
    assert pdf_drawing(b"stream\n" + zlib.compress(b"0 -0 m") + b"\nendstream") == \
        pdf_drawing(b"stream\n" + zlib.compress(b"0 0 m") + b"\nendstream")
    assert pdf_drawing(pdf(63, b"Prompt 1")) != pdf_drawing(pdf(63, b"Prompt 2"))


def test_the_committed_cache_rebuilds_the_committed_figures(tmp_path):
    """results/ holds a full default run; from it alone, a fresh clone redraws paper_figures/."""
    committed = REPO / "paper_figures"
    manifest = json.loads((REPO / "results" / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["preset"] == "default" and manifest["files"]
    clone = copy_checkout(tmp_path / "glam-bench")
    shutil.rmtree(clone / "paper_figures")
    scramble_mtimes(clone, random.Random(11))
    assert dry_run("figures", cwd=clone) == {"verify_cache": 1, "figures": 1}
    snakemake("--cores", "1", "figures", cwd=clone, timeout=600)
    rebuilt = clone / "paper_figures"
    names = sorted(p.name for p in committed.iterdir() if p.is_file())
    assert names and names == sorted(p.name for p in rebuilt.iterdir() if p.is_file())
    for name in names:
        if name.endswith((".csv", ".md", ".tex")):
            assert (rebuilt / name).read_text(encoding="utf-8") == \
                (committed / name).read_text(encoding="utf-8"), name
        elif name.endswith(".pdf"):  # reproducible PDFs (no creation date): what they draw
            assert pdf_drawing((rebuilt / name).read_bytes()) == \
                pdf_drawing((committed / name).read_bytes()), name
        else:
            assert (rebuilt / name).stat().st_size > 0, name


def test_a_damaged_cached_file_stops_figures_before_they_are_touched(clone_with_cache):
    clone = clone_with_cache
    figure = clone / "paper_figures" / "q1_mixed_curves.png"
    if not figure.exists():
        snakemake("--cores", "1", "figures", cwd=clone, timeout=600)
    before = figure.read_bytes()
    victim = sorted((clone / "results" / "runs" / "mixed" / "gflan").rglob("train_log.csv"))[0]
    original = victim.read_bytes()
    try:
        victim.write_bytes(original.replace(b"mixed", b"mixeD", 1))
        result = snakemake("--cores", "1", "figures", "--forcerun", "figures", cwd=clone,
                           check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert str(victim.relative_to(clone)) in output and "sha256 does not match" in output
        assert figure.read_bytes() == before  # the figures job never started
        # with use_cached_results the check happens before the DAG is even built
        result = snakemake("-n", "--config", "use_cached_results=true", cwd=clone, check=False)
        assert result.returncode != 0 and "sha256 does not match" in result.stdout + result.stderr
    finally:
        victim.write_bytes(original)


def test_report_html_has_every_cached_figure_with_its_caption(clone_with_cache, tmp_path):
    clone = clone_with_cache
    if not (clone / "paper_figures" / "q1_mixed_curves.png").exists():
        snakemake("--cores", "1", "figures", cwd=clone, timeout=600)
    report = tmp_path / "report.html"
    snakemake("figures", "--report", str(report), cwd=clone, timeout=600)
    html = report.read_text(encoding="utf-8", errors="replace")
    for item in report_items.FIGURE_ITEMS:
        assert f"{item}.png" in html, item
    assert "generalisation tests" in html and "Q4, online RL" in html


# --- training jobs: resumption and a missing model (slow) ----------------------------------------


def single_run_preset(tmp_path: Path, **training) -> Path:
    """ci.yaml reduced to GoToLocal with ``training`` overrides (tests ask for its gflan run)."""
    preset = load_yaml(CONFIG_DIR / "ci.yaml")
    preset.update(experiments=["gotolocal"], tests={}, experiment_training={"gotolocal": training})
    preset.update(work_dir=str(tmp_path / "work"), results_dir=str(tmp_path / "work" / "results"),
                  figures_dir=str(tmp_path / "figures"))
    return write_preset(tmp_path / "one-run.yaml", preset)


@pytest.mark.slow
def test_a_killed_training_job_resumes_from_its_checkpoint(tmp_path, models_dir, checkout):
    preset = single_run_preset(tmp_path, total_frames=16 * 6)  # 6 updates
    target = tmp_path / "work" / "results" / "runs" / "gotolocal" / "gflan" / "seed-1" / "done.json"
    log = target.parent / "train_log.csv"
    args = ["--cores", "1", "--configfile", str(preset), "--config", f"models_dir={models_dir}",
            "--", str(target)]
    process = subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=checkout,
                               env=job_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and (not log.exists() or len(read_rows(log)) < 3):
            time.sleep(0.2)
        assert log.exists(), "training never wrote its log"
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # Snakemake and its job, as a crash would
        process.wait(timeout=60)
    assert not target.exists()
    before = list(csv.DictReader(log.open()))
    assert 3 <= len(before) < 6
    snakemake("--unlock", *args, cwd=checkout)
    snakemake(*args, cwd=checkout, timeout=600)
    rows = list(csv.DictReader(log.open()))
    assert [int(r["update"]) for r in rows] == list(range(1, 7))
    # Rows written before the kill were kept, not recomputed: a restart would rewrite their
    # wall-clock durations. (The last one may be redone: the kill can fall between a row and
    # its checkpoint.)
    assert [r["duration"] for r in rows[:len(before) - 1]] == \
        [r["duration"] for r in before[:-1]]
    assert json.loads(target.read_text())["updates"] == 6


def test_a_dry_run_without_the_models_stops_before_any_job(tmp_path, checkout):
    """No Flan-T5 on disk: the dry run stops naming each model and the command that fetches
    it (each job would fail in seconds, and a cluster would resubmit it 3 times)."""
    models = stub_models(tmp_path / "models", "google/flan-t5-large")  # small and xl missing
    result = snakemake("-n", "--configfile", str(CONFIG_DIR / "paper.yaml"),
                       *folder_config(tmp_path, models), cwd=checkout, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "models not on this machine" in output, output[-3000:]
    for size in ("small", "xl"):
        assert f"hf download google/flan-t5-{size} --revision " in output
        assert f"--local-dir {models}/flan-t5-{size}`" in output
    assert "flan-t5-large (" not in output and "Job stats" not in output


# --- the ci preset end to end (slow) --------------------------------------------------------

_CI_RUN: dict[str, Path] = {}


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """Tiny models built once per session and shared by every run."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def ci_local_run(tmp_path_factory, models_dir, checkout):
    """The ci preset run locally once per session: {"root", "results", "figures", "seconds"}.

    Shared with tests/slurm_cluster.py (module-level memo: a fixture imported into another
    module gets a second definition)."""
    if not _CI_RUN:
        root = tmp_path_factory.mktemp("ci-local")
        began = time.perf_counter()
        snakemake("--cores", "2", "--configfile", str(CONFIG_DIR / "ci.yaml"),
                  *folder_config(root, models_dir), cwd=checkout, timeout=1800)
        _CI_RUN.update(root=root, checkout=checkout, results=root / "work" / "results",
                       figures=root / "figures", models=models_dir,
                       seconds=time.perf_counter() - began)
    return _CI_RUN


@pytest.mark.slow
def test_ci_preset_runs_end_to_end(ci_local_run):
    preset = load_yaml(CONFIG_DIR / "ci.yaml")
    results, figures = ci_local_run["results"], ci_local_run["figures"]
    for name, spec in study_grid(preset).items():
        for agent in (*spec.agents, *spec.reference_agents):
            run = results / "runs" / name / agent / "seed-1"
            assert (run / "done.json").exists() and (run / "run.json").exists()
            if agent not in REFERENCE_AGENTS:
                assert len(read_rows(run / "train_log.csv")) >= 1
            for test in spec.tests:
                rows = read_rows(run / "tests" / f"{test}.csv")
                assert len(rows) == preset["evaluation"]["episodes"]
    drawn = [i for i in report_items.FIGURE_ITEMS if (figures / f"{i}.png").exists()]
    assert drawn == [i.replace("draw_", "") for i in expected_jobs(preset) if i.startswith("draw_")
                     and i != "draw_tables"]
    assert (figures / "summary_tests.csv").exists()
    # a second run has nothing left to do, and the report shows every figure drawn
    args = ["--configfile", str(CONFIG_DIR / "ci.yaml"),
            *folder_config(ci_local_run["root"], ci_local_run["models"])]
    assert dry_run(*args, cwd=ci_local_run["checkout"]) == {}
    report = ci_local_run["root"] / "report.html"
    snakemake("--report", str(report), *args, cwd=ci_local_run["checkout"])
    html = report.read_text(encoding="utf-8", errors="replace")
    assert all(f"{item}.png" in html for item in drawn)


@pytest.mark.slow
def test_benchmark_summary_breaks_the_run_down_per_rule(ci_local_run):
    script = REPO / "workflows" / "rules" / "scripts" / "summarise_benchmarks.py"
    result = subprocess.run([sys.executable, str(script),
                             str(ci_local_run["root"] / "work" / "benchmarks")],
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    for rule in ("train_llm", "evaluate_llm", "evaluate_baseline", "register_reference"):
        assert any(line.startswith(rule + " ") for line in lines), result.stdout
    assert lines[-1].startswith("all rules")


@pytest.mark.slow
def test_cache_refresh_target_then_figures_from_it(ci_local_run, tmp_path):
    """refresh_cache copies the finished ci run into a cache that `figures` then draws from."""
    root = ci_local_run["root"]
    cache = tmp_path / "cache"
    common = ["--configfile", str(CONFIG_DIR / "ci.yaml"),
              *folder_config(root, ci_local_run["models"]),
              f"cached_results_dir={cache}", f"figures_dir={tmp_path / 'figures'}"]
    here = ci_local_run["checkout"]
    snakemake("--cores", "1", "refresh_cache", *common, cwd=here)
    manifest = verify_manifest(cache)
    assert manifest["preset"] == "ci"
    assert dry_run("figures", *common, cwd=here) == {"verify_cache": 1, "figures": 1}
    snakemake("--cores", "1", "figures", *common, cwd=here)
    for png in ci_local_run["figures"].glob("*.png"):
        assert (tmp_path / "figures" / png.name).exists(), png.name


# The real-SLURM test lives in slurm_cluster.py and is collected here, so that under xdist
# (`pytest -n 2 --dist loadfile`) it runs on the worker that builds the local ci run it is
# compared with (built once, not once per file).
from tests.slurm_cluster import (  # noqa: E402,F401
    slurm_cluster,
    test_ci_preset_through_the_slurm_profile_matches_a_local_run,
)
