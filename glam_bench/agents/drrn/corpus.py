"""The text corpus the DRRN tokenizer is trained on.

The authors' DRRN tokenises with a SentencePiece unigram model (§B.5). We
train ours offline on every sentence the agent can meet: the observation
templates of §A.2 (English and French), the mission surface forms of §A.3,
the prompt scaffolding of §B.1 and §D.4, every action name, and the test-set
words of §D.2/§D.4. Nothing here reads the environment, so the corpus (and
therefore the tokenizer) is a pure function of ``glam_bench.paper.vocabulary``.

The sentence order is fixed and duplicates are dropped in first-seen order,
which makes the corpus, and the model trained on it, reproducible bit for bit.
"""

from __future__ import annotations

from itertools import product

from glam_bench.paper import vocabulary as V
#: Distances enumerated for every direction; the 7x7 view needs at most 6 (§A.2).
MAX_DISTANCE = 6
#: Observation indices used in prompt scaffolding; nbr_obs ablations reach 9 (§B.1).
MAX_PROMPT_OBS = 9

PICKABLE_TYPES = V.DISTRACTOR_TYPES  # key, ball, box: the only carriable objects


def _steps(n: int) -> str:
    """'step' for 1, 'steps' otherwise, for every distance (§A.2)."""
    return f"{n} step" if n == 1 else f"{n} steps"


def english_distance_phrases() -> list[str]:
    """Every distance phrase: forward only, lateral only, then lateral 'and' forward (§A.2)."""
    rng = range(1, MAX_DISTANCE + 1)
    forward = [f"{_steps(n)} forward" for n in rng]
    lateral = [f"{_steps(n)} {side}" for side in ("left", "right") for n in rng]
    combined = [f"{lat} and {fwd}" for lat in lateral for fwd in forward]
    return forward + lateral + combined


def french_distance_phrases() -> list[str]:
    """French distance phrases: 'pas' never takes an 's', parts joined by ' et ' (§A.2)."""
    rng = range(1, MAX_DISTANCE + 1)
    forward = [f"{n} pas devant" for n in rng]
    lateral = [f"{n} pas {side}" for side in ("à gauche", "à droite") for n in rng]
    combined = [f"{lat} et {fwd}" for lat in lateral for fwd in forward]
    return forward + lateral + combined


def english_observations() -> list[str]:
    """Carry, wall and object sentences of ``gen_graph`` in English (§A.2)."""
    sentences = [f"You carry a {c} {t}" for c in V.COLOURS_EN for t in PICKABLE_TYPES]
    sentences += [
        f"You see a wall {_steps(n)} {d}"
        for d in ("forward", "left", "right")
        for n in range(1, MAX_DISTANCE + 1)
    ]
    distances = english_distance_phrases()
    for c, t in product(V.COLOURS_EN, PICKABLE_TYPES):
        sentences += [f"You see a {c} {t} {d}" for d in distances]
    # Doors always carry their state and the article "a", even "a open" (§A.2).
    for s, c in product(V.DOOR_STATES_EN, V.COLOURS_EN):
        sentences += [f"You see a {s} {c} door {d}" for d in distances]
    return sentences


def french_observations() -> list[str]:
    """The French rendering of §A.2, including the English-words carrying bug."""
    # Bug kept on purpose: the carry sentence uses the English type and colour.
    sentences = [f"Tu portes une {t} {c}" for c in V.COLOURS_EN for t in PICKABLE_TYPES]
    sentences += [
        f"Tu vois un mur à {n} pas {d}"
        for d in ("devant", "à gauche", "à droite")
        for n in range(1, MAX_DISTANCE + 1)
    ]
    distances = french_distance_phrases()
    types_fr = [V.OBJECT_NAMES_FR[V.OBJECT_NAMES_EN.index(t)] for t in PICKABLE_TYPES]
    for c, t in product(V.COLOURS_FR, types_fr):
        sentences += [f"Tu vois une {t} {c} {d}" for d in distances]
    for s, c in product(V.DOOR_STATES_FR, V.COLOURS_FR):
        sentences += [f"Tu vois une porte {c} {s} {d}" for d in distances]
    return sentences


def _object_refs(types: tuple[str, ...], colourless: bool) -> list[str]:
    """'the/a {colour} {type}' references, optionally also without colour (§A.3)."""
    colours = list(V.COLOURS_EN) + ([""] if colourless else [])
    refs = []
    for det, c, t in product(("the", "a"), colours, types):
        refs.append(f"{det} {c} {t}" if c else f"{det} {t}")
    return refs


def missions() -> list[str]:
    """Every mission surface form of §A.3, plus the Q3 'new composition' forms (§D.3)."""
    any_obj = _object_refs(V.MISSION_OBJECT_TYPES, colourless=True)
    carriable = _object_refs(PICKABLE_TYPES, colourless=False)
    doors = _object_refs(("door",), colourless=True)
    out = [f"go to {o}" for o in any_obj]
    out += [f"pick up {o}" for o in carriable]
    out += [f"open {o}" for o in doors]
    for a, b in product(carriable, carriable):
        out += [
            f"put {a} next to {b}",
            f"pick up {a}, then go to {b}",
            f"go to {b} after you pick up {a}",
            f"pick up {a}, then pick up {b}",
            f"pick up {a} after you pick up {b}",
        ]
    return out


def french_goals() -> list[str]:
    """The French goal line 'But de l'agent: aller à {det} {nom} {adj}' (§D.4)."""
    nouns = [V.MISSION_WORDS_FR[t] for t in ("box", "ball", "key")]
    return [
        f"But de l'agent: aller à {det} {n} {adj}"
        for det, n, adj in product(("la", "une"), nouns, V.COLOURS_FR)
    ]


def _all_action_names() -> list[str]:
    names: list[str] = []
    for actions in [*V.ACTION_SPACES.values(), *V.SYNONYM_ACTION_SETS.values()]:
        names += list(actions)
    names += list(V.ACTION_TRANSLATION_FR) + list(V.ACTION_TRANSLATION_FR.values())
    return names


def prompt_scaffolding() -> list[str]:
    """Headers, goal and 'Observation i:'/'Action i:' lines of §B.1 and §D.4."""
    out = []
    for actions in [*V.ACTION_SPACES.values(), *V.SYNONYM_ACTION_SETS.values()]:
        out.append("Possible action of the agent: " + ", ".join(actions))
        french = [V.ACTION_TRANSLATION_FR.get(a, a) for a in actions]
        out.append("Actions possibles pour l'agent: " + ", ".join(french))
    out += ["Goal of the agent: " + m for m in ("go to the red ball", "open the door")]
    for i in range(MAX_PROMPT_OBS):
        out.append(f"Observation {i}:")
        out += [f"Action {i}: {a}" for a in _all_action_names()]
    return out


def _substituted(sentences: list[str], mapping: dict[str, str]) -> list[str]:
    """Apply a test dictionary with successive ``str.replace`` calls, as §D.1 does."""
    out = []
    for s in sentences:
        for key, value in mapping.items():
            s = s.replace(key, value)
        out.append(s)
    return out


def substituted_test_sentences() -> list[str]:
    """Sentences rewritten by every test dictionary of §D.2 and §D.4."""
    en_sample = [f"You see a {c} {t} 1 step forward" for c in V.COLOURS_EN for t in PICKABLE_TYPES]
    en_sample += [f"go to the {c} {t}" for c in V.COLOURS_EN for t in PICKABLE_TYPES]
    en_sample += ["Goal of the agent: go to the red ball"]
    fr_sample = [s for s in french_observations() if s.endswith(" 1 pas devant")]
    fr_sample += french_goals()
    en_dicts = [
        V.OTHER_NOUNS_EN, V.ADJ_SYNONYMS_EN, V.INVENTED_NOUNS_EN, V.INVENTED_ADJS_EN,
        {**V.INVENTED_NOUNS_EN, **V.INVENTED_ADJS_EN},
        V.FIRST_PERSON_SPEAKER_EN, V.FIRST_PERSON_AGENT_EN,
    ]
    fr_dicts = [
        V.OTHER_NOUNS_FR, V.ADJ_SYNONYMS_FR, V.INVENTED_NOUNS_FR, V.INVENTED_ADJS_FR,
        {**V.INVENTED_NOUNS_FR, **V.INVENTED_ADJS_FR},
        V.FIRST_PERSON_SPEAKER_FR, V.FIRST_PERSON_AGENT_FR,
    ]
    out = []
    for d in en_dicts:
        out += _substituted(en_sample, d)
    for d in fr_dicts:
        out += _substituted(fr_sample, d)
    return out


def build_corpus() -> list[str]:
    """All corpus sentences, deduplicated in first-seen order (deterministic)."""
    parts = [
        english_observations(), missions(), prompt_scaffolding(),
        french_observations(), french_goals(), substituted_test_sentences(),
    ]
    return list(dict.fromkeys(s for part in parts for s in part))
