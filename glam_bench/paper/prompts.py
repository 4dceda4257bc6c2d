"""Prompt text of the LLM agents and DRRN: layout, memory, French goals, test-time rewrites.

The prompt is the whole state an LLM policy sees, so its layout is reproduced
character for character from the authors' ``generate_prompt`` (§B.1): a header
listing the possible actions, the goal, then the last ``nbr_obs`` observations
interleaved with the actions taken after them, ending with ``"Action k: "`` for
the action to choose.

French prompts (§D.4) keep that layout with a French header and goal; unlike
the authors' code, which only handles "go to" goals and picks words by
substring tests, :func:`translate_mission_fr` translates every BabyAI-Text
mission kind (§A.3) with articles agreeing in gender. The chosen phrasing:

==========================================  ====================================================
English mission (§A.3)                      French goal
==========================================  ====================================================
go to the green box                         aller à la boîte verte
pick up a red key                           attraper une clef rouge
open the yellow door / open the door        ouvrir la porte jaune / ouvrir la porte
put the red key next to a yellow box        poser la clef rouge à côté d'une boîte jaune
pick up the yellow box, then go to the ...  attraper la boîte jaune, puis aller à la balle verte
go to the red key after you pick up a ...   aller à la clef rouge après avoir attrapé une balle verte
go to the ball after you open the door      aller à la balle après avoir ouvert la porte
pick up a key after you go to the box       attraper une clef après être allé à la boîte
A and B                                     A et B
==========================================  ====================================================

Every mission noun is feminine in French (porte, clef, balle, boîte), so
"the" -> "la", "a" -> "une", "de la" / "d'une", and colours take their feminine
form (``vocabulary.COLOURS_FR``) after the noun.

Test-time substitutions (§D.1) rewrite a finished prompt with successive plain
``str.replace`` calls; by default the action header is protected (see
:func:`apply_substitutions`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence

from glam_bench.paper.vocabulary import (
    ACTION_TRANSLATION_FR,
    COLOURS_EN,
    COLOURS_FR,
    MISSION_OBJECT_TYPES,
    MISSION_WORDS_FR,
)

#: Header and goal words of the English prompt (§B.1).
HEADER_EN = "Possible action of the agent:"
GOAL_EN = "Goal of the agent:"
#: Header and goal words of the French prompt (§D.4).
HEADER_FR = "Actions possibles pour l'agent:"
GOAL_FR = "But de l'agent:"

LANGUAGES = ("en", "fr")

# --- The prompt layout (§B.1) -------------------------------------------------


def build_prompt(
    mission: str,
    observations: Sequence[Sequence[str]],
    actions_taken: Sequence[str],
    action_names: Sequence[str],
    *,
    language: str = "en",
    french_goal: str = "correct",
) -> str:
    """Return the prompt of §B.1 (English) or §D.4 (French), exactly as the authors lay it out.

    ``observations[i]`` is the list of description sentences of the i-th stored
    observation and ``actions_taken[i]`` the action taken after it; the last
    observation has no action yet, so the prompt ends with ``"Action k: "``.

    For ``language="fr"`` the mission is the env's English mission (§A.3), which
    is translated here (``french_goal="correct"``: :func:`translate_mission_fr`;
    ``"authors"``: :func:`translate_mission_fr_authors`, the buggy §D.4 code);
    English action names (header and history) are translated with
    ``vocabulary.ACTION_TRANSLATION_FR`` and other strings are kept as given.
    The words "Observation i:" and "Action i:" stay English in both languages (§D.4).
    """
    if language == "en":
        header, goal_words, goal = HEADER_EN, GOAL_EN, mission
    elif language == "fr":
        header, goal_words = HEADER_FR, GOAL_FR
        goal = translate_goal_fr(mission, french_goal)
        action_names = [translate_action_fr(a) for a in action_names]
        actions_taken = [translate_action_fr(a) for a in actions_taken]
    else:
        raise ValueError(f"unknown prompt language {language!r}; expected one of {LANGUAGES}")

    # "Header: a, b, c" is built as " a," per action with the last comma removed (§B.1).
    text = header + "".join(f" {name}," for name in action_names)[:-1]
    text += f" \n {goal_words} {goal}"
    for i, sentences in enumerate(observations):
        text += f" \n Observation {i}: " + "".join(f"{s}, " for s in sentences)
        text += f"\n Action {i}: " + (actions_taken[i] if i < len(actions_taken) else "")
    return text


#: The French goals a preset may choose (``training.french_goal``, §D.4).
FRENCH_GOALS = ("correct", "authors")


def translate_goal_fr(mission: str, french_goal: str = "correct") -> str:
    """The French goal of ``mission``: the suite's translation or the authors' (§D.4)."""
    if french_goal == "correct":
        return translate_mission_fr(mission)
    if french_goal == "authors":
        return translate_mission_fr_authors(mission)
    raise ValueError(f"unknown french_goal {french_goal!r}; expected 'correct' or 'authors'")


def translate_action_fr(action: str) -> str:
    """French name of an English action (§D.4); strings not in the table are returned unchanged."""
    return ACTION_TRANSLATION_FR.get(action, action)


# --- Per-env memory of past observations and actions (§B.1) -------------------


class PromptMemory:
    """The last ``nbr_obs`` observations and ``nbr_obs - 1`` actions of one env (§B.1).

    Use per step: ``add_observation(obs)``, ``prompt(...)``, ``add_action(a)``;
    call ``reset()`` when the episode ends, then add the new episode's first
    observation (the authors' LLM agent does this; DRRN's missing re-append is
    a bug, §B.1). The deques drop the oldest entries themselves, which keeps
    action ``i`` aligned with observation ``i``.
    """

    def __init__(self, nbr_obs: int = 3) -> None:
        if nbr_obs < 1:
            raise ValueError(f"nbr_obs must be >= 1, got {nbr_obs}")
        self.nbr_obs = nbr_obs
        self.observations: deque[tuple[str, ...]] = deque(maxlen=nbr_obs)
        self.actions: deque[str] = deque(maxlen=nbr_obs - 1)

    def add_observation(self, sentences: Sequence[str]) -> None:
        self.observations.append(tuple(sentences))

    def add_action(self, action: str) -> None:
        self.actions.append(action)

    def reset(self) -> None:
        """Forget the episode (called when it ends)."""
        self.observations.clear()
        self.actions.clear()

    def prompt(self, mission: str, action_names: Sequence[str], **options: str) -> str:
        """The prompt for the current step; ``options`` go to :func:`build_prompt`."""
        return build_prompt(mission, list(self.observations), list(self.actions), action_names, **options)


# --- French missions (§D.4, §A.3) ---------------------------------------------

_COLOUR_FR = dict(zip(COLOURS_EN, COLOURS_FR))
#: Every mission noun is feminine in French; a masculine noun would need new articles here.
_FEMININE_NOUNS_FR = frozenset(MISSION_WORDS_FR[t] for t in MISSION_OBJECT_TYPES)
_ARTICLE_FR = {"the": "la", "a": "une"}

_OBJECT = rf"(?:the|a) (?:(?:{'|'.join(COLOURS_EN)}) )?(?:{'|'.join(MISSION_OBJECT_TYPES)})"
_CLAUSE_PATTERNS = (
    ("go", re.compile(rf"go to ({_OBJECT})")),
    ("pick", re.compile(rf"pick up ({_OBJECT})")),
    ("open", re.compile(rf"open ({_OBJECT})")),
    ("put", re.compile(rf"put ({_OBJECT}) next to ({_OBJECT})")),
)


def translate_mission_fr(mission: str) -> str:
    """Translate any BabyAI-Text mission (§A.3) into French; see the module docstring for the phrasing.

    Raises ``ValueError`` for text outside the BabyAI grammar, so a new mission
    kind cannot silently produce an English-French mix.
    """
    for separator, joiner in ((", then ", ", puis "), (" after you ", " après ")):
        if separator in mission:
            first, second = mission.split(separator, 1)
            # "B after you A": A happened first, so it takes the past form.
            second_past = separator == " after you "
            return _conjunction_fr(first, past=False) + joiner + _conjunction_fr(second, past=second_past)
    return _conjunction_fr(mission, past=False)


def _conjunction_fr(text: str, past: bool) -> str:
    return " et ".join(_clause_fr(part, past) for part in text.split(" and "))


def _clause_fr(clause: str, past: bool) -> str:
    """One instruction; ``past`` gives the "après avoir/être ..." form used after "after you"."""
    for kind, pattern in _CLAUSE_PATTERNS:
        match = pattern.fullmatch(clause)
        if match is None:
            continue
        obj = _object_fr(match.group(1))
        if kind == "go":
            return ("être allé à " if past else "aller à ") + obj
        if kind == "pick":
            return ("avoir attrapé " if past else "attraper ") + obj
        if kind == "open":
            return ("avoir ouvert " if past else "ouvrir ") + obj
        verb = "avoir posé " if past else "poser "
        return verb + obj + " à côté " + _with_de(_object_fr(match.group(2)))
    raise ValueError(f"cannot translate mission clause {clause!r} to French: not a BabyAI-Text instruction")


def _object_fr(obj: str) -> str:
    """'the red key' -> 'la clef rouge', 'a door' -> 'une porte' (all nouns feminine)."""
    words = obj.split(" ")
    article, noun = words[0], MISSION_WORDS_FR[words[-1]]
    assert noun in _FEMININE_NOUNS_FR, noun
    colour = [_COLOUR_FR[words[1]]] if len(words) == 3 else []
    return " ".join([_ARTICLE_FR[article], noun, *colour])


def _with_de(obj_fr: str) -> str:
    """'la boîte' -> 'de la boîte', 'une boîte' -> "d'une boîte"."""
    return "d'" + obj_fr if obj_fr.startswith("une ") else "de " + obj_fr


def translate_mission_fr_authors(mission: str) -> str:
    """The authors' French goal (§D.4), bugs included: "go to" only, words chosen by substring tests.

    Each table is scanned in order and the last matching key wins; because "a"
    is tested after "the", any mission containing the letter "a" gets "une"
    ("go to the purple ball" -> "aller à une balle violette"). Kept only to
    reproduce their French prompts; use :func:`translate_mission_fr` otherwise.
    """
    det = noun = adj = ""
    for key, value in (("the", "la"), ("a", "une")):
        if key in mission:
            det = value
    for key in ("box", "ball", "key"):
        if key in mission:
            noun = MISSION_WORDS_FR[key]
    for key, value in _COLOUR_FR.items():
        if key in mission:
            adj = value
    return f"aller à {det} {noun} {adj}"


# --- Test-time substitutions (§D.1, §D.2, §D.4) -------------------------------


def apply_substitutions(
    prompt: str,
    dictionaries: Sequence[Mapping[str, str]],
    *,
    protect_header: bool = True,
) -> str:
    """Rewrite a prompt for a generalisation test with successive plain ``str.replace`` calls (§D.1).

    Dictionaries are applied in order, and each dictionary's pairs in order,
    exactly like the authors' loop, so overlapping keys behave as theirs did
    (e.g. French 'gris' turning "grise" into "argente", §D.4).

    ``protect_header=True`` (default) leaves the action header, everything
    before the first newline, untouched: "invented words" turns "go to the red
    ball" into "go to the faze xolo" in the goal and observations while the
    header keeps the action names the policy scores. ``protect_header=False``
    is the authors' whole-prompt replace (§D.1); with the six canonical actions
    and the §D.2 dictionaries the two give the same text, but not for every
    action set or word list.
    """
    split = prompt.find("\n") if protect_header else 0
    head, body = prompt[: max(split, 0)], prompt[max(split, 0) :]
    for dictionary in dictionaries:
        for old, new in dictionary.items():
            body = body.replace(old, new)
    return head + body
