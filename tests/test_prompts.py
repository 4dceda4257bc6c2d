"""Prompt layout (§B.1), memory, French prompts (§D.4) and test-time substitutions (§D.1)."""

from __future__ import annotations

import pytest

from glam_bench.paper import vocabulary as V
from glam_bench.llm.corpus import missions_en
from glam_bench.paper.prompts import (
    PromptMemory,
    apply_substitutions,
    build_prompt,
    translate_mission_fr,
    translate_mission_fr_authors,
)

# The verified example of §B.1, with its "\n" written as newlines.
GOLDEN_B1 = (
    "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n"
    " Goal of the agent: go to the red ball \n"
    " Observation 0: You see a wall 2 steps forward, You see a red ball 1 step left, \n"
    " Action 0: go forward \n"
    " Observation 1: You see a wall 1 step forward, \n"
    " Action 1: pick up \n"
    " Observation 2: You carry a red ball, You see a wall 1 step forward, \n"
    " Action 2: "
)
OBSERVATIONS_B1 = [
    ["You see a wall 2 steps forward", "You see a red ball 1 step left"],
    ["You see a wall 1 step forward"],
    ["You carry a red ball", "You see a wall 1 step forward"],
]


def test_english_prompt_matches_the_verified_example_character_for_character():
    prompt = build_prompt("go to the red ball", OBSERVATIONS_B1, ["go forward", "pick up"], V.ACTIONS)
    assert prompt == GOLDEN_B1


def test_first_step_of_an_episode():
    prompt = build_prompt("open the door", [["You see a wall 1 step right"]], [], V.ACTIONS[:3])
    assert prompt == (
        "Possible action of the agent: turn left, turn right, go forward \n Goal of the agent: open the door"
        " \n Observation 0: You see a wall 1 step right, \n Action 0: "
    )


def test_memory_reproduces_the_example_step_by_step():
    memory = PromptMemory()
    steps = [(OBSERVATIONS_B1[0], "go forward"), (OBSERVATIONS_B1[1], "pick up"), (OBSERVATIONS_B1[2], None)]
    for observation, action in steps:
        memory.add_observation(observation)
        prompt = memory.prompt("go to the red ball", V.ACTIONS)
        if action:
            memory.add_action(action)
    assert prompt == GOLDEN_B1


@pytest.mark.parametrize("nbr_obs", [1, 3, 6, 9])
def test_memory_keeps_the_last_nbr_obs_observations_aligned_with_their_actions(nbr_obs):
    memory = PromptMemory(nbr_obs)
    for t in range(12):
        memory.add_observation([f"You see a wall {t % 6 + 1} steps forward"])
        prompt = memory.prompt("go to the red ball", V.ACTIONS)
        memory.add_action(V.ACTIONS[t % 6])
    shown = min(12, nbr_obs)
    assert prompt.count("Observation ") == shown
    assert prompt.endswith(f"\n Action {shown - 1}: ")
    # Observation i of the prompt is step 12 - shown + i, and its action is that step's action.
    for i in range(shown - 1):
        step = 12 - shown + i
        assert f"Observation {i}: You see a wall {step % 6 + 1} steps forward, \n Action {i}: {V.ACTIONS[step % 6]} " in prompt


def test_memory_reset_clears_the_episode():
    memory = PromptMemory()
    memory.add_observation(["You see a wall 1 step forward"])
    memory.add_action("turn left")
    memory.reset()
    memory.add_observation(["You see a wall 2 steps forward"])
    assert memory.prompt("go to the red ball", V.ACTIONS).endswith(
        "go to the red ball \n Observation 0: You see a wall 2 steps forward, \n Action 0: "
    )
    with pytest.raises(ValueError):
        PromptMemory(0)


# --- French -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mission", "french"),
    [
        ("go to the green box", "aller à la boîte verte"),
        ("go to a grey ball", "aller à une balle grise"),
        ("pick up a red key", "attraper une clef rouge"),
        ("pick up the ball", "attraper la balle"),
        ("open the yellow door", "ouvrir la porte jaune"),
        ("open the door", "ouvrir la porte"),
        ("put the red key next to a yellow box", "poser la clef rouge à côté d'une boîte jaune"),
        ("put a purple ball next to the blue door", "poser une balle violette à côté de la porte bleue"),
        ("pick up the yellow box, then go to the green ball", "attraper la boîte jaune, puis aller à la balle verte"),
        ("go to the red key after you pick up a green ball", "aller à la clef rouge après avoir attrapé une balle verte"),
        ("pick up a key after you go to the box", "attraper une clef après être allé à la boîte"),
        ("go to the ball after you open the door", "aller à la balle après avoir ouvert la porte"),
        ("pick up the grey key, then pick up the yellow ball", "attraper la clef grise, puis attraper la balle jaune"),
        ("go to the red ball and open the door", "aller à la balle rouge et ouvrir la porte"),
    ],
)
def test_french_missions(mission, french):
    assert translate_mission_fr(mission) == french


def test_every_mission_translates_without_english_words():
    english_words = {"the", "a", "go", "to", "pick", "up", "open", "put", "next", "then", "after", "you", "and"}
    english_words |= set(V.COLOURS_EN) | set(V.MISSION_OBJECT_TYPES)
    for mission in missions_en():
        words = set(translate_mission_fr(mission).replace(",", "").replace("d'", "").split())
        assert not words & english_words, mission


def test_untranslatable_missions_are_rejected():
    with pytest.raises(ValueError, match="cannot translate"):
        translate_mission_fr("dance with the red ball")


def test_authors_french_goal_reproduces_their_verified_outputs():
    # §D.4 [V]: the substring test on "a" turns "the purple ball" into "une".
    assert translate_mission_fr_authors("go to the purple ball") == "aller à une balle violette"
    assert translate_mission_fr_authors("go to the grey key") == "aller à la clef grise"
    assert translate_mission_fr_authors("go to a red box") == "aller à une boîte rouge"


def test_french_prompt_layout():
    observations = [["Tu vois un mur à 4 pas devant", "Tu vois une balle bleue 3 pas à gauche et 1 pas devant"], ["Tu vois un mur à 3 pas devant"]]
    prompt = build_prompt("go to the blue ball", observations, ["go forward"], V.ACTIONS, language="fr")
    assert prompt == (
        "Actions possibles pour l'agent: tourner à gauche, tourner à droite, aller tout droit, attraper, lâcher, basculer"
        " \n But de l'agent: aller à la balle bleue"
        " \n Observation 0: Tu vois un mur à 4 pas devant, Tu vois une balle bleue 3 pas à gauche et 1 pas devant, "
        "\n Action 0: aller tout droit"
        " \n Observation 1: Tu vois un mur à 3 pas devant, \n Action 1: "
    )
    authors = build_prompt("go to the blue ball", observations, [], V.ACTIONS, language="fr", french_goal="authors")
    assert "But de l'agent: aller à une balle bleue \n" in authors
    with pytest.raises(ValueError):
        build_prompt("go to the blue ball", observations, [], V.ACTIONS, language="de")


# --- Substitutions -----------------------------------------------------------------


def test_invented_words_rewrite_goal_and_observations_but_not_the_header():
    dictionaries = [V.INVENTED_NOUNS_EN, V.INVENTED_ADJS_EN]
    actions = ("go to red", "pick up ball")  # action names that the dictionaries would hit
    prompt = build_prompt("go to the red ball", OBSERVATIONS_B1, ["go forward", "pick up"], actions)
    rewritten = apply_substitutions(prompt, dictionaries)
    assert rewritten.startswith("Possible action of the agent: go to red, pick up ball \n")
    assert "Goal of the agent: go to the faze xolo \n" in rewritten
    assert "You see a faze xolo 1 step left" in rewritten and "You carry a faze xolo" in rewritten
    authors = apply_substitutions(prompt, dictionaries, protect_header=False)
    assert authors.startswith("Possible action of the agent: go to faze, pick up xolo \n")
    assert authors.split("\n", 1)[1] == rewritten.split("\n", 1)[1]


def test_substitutions_are_successive_plain_replacements():
    assert apply_substitutions("h \n red box", [{"red": "blue"}, {"blue": "cyan"}]) == "h \n cyan box"
    assert apply_substitutions("h \n Goal of the agent: x", [V.FIRST_PERSON_AGENT_EN]) == "h \n You have to: x"
    # §D.4: the authors' key 'gris' turns "grise" into "argente".
    assert apply_substitutions("h \n une clef grise", [V.ADJ_SYNONYMS_FR]) == "h \n une clef argente"


def test_canonical_prompts_are_the_same_under_both_substitution_modes():
    prompt = build_prompt("pick up a blue key", OBSERVATIONS_B1, ["go forward", "pick up"], V.ACTIONS)
    for dictionary in (V.OTHER_NOUNS_EN, V.ADJ_SYNONYMS_EN, V.INVENTED_NOUNS_EN, V.FIRST_PERSON_SPEAKER_EN):
        assert apply_substitutions(prompt, [dictionary]) == apply_substitutions(prompt, [dictionary], protect_header=False)
