"""Each test set's transformation of a real prompt (§D.2–§D.4)."""

import pytest

from glam_bench.agents.llm_ppo import PromptBook
from glam_bench.envs import make_env
from glam_bench.evaluation.test_sets import TEST_SETS, UnknownTestSetError, get_test_set
from glam_bench.vocabulary import ACTIONS


def real_prompt(test_name: str, env_id: str = "BabyAI-Text-GoToLocal-v0", seed: int = 3) -> str:
    """The first prompt an agent reads in ``test_name``, built from a real episode."""
    test_set = get_test_set(test_name)
    obs, _ = make_env(test_set.env_for(env_id)).reset(seed=seed)
    book = PromptBook(1, 3, test_set.action_names or ACTIONS, test_set.language,
                      test_set.substitutions)
    return book.observe({"mission": [obs["mission"]], "descriptions": [obs["descriptions"]]})[0]


def header(prompt: str) -> str:
    return prompt.split("\n", 1)[0]


def body(prompt: str) -> str:
    return prompt.split("\n", 1)[1]


def test_invented_words_rewrite_goal_and_observations_but_not_the_header():
    original, changed = real_prompt("no_change"), real_prompt("invented_words")
    assert header(changed) == header(original)
    assert "Goal of the agent: go to the" in changed
    for word in ("red", "green", "blue", "purple", "yellow", "grey", "key", "ball", "box"):
        assert f" {word}" not in body(changed).replace("You see a wall", "")
    assert any(w in body(changed) for w in ("faze", "jatu", "croh", "vurst", "gakul", "sil"))
    assert any(w in body(changed) for w in ("dax", "xolo", "afze"))


def test_the_paper_example_go_to_the_red_ball():
    from glam_bench.prompts import apply_substitutions, build_prompt

    prompt = build_prompt("go to the red ball", [["You see a red ball 2 steps forward"]], [], ACTIONS)
    changed = apply_substitutions(prompt, get_test_set("invented_words").substitutions)
    assert "Goal of the agent: go to the faze xolo" in changed
    assert "You see a faze xolo 2 steps forward" in changed
    assert header(changed) == header(prompt)


@pytest.mark.parametrize("name, old, new", [
    ("other_nouns", ("key", "ball", "box"), ("chair", "table", "car")),
    ("adj_synonyms", ("red", "green", "blue"), ("vermilion", "jade", "cyan")),
    ("invented_nouns", ("key", "ball", "box"), ("dax", "xolo", "afze")),
    ("invented_adjectives", ("red", "green", "blue"), ("faze", "jatu", "croh")),
])
def test_word_substitutions(name, old, new):
    changed = body(real_prompt(name))
    assert not any(f" {w} " in changed or changed.endswith(w) for w in old)
    assert any(w in changed for w in new)


@pytest.mark.parametrize("name, intro", [
    ("first_person_speaker", "I would like the agent to: go to"),
    ("first_person_agent", "You have to: go to"),
])
def test_goal_phrasing_changes(name, intro):
    assert intro in real_prompt(name)


@pytest.mark.parametrize("name, first_action", [
    ("synonym_actions", "rotate left"), ("synonym_actions_2", "shift left")])
def test_synonym_actions_replace_the_header(name, first_action):
    assert header(real_prompt(name)).startswith(f"Possible action of the agent: {first_action},")


def test_french_prompt_observations_and_actions():
    prompt = real_prompt("french")
    assert header(prompt) == ("Actions possibles pour l'agent: tourner à gauche, tourner à droite, "
                              "aller tout droit, attraper, lâcher, basculer ")
    assert "But de l'agent: aller à " in prompt
    assert "Tu vois" in prompt and "You see" not in prompt


def test_french_dictionaries_rewrite_french_words():
    changed = body(real_prompt("french_invented_words"))
    assert not any(w in changed for w in ("clef", "balle", "boîte"))


def test_level_changing_tests_name_their_level():
    assert get_test_set("new_composition").env_for("X") == "BabyAI-Text-PickUpSeqPickUpLocal-v0"
    assert get_test_set("held_out_pairs").env_for("X") == "BabyAI-Text-MixedTestLocal-v0"
    assert get_test_set("french").env_for("X") == "BabyAI-Text-GoToFrench-v0"
    assert get_test_set("no_change").env_for("X") == "X"


@pytest.mark.parametrize("name", sorted(TEST_SETS))
def test_every_test_set_builds_a_prompt_on_its_level(name):
    assert real_prompt(name, env_id="BabyAI-Text-MixedTrainLocal-v0").endswith("Action 0: ")


def test_unknown_test_set_lists_the_valid_ones():
    with pytest.raises(UnknownTestSetError, match="invented_words"):
        get_test_set("invented")
