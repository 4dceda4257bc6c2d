"""Fixed monitoring prompts whose action distribution is logged every update (§B.1, §G).

The authors logged 11 hand-written prompts (``get_test_prompts``); their exact
text is not part of the reference, so these 11 are ours: each shows one
situation where one action is plainly right, in the exact prompt layout of
§B.1, so the policy-evolution figure shows the policy learning to prefer it.
"""

from __future__ import annotations

from collections.abc import Sequence

from glam_bench.prompts import build_prompt

#: (goal, observation sentences, the action a competent agent takes)
MONITORING_SITUATIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("go to the red ball", ("You see a wall 3 steps forward", "You see a red ball 2 steps forward"), "go forward"),
    ("go to the red ball", ("You see a wall 2 steps left", "You see a red ball 1 step left"), "turn left"),
    ("go to the red ball", ("You see a wall 2 steps right", "You see a red ball 1 step right"), "turn right"),
    ("pick up the blue key", ("You see a blue key 1 step forward",), "pick up"),
    ("pick up a green box", ("You see a wall 1 step forward", "You see a green box 2 steps left"), "turn left"),
    ("go to the purple key", ("You see a wall 1 step forward", "You see a wall 1 step right"), "turn left"),
    ("open the door", ("You carry a yellow key", "You see a locked yellow door 1 step forward"), "toggle"),
    ("open the blue door", ("You carry a blue key", "You see a locked blue door 3 steps forward"), "go forward"),
    ("put the red key next to the grey box", ("You carry a red key", "You see a grey box 1 step left and 1 step forward"), "drop"),
    ("pick up the yellow ball, then go to the grey key", ("You see a yellow ball 1 step forward",), "pick up"),
    ("go to the green key after you pick up the red box", ("You see a red box 1 step forward", "You see a green key 3 steps right"), "pick up"),
)


def monitoring_prompts(action_names: Sequence[str]) -> list[str]:
    """The 11 monitoring prompts, each a first step of an episode, listing ``action_names``."""
    return [build_prompt(goal, [list(sentences)], [], action_names)
            for goal, sentences, _ in MONITORING_SITUATIONS]
