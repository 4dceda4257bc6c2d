"""``glam-bench play``: episodes shown as the agent reads them."""

import re

import pytest

from glam_bench.cli import main
from glam_bench.envs import env_seeds, make_env

ENV = "BabyAI-Text-GoToLocal-v0"


@pytest.mark.parametrize("agent", ["bot", "random"])
def test_play_shows_each_episode_its_steps_and_the_success_rate(agent, capsys):
    assert main(["play", "--env", ENV, "--agent", agent, "--episodes", "2", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    missions = re.findall(r"=== mission: (.*)", out)
    outcomes = re.findall(r"=> (success|failure) after (\d+) steps, return ([\d.]+)", out)
    steps = re.findall(r"step +(\d+): (.*)", out)
    assert len(missions) == len(outcomes) == 2
    # The first episode is the test seed's (§A.6: 10**9 * seed + i).
    first, _ = make_env(ENV).reset(seed=env_seeds(1, 1, "test")[0])
    assert missions[0] == first["mission"]
    # Every step is printed once, numbered from 1 within its episode, with an action name.
    lengths = [int(n) for _, n, _ in outcomes]
    assert [int(n) for n, _ in steps] == [k for n in lengths for k in range(1, n + 1)]
    assert {name for _, name in steps} <= {"turn left", "turn right", "go forward", "pick up",
                                           "drop", "toggle", "done"}
    for outcome, _, ret in outcomes:
        assert (outcome == "success") == (float(ret) > 0)
    rate = sum(o == "success" for o, _, _ in outcomes) / 2
    assert f"{agent} on {ENV}: success rate {rate:.2f} over 2 episodes" in out
    if agent == "bot":
        assert rate == 1.0
