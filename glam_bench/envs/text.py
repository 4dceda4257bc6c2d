"""Render minigrid's encoded 7x7 egocentric view as BabyAI-Text sentences (§A.2).

The authors produced the text inside a modified gym-minigrid; current minigrid
has no text at all, so this module rebuilds it from ``Grid.encode`` output: a
(7, 7, 3) array of (object type, colour, state) indexed ``[x, y]``, already
rotated so the agent looks "up", with occluded cells of type 0 ("unseen") and
the carried object placed on the agent's own cell (3, 6).

Sentence order (§A.2): the carried object; walls forward, left, right (only the
first non-empty cell along each straight line counts); then one sentence per
visible object, columns left to right and, within a column, far to near.

``text_fixes=False`` keeps the paper's text byte for byte, quirks included:
"a open door" and a wall hidden whenever any object stands in front of it.
``text_fixes=True`` writes "an open door" and lets keys, balls and boxes (which
do not block sight) stand in front of a wall without hiding it. The French
carried-object sentence is always written in correct French ("Tu portes une
clef verte"); the authors' version leaked English words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glam_bench.paper.vocabulary import (
    COLOURS_EN,
    COLOURS_FR,
    DOOR_STATES_EN,
    DOOR_STATES_FR,
    OBJECT_NAMES_EN,
    OBJECT_NAMES_FR,
)

VIEW_SIZE = 7
AGENT_X, AGENT_Y = VIEW_SIZE // 2, VIEW_SIZE - 1

UNSEEN, EMPTY, WALL, FLOOR, DOOR = 0, 1, 2, 3, 4
#: Cell types never described as objects: unseen, empty, wall, floor.
_NOT_OBJECTS = (UNSEEN, EMPTY, WALL, FLOOR)
#: Cell types a wall scan looks through: empty and unseen (§A.2).
_SCAN_SKIPS = (UNSEEN, EMPTY)
#: Cell types that do not block sight (keys, balls, boxes): transparent to the
#: wall scan only when ``text_fixes`` is on.
_SEE_THROUGH = (5, 6, 7)

LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class _Phrasebook:
    """The words and templates of one language."""

    objects: tuple[str, ...]
    colours: tuple[str, ...]
    door_states: tuple[str, ...]
    step: str
    steps: str
    directions: dict[str, str]
    joiner: str


_EN = _Phrasebook(
    objects=OBJECT_NAMES_EN, colours=COLOURS_EN, door_states=DOOR_STATES_EN,
    step="step", steps="steps",
    directions={"forward": "forward", "left": "left", "right": "right"},
    joiner=" and ",
)
# French: "pas" never takes a plural "s" (§A.2).
_FR = _Phrasebook(
    objects=OBJECT_NAMES_FR, colours=COLOURS_FR, door_states=DOOR_STATES_FR,
    step="pas", steps="pas",
    directions={"forward": "devant", "left": "à gauche", "right": "à droite"},
    joiner=" et ",
)
_BOOKS = {"en": _EN, "fr": _FR}


def describe(image: np.ndarray, language: str = "en", text_fixes: bool = False) -> list[str]:
    """Return the BabyAI-Text sentences for one encoded egocentric view.

    ``image`` is minigrid's partial-view encoding (7, 7, 3), indexed [x, y].
    The view is read once into nested lists: at 7x7, plain Python indexing is
    several times faster than numpy calls, and this runs on every env step.
    """
    if language not in _BOOKS:
        raise ValueError(f"unknown language {language!r}; choose one of {LANGUAGES}")
    book = _BOOKS[language]
    cells = image.tolist()
    sentences: list[str] = []
    carried = cells[AGENT_X][AGENT_Y]
    if carried[0] not in _NOT_OBJECTS:
        sentences.append(_carry_sentence(carried, language))
    for direction in ("forward", "left", "right"):
        distance = _first_wall(cells, direction, text_fixes)
        if distance is not None:
            sentences.append(_wall_sentence(distance, direction, book, language))
    for x, column in enumerate(cells):  # left to right
        for y, cell in enumerate(column):  # far to near
            if cell[0] not in _NOT_OBJECTS and (x, y) != (AGENT_X, AGENT_Y):
                sentences.append(_object_sentence(cell, x, y, book, language, text_fixes))
    return sentences


def _scan_line(direction: str) -> list[tuple[int, int]]:
    """View cells from the agent outward along one straight line."""
    if direction == "forward":
        return [(AGENT_X, y) for y in range(AGENT_Y - 1, -1, -1)]
    if direction == "left":
        return [(x, AGENT_Y) for x in range(AGENT_X - 1, -1, -1)]
    return [(x, AGENT_Y) for x in range(AGENT_X + 1, VIEW_SIZE)]


_SCAN_LINES = {d: _scan_line(d) for d in ("forward", "left", "right")}


def _first_wall(cells: list, direction: str, text_fixes: bool) -> int | None:
    """Distance to the wall along ``direction``, or None when no wall is reported.

    Paper rule (issue #20 of the authors' repo): the first non-empty cell
    decides; any object there hides the wall behind it.
    """
    skips = _SCAN_SKIPS + (_SEE_THROUGH if text_fixes else ())
    for distance, (x, y) in enumerate(_SCAN_LINES[direction], start=1):
        kind = cells[x][y][0]
        if kind in skips:
            continue
        return distance if kind == WALL else None
    return None


def _count(n: int, book: _Phrasebook) -> str:
    return f"{n} {book.step if n == 1 else book.steps}"


def _wall_sentence(distance: int, direction: str, book: _Phrasebook, language: str) -> str:
    if language == "fr":
        return f"Tu vois un mur à {_count(distance, book)} {book.directions[direction]}"
    return f"You see a wall {_count(distance, book)} {direction}"


def _distance_phrase(x: int, y: int, book: _Phrasebook) -> str:
    """"N steps left and M steps forward": lateral part first, never "behind"."""
    lateral, forward = x - AGENT_X, AGENT_Y - y
    parts = []
    if lateral:
        side = "right" if lateral > 0 else "left"
        parts.append(f"{_count(abs(lateral), book)} {book.directions[side]}")
    if forward:
        parts.append(f"{_count(forward, book)} {book.directions['forward']}")
    return book.joiner.join(parts)


def _object_sentence(
    cell: list[int], x: int, y: int, book: _Phrasebook, language: str, text_fixes: bool
) -> str:
    kind, colour, state = cell
    name, colour_name = book.objects[kind], book.colours[colour]
    where = _distance_phrase(x, y, book)
    if language == "fr":
        if kind == DOOR:
            return f"Tu vois une porte {colour_name} {book.door_states[state]} {where}"
        return f"Tu vois une {name} {colour_name} {where}"
    if kind == DOOR:
        state_name = book.door_states[state]
        article = "an" if text_fixes and state_name == "open" else "a"
        return f"You see {article} {state_name} {colour_name} door {where}"
    return f"You see a {colour_name} {name} {where}"


def _carry_sentence(cell: list[int], language: str) -> str:
    kind, colour = cell[0], cell[1]
    if language == "fr":
        return f"Tu portes une {OBJECT_NAMES_FR[kind]} {COLOURS_FR[colour]}"
    return f"You carry a {COLOURS_EN[colour]} {OBJECT_NAMES_EN[kind]}"
