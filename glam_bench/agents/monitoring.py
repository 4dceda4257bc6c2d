"""Fixed monitoring prompts whose action distribution is logged every update (§B.1, §G).

Two sets of 11, chosen by the run's ``monitoring_prompts``:

* ``"suite"``: ours. Each shows one situation where one action is plainly
  right, in the exact prompt layout of §B.1, so the policy-evolution figure
  shows the policy learning to prefer it.
* ``"authors"``: the 11 prompts of the authors' ``PPOUpdater.get_test_prompts``
  (template 1, ``experiments/train_language_agent.py``), so the figure can be
  set beside theirs. Their text is kept as they wrote it, quirks included:
  the first two use an older observation format ("A wall 2 step left"),
  some goals are not BabyAI grammar ("pick up green box"), most drop the
  comma after the last sentence, and the last ends with two spaces. As in
  their code, the header lists the run's own candidate actions.
"""

from __future__ import annotations

from collections.abc import Sequence

from glam_bench.paper.prompts import build_prompt

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


_GREEN_BALL_0 = ("A wall 2 step left, A purple key 1 step left and 2 steps forward, A yellow key "
                 "1 step left and 1 step forward, A green ball 3 steps forward, A grey ball 1 step "
                 "right and 5 steps forward, A green key 1 step right and 2 steps forward, A grey "
                 "ball 1 step right and 1 step forward, A green key 2 steps right and 4 steps "
                 "forward, A red box 2 steps right and 2 steps forward,")
_PURPLE_DOOR_0 = ("You see a wall 3 steps forward, You see a wall 3 steps left, You see a "
                  "yellow key 1 step right and 1 step forward, You see a locked purple door 2 "
                  "steps right and 3 steps forward, You see a purple ball 3 steps right and 1 step "
                  "forward, You see a green box 3 steps right, You see a purple key 2 steps left")
_GREEN_BOX_0 = ("You see a wall 2 steps forward, You see a wall 2 steps left, You see a yellow "
                "ball 1 step left and 1 step forward, You see a green box 2 steps right")
_BLUE_BALL_0 = ("You see a wall 3 steps forward, You see a wall 4 steps right, You see a purple "
                "key 2 steps forward, You see a red box 2 steps right, You see a blue ball 2 steps "
                "left")

#: The authors' 11 monitoring prompts after their header: (goal, [(observation, action)...]),
#: the last action empty (it is the one the policy chooses). Text as in their code.
AUTHORS_MONITORING_PROMPTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("go to the green ball", ((_GREEN_BALL_0, ""),)),
    ("go to the green ball", (
        (_GREEN_BALL_0, "go forward"),
        ("A purple key 1 step left and 1 step forward, A yellow key 1 step left, A green ball 2 "
         "steps forward, A grey ball 1 step right and 4 steps forward, A green key 1 step right "
         "and 1 step forward, A grey ball 1 step right, A green key 2 steps right and 3 steps "
         "forward, A red box 2 steps right and 1 step forward,", "turn right"),
        ("A wall 2 step right, A green key 3 steps left and 2 steps forward, A green ball 2 steps "
         "left, A red box 1 step left and 2 steps forward, A green key 1 step left and 1 step "
         "forward, A grey ball 1 step forward,", ""))),
    ("open the purple door", ((_PURPLE_DOOR_0, ""),)),
    ("open the purple door", (
        (_PURPLE_DOOR_0, "turn left"),
        ("You see a wall 3 steps forward, You see a wall 3 steps right, You see a purple key 2 "
         "steps forward", "go forward"),
        ("You see a wall 2 steps forward, You see a wall 3 steps right, You see a purple key 1 "
         "step forward", ""))),
    ("open the purple door", (
        ("You carry a purple key, You see a wall 3 steps forward, You see a wall 5 steps left, "
         "You see a yellow key 1 step left and 1 step forward, You see a locked purple door 3 "
         "steps forward, You see a purple ball 1 step right and 1 step forward, You see a green "
         "box 1 step right", "go forward"),
        ("You carry a purple key, You see a wall 2 steps forward, You see a wall 5 steps left, "
         "You see a yellow key 1 step left, You see a locked purple door 2 steps forward, You see "
         "a purple ball 1 step right", "go forward"),
        ("You carry a purple key, You see a wall 1 step forward, You see a wall 5 steps left, You "
         "see a locked purple door 1 step forward", ""))),
    ("pick up green box", ((_GREEN_BOX_0, ""),)),
    ("pick up green box", (
        (_GREEN_BOX_0, "turn right"),
        ("You see a wall 2 steps left, You see a blue key 1 step right, You see a red ball 2 "
         "steps right and 1 step forward, You see a green box 2 steps forward", "go forward"),
        ("You see a wall 2 steps left, You see a red ball 2 steps right, You see a green box 1 "
         "step forward", ""))),
    ("put blue ball next to red box", (
        ("You carry a blue ball, You see a wall 5 steps forward, You see a wall 2 steps left, You "
         "see a grey key 1 step right and 2 steps forward, You see a red box 3 steps forward",
         "go forward"),
        ("You carry a blue ball, You see a wall 4 steps forward, You see a wall 2 steps left, You "
         "see a grey key 1 step right and 1 step forward, You see a red box 2 steps forward", ""))),
    ("pick up the blue ball then go to the red box", ((_BLUE_BALL_0, ""),)),
    ("go to the red box after you pick up the blue ball", ((_BLUE_BALL_0, ""),)),
    ("pick up the green key then pick up the the red box", (
        ("You carry a green key, You see a wall 4 steps forward, You see a wall 4 steps left, You "
         "see a red box 1 step left, You see a purple ball 2 steps left and 1 step forward",
         " "),)),
)
#: The sets :func:`monitoring_prompts` offers (the run config's ``monitoring_prompts``).
MONITORING_PROMPT_SETS: tuple[str, ...] = ("suite", "authors")


def authors_prompt(action_names: Sequence[str], goal: str,
                   steps: Sequence[tuple[str, str]]) -> str:
    """One of the authors' monitoring prompts: the §B.1 header over ``action_names``, then
    their goal and observations as written (they did not go through ``generate_prompt``)."""
    text = "Possible action of the agent:" + "".join(f" {name}," for name in action_names)[:-1]
    text += f" \n Goal of the agent: {goal}"
    for i, (observation, action) in enumerate(steps):
        text += f" \n Observation {i}: {observation} \n Action {i}: {action}"
    return text


def monitoring_prompts(action_names: Sequence[str], which: str = "suite") -> list[str]:
    """The 11 monitoring prompts of set ``which`` ("suite", "authors"), listing ``action_names``."""
    if which == "suite":
        return [build_prompt(goal, [list(sentences)], [], action_names)
                for goal, sentences, _ in MONITORING_SITUATIONS]
    if which == "authors":
        return [authors_prompt(action_names, goal, steps)
                for goal, steps in AUTHORS_MONITORING_PROMPTS]
    raise ValueError(f"unknown monitoring prompt set {which!r}; choose one of "
                     f"{MONITORING_PROMPT_SETS}")
