"""Golden tests of the BabyAI-Text renderer on hand-built views (§A.2).

Views are (7, 7, 3) arrays indexed [x, y]: the agent sits at (3, 6) facing
"up" (towards y = 0). Cells default to empty; type 0 marks unseen cells.
"""

import numpy as np
import pytest
from minigrid.core.grid import Grid
from minigrid.core.world_object import Ball, Door, Key, Wall

from glam_bench.envs import describe, make_env

UNSEEN, EMPTY, WALL, DOOR, KEY, BALL, BOX = 0, 1, 2, 4, 5, 6, 7
RED, GREEN, BLUE, PURPLE, YELLOW, GREY = range(6)
OPEN, CLOSED, LOCKED = 0, 1, 2


def view(cells: dict, unseen: tuple = ()) -> np.ndarray:
    image = np.zeros((7, 7, 3), dtype=np.uint8)
    image[:, :, 0] = EMPTY
    for x, y in unseen:
        image[x, y] = (UNSEEN, 0, 0)
    for (x, y), cell in cells.items():
        image[x, y] = cell if len(cell) == 3 else (*cell, 0)
    return image


# --- The verified examples of §A.2, reproduced exactly. -----------------------

def test_verified_mixed_example():
    image = view({
        (3, 4): (WALL, GREY), (4, 6): (WALL, GREY),
        (0, 5): (BOX, RED), (1, 5): (BALL, RED), (1, 6): (BALL, RED),
    })
    assert describe(image) == [
        "You see a wall 2 steps forward",
        "You see a wall 1 step right",
        "You see a red box 3 steps left and 1 step forward",
        "You see a red ball 2 steps left and 1 step forward",
        "You see a red ball 2 steps left",
    ]


def test_verified_carrying_example_with_the_paper_door_article():
    image = view({(3, 6): (KEY, PURPLE), (5, 6): (WALL, GREY), (3, 5): (DOOR, PURPLE, OPEN)})
    assert describe(image) == [
        "You carry a purple key",
        "You see a wall 2 steps right",
        "You see a open purple door 1 step forward",
    ]


def test_verified_locked_door():
    image = view({(0, 5): (DOOR, YELLOW, LOCKED)})
    assert describe(image) == ["You see a locked yellow door 3 steps left and 1 step forward"]


def test_verified_french_example():
    image = view({(3, 2): (WALL, GREY), (0, 5): (BALL, BLUE), (1, 4): (KEY, RED)})
    assert describe(image, "fr") == [
        "Tu vois un mur à 4 pas devant",
        "Tu vois une balle bleue 3 pas à gauche et 1 pas devant",
        "Tu vois une clef rouge 2 pas à gauche et 2 pas devant",
    ]


# --- Walls. -------------------------------------------------------------------

@pytest.mark.parametrize("cell, expected", [
    ((3, 5), "You see a wall 1 step forward"),
    ((3, 0), "You see a wall 6 steps forward"),
    ((2, 6), "You see a wall 1 step left"),
    ((0, 6), "You see a wall 3 steps left"),
    ((4, 6), "You see a wall 1 step right"),
    ((6, 6), "You see a wall 3 steps right"),
])
def test_each_wall_direction_and_distance(cell, expected):
    assert describe(view({cell: (WALL, GREY)})) == [expected]


def test_walls_in_fixed_order_forward_left_right():
    image = view({(5, 6): (WALL, GREY), (1, 6): (WALL, GREY), (3, 1): (WALL, GREY)})
    assert describe(image) == [
        "You see a wall 5 steps forward",
        "You see a wall 2 steps left",
        "You see a wall 2 steps right",
    ]


def test_only_the_first_wall_along_a_line_is_reported():
    image = view({(3, 4): (WALL, GREY), (3, 2): (WALL, GREY), (2, 4): (WALL, GREY)})
    assert describe(image) == ["You see a wall 2 steps forward"]


def test_unseen_cells_are_skipped_by_the_wall_scan():
    image = view({(3, 3): (WALL, GREY)}, unseen=[(3, 5)])
    assert describe(image) == ["You see a wall 3 steps forward"]


def test_object_hides_the_wall_behind_it_in_paper_text():
    image = view({(3, 5): (BALL, RED), (3, 3): (WALL, GREY), (1, 6): (KEY, BLUE),
                  (0, 6): (WALL, GREY)})
    assert describe(image) == [
        "You see a blue key 2 steps left",
        "You see a red ball 1 step forward",
    ]


def test_text_fixes_report_the_wall_behind_an_object():
    image = view({(3, 5): (BALL, RED), (3, 3): (WALL, GREY), (1, 6): (KEY, BLUE),
                  (0, 6): (WALL, GREY)})
    assert describe(image, text_fixes=True) == [
        "You see a wall 3 steps forward",
        "You see a wall 3 steps left",
        "You see a blue key 2 steps left",
        "You see a red ball 1 step forward",
    ]


def test_a_door_still_stops_the_wall_scan_with_text_fixes():
    image = view({(3, 5): (DOOR, RED, OPEN), (3, 3): (WALL, GREY)})
    assert describe(image, text_fixes=True) == ["You see an open red door 1 step forward"]


# --- Objects and distances. -----------------------------------------------------

def test_objects_in_row_column_and_off_axis_listed_left_to_right_far_to_near():
    image = view({
        (5, 4): (BALL, YELLOW), (3, 2): (KEY, GREEN), (1, 6): (BOX, PURPLE),
        (1, 1): (KEY, GREY), (6, 6): (BOX, BLUE),
    })
    assert describe(image) == [
        "You see a grey key 2 steps left and 5 steps forward",
        "You see a purple box 2 steps left",
        "You see a green key 4 steps forward",
        "You see a yellow ball 2 steps right and 2 steps forward",
        "You see a blue box 3 steps right",
    ]


def test_singular_and_plural_steps():
    image = view({(2, 5): (KEY, RED), (4, 4): (KEY, GREEN)})
    assert describe(image) == [
        "You see a red key 1 step left and 1 step forward",
        "You see a green key 1 step right and 2 steps forward",
    ]


@pytest.mark.parametrize("state, paper, fixed", [
    (OPEN, "You see a open blue door 2 steps forward", "You see an open blue door 2 steps forward"),
    (CLOSED, "You see a closed blue door 2 steps forward", "You see a closed blue door 2 steps forward"),
    (LOCKED, "You see a locked blue door 2 steps forward", "You see a locked blue door 2 steps forward"),
])
def test_all_door_states_with_and_without_fixes(state, paper, fixed):
    image = view({(3, 4): (DOOR, BLUE, state)})
    assert describe(image) == [paper]
    assert describe(image, text_fixes=True) == [fixed]


def test_carried_object_comes_first_and_is_not_repeated():
    image = view({(3, 6): (BALL, GREEN), (3, 5): (WALL, GREY)})
    assert describe(image) == ["You carry a green ball", "You see a wall 1 step forward"]


def test_never_described_unseen_empty_floor():
    image = view({(2, 2): (3, GREEN)}, unseen=[(x, y) for x in range(7) for y in range(3)])
    assert describe(image) == []


# --- French. ------------------------------------------------------------------

def test_french_walls_objects_and_doors():
    image = view({
        (3, 6): (KEY, GREEN), (4, 6): (WALL, GREY), (1, 6): (BOX, PURPLE),
        (3, 3): (DOOR, YELLOW, LOCKED), (5, 5): (DOOR, RED, OPEN), (2, 5): (BALL, GREY),
    })
    assert describe(image, "fr") == [
        "Tu portes une clef verte",
        "Tu vois un mur à 1 pas à droite",
        "Tu vois une boîte violette 2 pas à gauche",
        "Tu vois une balle grise 1 pas à gauche et 1 pas devant",
        "Tu vois une porte jaune fermée à clef 3 pas devant",
        "Tu vois une porte rouge ouverte 2 pas à droite et 1 pas devant",
    ]


def test_french_with_text_fixes_also_reports_hidden_walls():
    image = view({(3, 5): (BALL, RED), (3, 3): (WALL, GREY)})
    assert describe(image, "fr") == ["Tu vois une balle rouge 1 pas devant"]
    assert describe(image, "fr", text_fixes=True) == [
        "Tu vois un mur à 3 pas devant", "Tu vois une balle rouge 1 pas devant"]


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="unknown language 'de'"):
        describe(view({}), "de")


# --- Occlusion through minigrid's own visibility (a real env, a hand-built grid). ---

def _env_with_grid(grid: Grid, agent_pos, agent_dir: int = 3, carrying=None):
    env = make_env("BabyAI-Text-GoToLocal-v0").unwrapped
    env.reset(seed=0)
    env.grid, env.agent_pos, env.agent_dir, env.carrying = grid, agent_pos, agent_dir, carrying
    return env


def test_objects_behind_a_wall_or_closed_door_are_not_described():
    grid = Grid(8, 8)
    grid.wall_rect(0, 0, 8, 8)
    for x in range(1, 7):
        grid.set(x, 3, Wall())
    grid.set(3, 3, Door("red", is_open=False))
    grid.set(2, 2, Ball("blue"))  # behind the interior wall
    grid.set(3, 1, Key("green"))  # behind the closed door
    grid.set(5, 5, Key("yellow"))  # visible
    env = _env_with_grid(grid, agent_pos=(3, 6))  # facing up (dir 3)
    sentences = env.gen_obs()["descriptions"]
    assert "blue ball" not in " ".join(sentences)
    assert "green key" not in " ".join(sentences)
    assert "You see a yellow key 2 steps right and 1 step forward" in sentences
    assert "You see a closed red door 3 steps forward" in sentences
    assert "You see a wall 1 step forward" not in sentences


def test_carried_object_through_a_real_env():
    grid = Grid(8, 8)
    grid.wall_rect(0, 0, 8, 8)
    env = _env_with_grid(grid, agent_pos=(3, 6), carrying=Key("purple"))
    assert env.gen_obs()["descriptions"][0] == "You carry a purple key"
