"""BabyAI-Text levels on minigrid 3 (§A.5), with text observations (§A.2).

Every level here is a minigrid ``RoomGridLevel`` whose observation dict gains a
``descriptions`` entry: a tuple of sentences rendered by :func:`describe` from
the same 7x7x3 view the symbolic agents see. Missions come from minigrid's own
verifier, whose surfaces match GLAM's vendored one (§A.3), and the reward is
minigrid's ``1 - 0.9 * steps / max_steps`` on success (§A.4).

GLAM's mixed levels draw a *task kind* and then a layout and mission of that
kind. The paper describes a fresh draw per episode; the authors' code drew the
kind once per env instance, unseeded (§A.5). ``task_sampling="episode"`` (the
default) draws the kind at every reset from the env's seeded RNG;
``task_sampling="instance"`` reproduces the code's one-kind-per-instance
behaviour, but drawn from the first seeded reset so runs are reproducible.

``render_text=False`` leaves the ``descriptions`` out of every observation (and
of the observation space), for agents that never read them.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from gymnasium import spaces
from minigrid.core.roomgrid import RoomGrid
from minigrid.envs.babyai.core.roomgrid_level import RejectSampling, RoomGridLevel
from minigrid.envs.babyai.core.verifier import (
    AfterInstr,
    BeforeInstr,
    GoToInstr,
    ObjDesc,
    OpenInstr,
    PickupInstr,
    PutNextInstr,
)
from minigrid.utils.baby_ai_bot import BabyAIBot

from glam_bench.envs.text import LANGUAGES, describe

# --- Task kinds and mission exclusions (§A.5). -------------------------------

GOTO, PICKUP, OPEN, PUTNEXT = "goto", "pickup", "open", "putnext"
PICKUP_SEQ_GOTO = "pick up seq go to"
PICKUP_SEQ_PICKUP = "pick up seq pick up"
#: The five task kinds of MixedTrainLocal / MixedTestLocal, in the authors' order.
MIXED_TASK_KINDS: tuple[str, ...] = (GOTO, PICKUP, OPEN, PUTNEXT, PICKUP_SEQ_GOTO)

#: MixedTrainLocal rejects any mission mentioning one of these held-out pairs.
TRAIN_EXCLUDED_PHRASES: tuple[str, ...] = (
    "yellow box", "red key", "red door", "green ball", "grey door",
)
#: MixedTestLocal rejects every other pair, so its missions name only held-out pairs.
TEST_EXCLUDED_PHRASES: tuple[str, ...] = (
    "yellow key", "yellow ball", "yellow door", "red box", "red ball", "green box",
    "green key", "green door", "grey box", "grey key", "grey ball", "blue box",
    "blue key", "blue ball", "blue door", "purple box", "purple key", "purple ball",
    "purple door",
)

TASK_SAMPLING_MODES = ("episode", "instance")
#: Characters that BabyAI-Text sentences may contain, English and French.
TEXT_CHARSET = string.ascii_letters + string.digits + " 'àâçéèêëîïôûùü"
_MAX_SENTENCE_LENGTH = 96


class TextLevel(RoomGridLevel):
    """A BabyAI level with text observations and seeded, silent task generation.

    Subclasses list their ``task_kinds`` and how many objects each kind places;
    :meth:`_generate_task` builds one kind's layout and instruction.
    """

    task_kinds: tuple[str, ...] = (GOTO,)
    excluded_phrases: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        language: str = "en",
        text_fixes: bool = False,
        task_sampling: str = "episode",
        task_kinds: Sequence[str] | None = None,
        num_dists: int = 8,
        room_size: int = 8,
        max_steps: int | None = None,
        render_mode: str | None = None,
        render_text: bool = True,
    ):
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; choose one of {LANGUAGES}")
        if task_sampling not in TASK_SAMPLING_MODES:
            raise ValueError(
                f"unknown task_sampling {task_sampling!r}; choose one of {TASK_SAMPLING_MODES}"
            )
        if task_kinds is not None:
            unknown = sorted(set(task_kinds) - set(type(self).task_kinds))
            if unknown or not task_kinds:
                raise ValueError(
                    f"task_kinds {list(task_kinds)} not offered by {type(self).__name__}; "
                    f"choose among {list(type(self).task_kinds)}"
                )
            self.task_kinds = tuple(task_kinds)
        self.language = language
        self.text_fixes = text_fixes
        self.render_text = render_text
        self.task_sampling = task_sampling
        self.num_dists = num_dists
        self.task_kind: str | None = None
        self._bot: BabyAIBot | None = None
        num_cols = 2 if OPEN in self.task_kinds else 1
        super().__init__(
            room_size=room_size, num_rows=1, num_cols=num_cols,
            max_steps=max_steps, render_mode=render_mode,
        )
        sentence = spaces.Text(max_length=_MAX_SENTENCE_LENGTH, charset=TEXT_CHARSET)
        observation_spaces = {
            "image": self.observation_space["image"],
            "direction": self.observation_space["direction"],
            "mission": self.observation_space["mission"],
        }
        if render_text:
            observation_spaces["descriptions"] = spaces.Sequence(sentence)
        self.observation_space = spaces.Dict(observation_spaces)

    # --- Episode generation ------------------------------------------------

    def _gen_grid(self, width: int, height: int) -> None:
        """Draw the task kind, then rejection-sample a layout and mission of that kind.

        Unlike minigrid's version this prints nothing on rejection: rejections
        are routine here (mission exclusion lists, crowded rooms).
        """
        if self.task_sampling == "episode" or self.task_kind is None:
            self.task_kind = self._rand_elem(self.task_kinds)
        self._resize_for(self.task_kind)
        while True:
            try:
                RoomGrid._gen_grid(self, self.width, self.height)
                self.instrs = self._generate_task(self.task_kind)
                self.validate_instrs(self.instrs)
                surface = self.instrs.surface(self)
                if any(phrase in surface for phrase in self.excluded_phrases):
                    raise RejectSampling("mission names an excluded object")
            except (RejectSampling, RecursionError):
                continue
            break
        self.surface = self.mission = surface

    def _resize_for(self, kind: str) -> None:
        """Two rooms side by side for the "open" kind, one room otherwise (§A.5)."""
        self.num_cols = 2 if kind == OPEN else 1
        self.width = (self.room_size - 1) * self.num_cols + 1
        self.height = self.room_size

    def _generate_task(self, kind: str):
        """Build the layout and return the instruction for one task kind."""
        raise ValueError(f"{type(self).__name__} has no generator for task kind {kind!r}")

    # --- Helpers shared by the generators ----------------------------------

    def _objects_then_agent(self, count: int) -> list:
        """Place ``count`` random keys/balls/boxes, then the agent, all reachable."""
        objects = self.add_distractors(num_distractors=count, all_unique=False)
        self.place_agent()
        self.check_objs_reachable()
        return objects

    def _distinct_pair(self, objects: list) -> tuple:
        """Two objects with different (type, colour), so the two descriptions differ."""
        first = self._rand_elem(objects)
        candidates = [o for o in objects if (o.type, o.color) != (first.type, first.color)]
        if not candidates:
            raise RejectSampling("all objects share one description")
        return first, self._rand_elem(candidates)

    @staticmethod
    def _desc(obj) -> ObjDesc:
        return ObjDesc(obj.type, obj.color)

    # --- gymnasium API -----------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None and self.task_sampling == "instance":
            self.task_kind = None  # a seeded reset re-draws the instance's kind
        self._bot = None
        obs, info = super().reset(seed=seed, options=options)
        info["task_kind"] = self.task_kind
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        info["task_kind"] = self.task_kind
        return obs, reward, terminated, truncated, info

    def gen_obs(self) -> dict:
        """minigrid's observation plus, when ``render_text``, its sentences (§A.2).

        Agents that read only the symbolic view and the mission (Symbolic-PPO)
        build their envs with ``render_text=False``: the observation then has no
        ``descriptions`` entry and everything else is unchanged.
        """
        obs = super().gen_obs()
        if self.render_text:
            obs["descriptions"] = tuple(describe(obs["image"], self.language, self.text_fixes))
        return obs

    def bot_action(self) -> int:
        """The action minigrid's BabyAI planner bot suggests in the current state.

        Lives on the env so a bot agent works through ``VectorEnv.call`` for
        synchronous and asynchronous (subprocess) vector envs alike.
        """
        if self._bot is None:
            self._bot = BabyAIBot(self)
        return int(self._bot.replan())


class MixedLocal(TextLevel):
    """The five GLAM task kinds in one 8x8 room (two rooms for "open"), §A.5."""

    task_kinds = MIXED_TASK_KINDS
    open_door_colours: tuple[str, ...] = ("yellow", "green", "blue", "purple")
    open_colour_probability = 0.5
    before_probability = 0.5

    def _generate_task(self, kind: str):
        if kind == GOTO:
            objects = self._objects_then_agent(self.num_dists + 1)
            return GoToInstr(self._desc(self._rand_elem(objects)))
        if kind == PICKUP:
            objects = self._objects_then_agent(self.num_dists + 1)
            return PickupInstr(self._desc(self._rand_elem(objects)))
        if kind == PUTNEXT:
            moved, fixed = self._distinct_pair(self._objects_then_agent(self.num_dists + 2))
            return PutNextInstr(self._desc(moved), self._desc(fixed))
        if kind == PICKUP_SEQ_GOTO:
            picked, target = self._distinct_pair(self._objects_then_agent(self.num_dists + 2))
            first, second = PickupInstr(self._desc(picked)), GoToInstr(self._desc(target))
            return self._sequence(first, second)
        if kind == PICKUP_SEQ_PICKUP:
            picked, target = self._distinct_pair(self._objects_then_agent(self.num_dists + 2))
            first, second = PickupInstr(self._desc(picked)), PickupInstr(self._desc(target))
            return self._sequence(first, second)
        if kind == OPEN:
            return self._generate_open()
        return super()._generate_task(kind)

    def _sequence(self, first, second):
        """"A, then B" (Before) or "B after you A" (After), both meaning A then B."""
        if self._rand_float(0, 1) < self.before_probability:
            return BeforeInstr(first, second)
        return AfterInstr(second, first)

    def _generate_open(self):
        """Two rooms, a locked door between them, its key and 8 objects with the agent."""
        locked = self._rand_int(0, 2)
        free = 1 - locked
        colour = self._rand_elem(self.open_door_colours)
        # Room 0's right wall (index 0) is the wall it shares with room 1.
        self.add_door(0, 0, 0, color=colour, locked=True)
        self.add_object(free, 0, "key", colour)
        self.add_distractors(free, 0, num_distractors=self.num_dists, all_unique=False)
        self.place_agent(free, 0)
        self.check_objs_reachable()
        named = self._rand_float(0, 1) < self.open_colour_probability
        return OpenInstr(ObjDesc("door", colour if named else None))


class MixedTrainLocal(MixedLocal):
    """GLAM's training level: five kinds, held-out pairs never mentioned (§A.5)."""

    excluded_phrases = TRAIN_EXCLUDED_PHRASES


class MixedTestLocal(MixedLocal):
    """GLAM's test level: missions name only the five held-out pairs (§A.5)."""

    excluded_phrases = TEST_EXCLUDED_PHRASES
    open_door_colours = ("red", "grey")
    open_colour_probability = 1.0


class PickUpSeqPickUpLocal(MixedLocal):
    """The Q3 "new composition" test: "pick up A, then pick up B" / "pick up B after you pick up A".

    Absent from the authors' release (§A.5, §D.3); built here from the paper's
    figure examples with the training exclusion list.
    """

    task_kinds = (PICKUP_SEQ_PICKUP,)
    excluded_phrases = TRAIN_EXCLUDED_PHRASES


class PickUpSeqGoToLocal(MixedLocal):
    """"pick up A, then go to B" and "go to B after you pick up A" (§A.5)."""

    task_kinds = (PICKUP_SEQ_GOTO,)
    excluded_phrases = TRAIN_EXCLUDED_PHRASES


class PickUpThenGoToLocal(PickUpSeqGoToLocal):
    """Only the Before form: "pick up A, then go to B" (§A.5)."""

    before_probability = 1.0


class GoToAfterPickUpLocal(PickUpSeqGoToLocal):
    """Only the After form: "go to B after you pick up A" (§A.5)."""

    before_probability = 0.0


class GoToLocal(TextLevel):
    """BabyAI GoToLocal: one room, ``num_dists`` objects, go to one of them (§A.5).

    ``num_dists`` counts every object, the target included (8 in the paper;
    4 and 16 for the distractor study). ``language="fr"`` gives GoToFrench.
    """

    task_kinds = (GOTO,)

    def _generate_task(self, kind: str):
        objects = self._objects_then_agent(self.num_dists)
        return GoToInstr(self._desc(self._rand_elem(objects)))


class PickupLocal(TextLevel):
    """BabyAI PickupLocal: one room, 8 objects, pick up the named one (§A.5)."""

    task_kinds = (PICKUP,)

    def _generate_task(self, kind: str):
        objects = self._objects_then_agent(self.num_dists)
        return PickupInstr(self._desc(self._rand_elem(objects)))


class GoToRedBall(TextLevel):
    """BabyAI GoToRedBall: a red ball and 7 distractors; the mission never changes (§A.5)."""

    task_kinds = (GOTO,)

    def __init__(self, *, num_dists: int = 7, **kwargs):
        super().__init__(num_dists=num_dists, **kwargs)

    def _generate_task(self, kind: str):
        ball, _ = self.add_object(0, 0, "ball", "red")
        self.add_distractors(num_distractors=self.num_dists, all_unique=False)
        self.place_agent()
        self.check_objs_reachable()
        return GoToInstr(self._desc(ball))
