"""The post-training test sets of Q2/Q3 (§D), each a named, documented object.

A test set says which level to play (``None``: the run's own training level),
which text rewrites to apply to what the agent reads (the prompt for LLM
agents and DRRN, the mission for Symbolic-PPO; never the env), which action
names to show and score, and in which language. Rewrites are successive plain
``str.replace`` calls, as the authors' ``prompt_modifier`` did (§D.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from glam_bench.paper import vocabulary as V
from glam_bench.errors import GlamBenchError


@dataclass(frozen=True)
class TestSet:
    """One post-training test."""

    name: str
    description: str
    env: str | None = None
    substitutions: tuple[Mapping[str, str], ...] = ()
    action_names: tuple[str, ...] | None = None
    language: str = "en"
    #: The authors' name for it (§D.2) or the figure panel (§E.3).
    paper_name: str = ""

    def env_for(self, training_env: str) -> str:
        return self.env or training_env


_FRENCH_ENV = "BabyAI-Text-GoToFrench-v0"
_FRENCH_ACTIONS = tuple(V.ACTION_TRANSLATION_FR[a] for a in V.ACTIONS)

_TESTS = [
    TestSet("no_change", "The training level, unchanged (panel a).",
            paper_name="no_modification_test"),
    TestSet("other_nouns", "Out-of-vocabulary nouns of the same category: key->chair, "
            "ball->table, box->car (panel b).", substitutions=(V.OTHER_NOUNS_EN,),
            paper_name="other_name_same_categories"),
    TestSet("adj_synonyms", "Colour synonyms: red->vermilion, ... (§D.2 #2).",
            substitutions=(V.ADJ_SYNONYMS_EN,), paper_name="adj_synonym"),
    TestSet("invented_nouns", "Invented nouns: key->dax, ball->xolo, box->afze (§D.2 #3).",
            substitutions=(V.INVENTED_NOUNS_EN,), paper_name="no_meaning_nouns"),
    TestSet("invented_adjectives", "Invented colours: red->faze, ... (§D.2 #4).",
            substitutions=(V.INVENTED_ADJS_EN,), paper_name="no_meaning_adj"),
    TestSet("invented_words", "Invented nouns and colours together (panel c).",
            substitutions=(V.INVENTED_NOUNS_EN, V.INVENTED_ADJS_EN),
            paper_name="no_meaning_words"),
    TestSet("first_person_speaker", "'Goal of the agent' -> 'I would like the agent to'.",
            substitutions=(V.FIRST_PERSON_SPEAKER_EN,),
            paper_name="change_intro_first_personne_speaker"),
    TestSet("first_person_agent", "'Goal of the agent' -> 'You have to'.",
            substitutions=(V.FIRST_PERSON_AGENT_EN,),
            paper_name="change_intro_first_personne_agent"),
    TestSet("synonym_actions", "Synonym action names in the prompt and as scored candidates: "
            "rotate left, rotate right, move ahead, take, release, switch (panel e).",
            action_names=V.SYNONYM_ACTION_SETS["synonyms_1"], paper_name="synonym actions"),
    TestSet("synonym_actions_2", "Second synonym set: shift left, shift right, go ahead, "
            "take, release, turn (§D.3).", action_names=V.SYNONYM_ACTION_SETS["synonyms_2"],
            paper_name="shift_left_shift_right_go_ahead_take_release_turn"),
    TestSet("new_composition", "'pick up A, then pick up B' / 'pick up B after you pick up A' "
            "on PickUpSeqPickUpLocal (panel d).", env="BabyAI-Text-PickUpSeqPickUpLocal-v0",
            paper_name="new composition"),
    TestSet("french", "GoToLocal in French: French observations, prompt and action "
            "candidates (panel f).", env=_FRENCH_ENV, action_names=_FRENCH_ACTIONS,
            language="fr", paper_name="new language"),
    TestSet("english_gotolocal", "English GoToLocal, the reference of the French panel (f).",
            env="BabyAI-Text-GoToLocal-v0", paper_name="GoToLocal reference"),
    TestSet("held_out_pairs", "MixedTestLocal: missions name only the five held-out "
            "object/colour pairs (in the released code, not in the paper's figure).",
            env="BabyAI-Text-MixedTestLocal-v0", paper_name="MixedTestLocal"),
]
_FRENCH_VARIANTS = {
    "french_other_nouns": (V.OTHER_NOUNS_FR,),
    "french_adj_synonyms": (V.ADJ_SYNONYMS_FR,),
    "french_invented_nouns": (V.INVENTED_NOUNS_FR,),
    "french_invented_adjectives": (V.INVENTED_ADJS_FR,),
    "french_invented_words": (V.INVENTED_NOUNS_FR, V.INVENTED_ADJS_FR),
    "french_first_person_speaker": (V.FIRST_PERSON_SPEAKER_FR,),
    "french_first_person_agent": (V.FIRST_PERSON_AGENT_FR,),
}
_TESTS += [
    TestSet(name, f"French GoToLocal with the French dictionary {name[7:]} (§D.4).",
            env=_FRENCH_ENV, substitutions=subs, action_names=_FRENCH_ACTIONS, language="fr",
            paper_name=f"dict_modifier_french {name[7:]}")
    for name, subs in _FRENCH_VARIANTS.items()
]

#: Every test set by name.
TEST_SETS: dict[str, TestSet] = {t.name: t for t in _TESTS}

class UnknownTestSetError(GlamBenchError, ValueError):
    """A test-set name, or a test-set option, that does not exist."""


def get_test_set(name: str) -> TestSet:
    """The test set called ``name``, or an error listing every valid name."""
    try:
        return TEST_SETS[name]
    except KeyError:
        raise UnknownTestSetError(
            f"unknown test set {name!r}; choose one of: {', '.join(TEST_SETS)}"
        ) from None


#: The action names a French test scores (``evaluation.french_candidates``, §D.4): the
#: French names, which the paper's figure shows ("aller à ..."), or the English ones,
#: which the authors' released code would have scored once its French branch was fixed.
#: The prompt is French either way: its header and history translate English names.
FRENCH_CANDIDATES: tuple[str, ...] = ("french", "english")


def scored_as(test_set: TestSet, french_candidates: str = "french") -> TestSet:
    """``test_set`` scoring the action names ``french_candidates`` selects (French tests only)."""
    if french_candidates not in FRENCH_CANDIDATES:
        raise UnknownTestSetError(f"unknown french_candidates {french_candidates!r}; choose one "
                                  f"of {', '.join(FRENCH_CANDIDATES)}")
    if test_set.language != "fr" or french_candidates == "french":
        return test_set
    return replace(test_set, action_names=V.ACTIONS)
