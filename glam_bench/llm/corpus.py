"""The text the tiny models' tokenizer is trained on: every string BabyAI-Text and GLAM's prompts can show.

No pretrained tokenizer can be downloaded offline, so the tiny models get one
trained on the environment's own language: every observation template of §A.2
(English and French, every colour, object, door state and distance 1-6), every
mission surface form of §A.3 (and its French translation, §D.4), every action
name (canonical, augmented, synonym sets, French), the prompt's fixed words
(§B.1, §D.4) and every test-set substitution word (§D.2, §D.4). A tokenizer
trained on it encodes all of these without an unknown token, so prompts and
test sets behave the same on the tiny models as on a real one.

:func:`random_prompts` draws realistic prompts from the same templates, for
benchmarks and smoke tests that need text without running the env.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from glam_bench.paper import prompts, vocabulary as V
DISTANCES = range(1, 7)


def _steps(n: int, direction: str) -> str:
    return f"{n} {'step' if n == 1 else 'steps'} {direction}"


def distance_phrases_en() -> list[str]:
    """Every English distance phrase (§A.2): forward only, lateral only, "lateral and forward"."""
    forward = [_steps(n, "forward") for n in DISTANCES]
    lateral = [_steps(n, side) for side in ("left", "right") for n in DISTANCES]
    return forward + lateral + [f"{lat} and {fwd}" for lat in lateral for fwd in forward]


def distance_phrases_fr() -> list[str]:
    """Every French distance phrase (§A.2): "pas" never plural, parts joined by " et "."""
    forward = [f"{n} pas devant" for n in DISTANCES]
    lateral = [f"{n} pas {side}" for side in ("à gauche", "à droite") for n in DISTANCES]
    return forward + lateral + [f"{lat} et {fwd}" for lat in lateral for fwd in forward]


def observation_sentences_en() -> Iterator[str]:
    """Carried objects, walls, objects and doors (with the always-"a" door quirk), §A.2."""
    for colour, kind in itertools.product(V.COLOURS_EN, V.DISTRACTOR_TYPES):
        yield f"You carry a {colour} {kind}"
    for direction in ("forward", "left", "right"):
        for n in DISTANCES:
            yield f"You see a wall {_steps(n, direction)}"
    distances = distance_phrases_en()
    for colour, kind, distance in itertools.product(V.COLOURS_EN, V.DISTRACTOR_TYPES, distances):
        yield f"You see a {colour} {kind} {distance}"
    for state, colour, distance in itertools.product(V.DOOR_STATES_EN, V.COLOURS_EN, distances):
        yield f"You see a {state} {colour} door {distance}"


def observation_sentences_fr() -> Iterator[str]:
    """The French templates of §A.2, including the carrying bug that keeps English words."""
    types_fr = {t: V.OBJECT_NAMES_FR[V.OBJECT_NAMES_EN.index(t)] for t in V.DISTRACTOR_TYPES}
    for (colour_en, colour_fr), kind in itertools.product(zip(V.COLOURS_EN, V.COLOURS_FR), V.DISTRACTOR_TYPES):
        yield f"Tu portes une {kind} {colour_en}"  # the env's bug (§A.2)
        yield f"Tu portes une {types_fr[kind]} {colour_fr}"
    for direction in ("devant", "à gauche", "à droite"):
        for n in DISTANCES:
            yield f"Tu vois un mur à {n} pas {direction}"
    distances = distance_phrases_fr()
    for colour, kind, distance in itertools.product(V.COLOURS_FR, V.DISTRACTOR_TYPES, distances):
        yield f"Tu vois une {types_fr[kind]} {colour} {distance}"
    for colour, state, distance in itertools.product(V.COLOURS_FR, V.DOOR_STATES_FR, distances):
        yield f"Tu vois une porte {colour} {state} {distance}"


def object_references() -> list[str]:
    """'the red box', 'a door', ...: every object description a mission can contain (§A.3)."""
    colours = [""] + [f"{c} " for c in V.COLOURS_EN]
    return [f"{det} {colour}{kind}" for det in ("the", "a") for colour in colours for kind in V.MISSION_OBJECT_TYPES]


def missions_en() -> Iterator[str]:
    """Every mission surface form of §A.3 over every object, plus the Q3 "pick up, then pick up" form."""
    objects = object_references()
    doors = [o for o in objects if o.endswith("door")]
    movable = [o for o in objects if not o.endswith("door")]
    yield from (f"go to {obj}" for obj in objects)
    yield from (f"pick up {obj}" for obj in movable)
    yield from (f"open {door}" for door in doors)
    for a, b in itertools.product(movable, objects):
        yield f"put {a} next to {b}"
        yield f"pick up {a}, then go to {b}"
        yield f"go to {b} after you pick up {a}"
    for a, b in itertools.product(movable, movable):
        yield f"pick up {a}, then pick up {b}"
        yield f"pick up {b} after you pick up {a}"


def action_names() -> list[str]:
    """Canonical, augmented and synonym action names, and their French translations (§A.1, §D.3, §D.4)."""
    names = [a for space in V.ACTION_SPACES.values() for a in space]
    names += [a for space in V.SYNONYM_ACTION_SETS.values() for a in space]
    names += list(V.ACTION_TRANSLATION_FR) + list(V.ACTION_TRANSLATION_FR.values())
    return list(dict.fromkeys(names))


def substitution_words() -> list[str]:
    """Every word the test-set dictionaries write into prompts (§D.2, §D.4), and the 'gris' bug's output."""
    dictionaries = (
        V.OTHER_NOUNS_EN, V.ADJ_SYNONYMS_EN, V.INVENTED_NOUNS_EN, V.INVENTED_ADJS_EN,
        V.FIRST_PERSON_SPEAKER_EN, V.FIRST_PERSON_AGENT_EN,
        V.OTHER_NOUNS_FR, V.ADJ_SYNONYMS_FR, V.INVENTED_NOUNS_FR, V.INVENTED_ADJS_FR,
        V.FIRST_PERSON_SPEAKER_FR, V.FIRST_PERSON_AGENT_FR,
    )
    words = [w for d in dictionaries for pair in d.items() for w in pair]
    return list(dict.fromkeys(words + ["argente"]))


def prompt_skeletons() -> Iterator[str]:
    """The fixed words of English and French prompts, with every observation index up to 9 (§B.1, §D.4)."""
    for language in prompts.LANGUAGES:
        observations = [["You see a wall 1 step forward"]] * 9
        yield prompts.build_prompt("go to the red ball", observations, V.ACTIONS * 2, V.ACTIONS, language=language)


def corpus_sentences() -> list[str]:
    """The whole corpus, deduplicated, in a fixed order (the tokenizer build must be reproducible)."""
    english_missions = list(missions_en())
    parts = itertools.chain(
        observation_sentences_en(),
        observation_sentences_fr(),
        english_missions,
        (prompts.translate_mission_fr(m) for m in english_missions),
        action_names(),
        substitution_words(),
        prompt_skeletons(),
        (prompts.HEADER_EN, prompts.GOAL_EN, prompts.HEADER_FR, prompts.GOAL_FR),
    )
    return list(dict.fromkeys(parts))


# --- Realistic prompts without the env ------------------------------------------


def random_observation(rng: random.Random, max_objects: int = 5) -> list[str]:
    """A plausible observation: maybe a carried object, walls, then a few objects (§A.2 order)."""
    sentences = []
    if rng.random() < 0.2:
        sentences.append(f"You carry a {rng.choice(V.COLOURS_EN)} {rng.choice(V.DISTRACTOR_TYPES)}")
    for direction in ("forward", "left", "right"):
        if rng.random() < 0.5:
            sentences.append(f"You see a wall {_steps(rng.randint(1, 6), direction)}")
    distances = distance_phrases_en()
    for _ in range(rng.randint(0, max_objects)):
        colour, kind = rng.choice(V.COLOURS_EN), rng.choice(V.DISTRACTOR_TYPES)
        sentences.append(f"You see a {colour} {kind} {rng.choice(distances)}")
    return sentences or ["You see a wall 1 step forward"]


def random_prompts(n: int, seed: int = 0, nbr_obs: int = 3) -> list[str]:
    """``n`` BabyAI-Text-like prompts with ``nbr_obs`` observations each, built by :func:`prompts.build_prompt`."""
    rng = random.Random(seed)
    missions = list(missions_en())
    result = []
    for _ in range(n):
        observations = [random_observation(rng) for _ in range(nbr_obs)]
        taken = [rng.choice(V.ACTIONS) for _ in range(nbr_obs - 1)]
        result.append(prompts.build_prompt(rng.choice(missions), observations, taken, V.ACTIONS))
    return result
