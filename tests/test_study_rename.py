"""Renaming an experiment in a copy of the study: the pipeline refuses, naming the figure.

Issue 14: the experiment grid used to be copied into presets, report items and the
synthetic set, so a renamed experiment silently dropped the figures drawing it.
Now the grid is declared once (``glam_bench/paper/study.py``) and every report item is
checked against it when the Snakefile loads, so a rename that leaves a figure
pointing at the old name stops the pipeline before any job, and says which figure.
"""

from __future__ import annotations

import re

import pytest

from tests.test_workflow import copy_checkout, folder_config, snakemake

OLD, NEW = "obs-6", "obs-six"


@pytest.fixture(scope="module")
def renamed_checkout(tmp_path_factory):
    """A copy of the checkout whose study calls experiment ``obs-6`` ``obs-six`` (and nothing else)."""
    root = copy_checkout(tmp_path_factory.mktemp("renamed"))
    study = root / "glam_bench" / "paper" / "study.py"
    text = study.read_text(encoding="utf-8")
    renamed, count = re.subn(f'"{OLD}"', f'"{NEW}"', text)
    assert count >= 2, "the study no longer declares obs-6 as the test expects"  # declaration + roster
    study.write_text(renamed, encoding="utf-8")
    return root


@pytest.mark.parametrize("target", [[], ["figures"]], ids=["fresh-run", "from-cache"])
def test_a_renamed_experiment_stops_the_pipeline_naming_its_figure(target, renamed_checkout, tmp_path):
    result = snakemake("-n", "--cores", "1", *target, *folder_config(tmp_path),
                       cwd=renamed_checkout, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"the pipeline planned jobs with a figure left behind:\n{output[-3000:]}"
    assert "appendix_prompt_length" in output and OLD in output, output[-3000:]
    assert "Job stats" not in output  # refused before planning a single job


def test_the_unrenamed_copy_plans_the_prompt_length_figure(tmp_path_factory, tmp_path):
    """The control: the same dry run on an untouched copy plans the figure and the renamed runs."""
    root = copy_checkout(tmp_path_factory.mktemp("control"))
    result = snakemake("-n", "--cores", "1", *folder_config(tmp_path), cwd=root)
    assert "appendix_prompt_length" in result.stdout and f"experiment={OLD}" in result.stdout
