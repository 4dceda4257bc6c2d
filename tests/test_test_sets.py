"""Each test set's transformation of a real prompt (§D.2–§D.4)."""

import pytest

from glam_bench.agents.llm_ppo import PromptBook
from glam_bench.envs import make_env
from glam_bench.paper.test_sets import TEST_SETS, UnknownTestSetError, get_test_set
from glam_bench.paper.vocabulary import ACTIONS


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
    from glam_bench.paper.prompts import apply_substitutions, build_prompt

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


# --- Every test set, exactly as the reference types it (§D.2–§D.4). -----------------
# The tables below are typed from shared/reference/glam_reference.md, not read from
# glam_bench.paper.vocabulary: a test set whose dictionary, level, language or scored names drift
# from the reference fails here. Dictionaries are lists of (old, new) pairs because their
# order matters (§D.4: French 'gris' is applied after 'rouge' ... and rewrites "grise").

CANONICAL = ["turn left", "turn right", "go forward", "pick up", "drop", "toggle"]
FRENCH_ACTIONS = ["tourner à gauche", "tourner à droite", "aller tout droit", "attraper",
                  "lâcher", "basculer"]
SYNONYMS_1 = ["rotate left", "rotate right", "move ahead", "take", "release", "switch"]
SYNONYMS_2 = ["shift left", "shift right", "go ahead", "take", "release", "turn"]

EN_OTHER_NOUNS = [("key", "chair"), ("ball", "table"), ("box", "car")]
EN_ADJ_SYNONYMS = [("red", "vermilion"), ("green", "jade"), ("blue", "cyan"),
                   ("purple", "violet"), ("yellow", "golden"), ("grey", "silver")]
EN_INVENTED_NOUNS = [("key", "dax"), ("ball", "xolo"), ("box", "afze")]
EN_INVENTED_ADJS = [("red", "faze"), ("green", "jatu"), ("blue", "croh"), ("purple", "vurst"),
                    ("yellow", "gakul"), ("grey", "sil")]
EN_SPEAKER = [("Goal of the agent", "I would like the agent to")]
EN_AGENT = [("Goal of the agent", "You have to")]
FR_OTHER_NOUNS = [("clef", "chaise"), ("balle", "table"), ("boîte", "voiture")]
FR_ADJ_SYNONYMS = [("rouge", "vermilion"), ("verte", "jade"), ("bleue", "cyan"),
                   ("violette", "mauve"), ("jaune", "dorée"), ("gris", "argent")]
FR_INVENTED_NOUNS = [("clef", "dax"), ("balle", "xolo"), ("boîte", "afze")]
FR_INVENTED_ADJS = [("rouge", "faze"), ("verte", "jatu"), ("bleue", "croh"),
                    ("violette", "vurst"), ("jaune", "gakul"), ("grise", "sil")]
FR_SPEAKER = [("But de l'agent", "Je veux que l'agent fasse")]
FR_AGENT = [("But de l'agent", "Tu dois faire")]

FRENCH = "BabyAI-Text-GoToFrench-v0"
#: name -> (dictionaries in order, level (None: the training level), language, scored names)
EXPECTED = {
    "no_change": ([], None, "en", CANONICAL),
    "other_nouns": ([EN_OTHER_NOUNS], None, "en", CANONICAL),
    "adj_synonyms": ([EN_ADJ_SYNONYMS], None, "en", CANONICAL),
    "invented_nouns": ([EN_INVENTED_NOUNS], None, "en", CANONICAL),
    "invented_adjectives": ([EN_INVENTED_ADJS], None, "en", CANONICAL),
    "invented_words": ([EN_INVENTED_NOUNS, EN_INVENTED_ADJS], None, "en", CANONICAL),
    "first_person_speaker": ([EN_SPEAKER], None, "en", CANONICAL),
    "first_person_agent": ([EN_AGENT], None, "en", CANONICAL),
    "synonym_actions": ([], None, "en", SYNONYMS_1),
    "synonym_actions_2": ([], None, "en", SYNONYMS_2),
    "new_composition": ([], "BabyAI-Text-PickUpSeqPickUpLocal-v0", "en", CANONICAL),
    "held_out_pairs": ([], "BabyAI-Text-MixedTestLocal-v0", "en", CANONICAL),
    "english_gotolocal": ([], "BabyAI-Text-GoToLocal-v0", "en", CANONICAL),
    "french": ([], FRENCH, "fr", FRENCH_ACTIONS),
    "french_other_nouns": ([FR_OTHER_NOUNS], FRENCH, "fr", FRENCH_ACTIONS),
    "french_adj_synonyms": ([FR_ADJ_SYNONYMS], FRENCH, "fr", FRENCH_ACTIONS),
    "french_invented_nouns": ([FR_INVENTED_NOUNS], FRENCH, "fr", FRENCH_ACTIONS),
    "french_invented_adjectives": ([FR_INVENTED_ADJS], FRENCH, "fr", FRENCH_ACTIONS),
    "french_invented_words": ([FR_INVENTED_NOUNS, FR_INVENTED_ADJS], FRENCH, "fr",
                              FRENCH_ACTIONS),
    "french_first_person_speaker": ([FR_SPEAKER], FRENCH, "fr", FRENCH_ACTIONS),
    "french_first_person_agent": ([FR_AGENT], FRENCH, "fr", FRENCH_ACTIONS),
}
TRAINING_LEVEL = "BabyAI-Text-MixedTrainLocal-v0"


def test_every_registered_test_set_is_in_the_table():
    assert sorted(TEST_SETS) == sorted(EXPECTED)


def scored_candidates(test_set) -> list[str]:
    """The names an LLM agent scores in ``test_set`` after training on the canonical six."""
    from glam_bench.agents.llm_ppo import LLMAgent

    agent = LLMAgent(policy=None, num_envs=1, nbr_obs=3, test_set=test_set,
                     training_actions=ACTIONS, seed=0, device=None, name="probe")
    return agent.candidates


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_test_set_dictionaries_level_language_and_scored_names(name):
    dictionaries, level, language, candidates = EXPECTED[name]
    test_set = get_test_set(name)
    assert [list(d.items()) for d in test_set.substitutions] == dictionaries
    assert test_set.env_for(TRAINING_LEVEL) == (level or TRAINING_LEVEL)
    assert test_set.language == language
    assert scored_candidates(test_set) == candidates


def hand_rewrite(prompt: str, dictionaries: list[list[tuple[str, str]]]) -> str:
    """§D.1 by hand: successive str.replace over everything after the action header."""
    text = body(prompt)
    for dictionary in dictionaries:
        for old, new in dictionary:
            text = text.replace(old, new)
    return header(prompt) + "\n" + text


SEEDS = range(12)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e[0]))
def test_the_agent_reads_the_hand_rewritten_prompt(name):
    """The prompt an agent reads equals the untouched prompt rewritten with the table above,
    and every key of the table occurs in the untouched prompts (so each pair is exercised)."""
    dictionaries, level, _, _ = EXPECTED[name]
    untouched_set = "french" if level == FRENCH else "no_change"
    seen = ""
    for seed in SEEDS:
        untouched = real_prompt(untouched_set, seed=seed)
        assert real_prompt(name, seed=seed) == hand_rewrite(untouched, dictionaries)
        seen += body(untouched)
    assert [old for d in dictionaries for old, _ in d if old not in seen] == []


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e[3] != CANONICAL))
def test_scored_names_are_the_prompt_header(name):
    names = EXPECTED[name][3]
    intro = ("Actions possibles pour l'agent:" if EXPECTED[name][2] == "fr"
             else "Possible action of the agent:")
    assert header(real_prompt(name)) == intro + "".join(f" {n}," for n in names)[:-1] + " "
