"""Every word list of GLAM in one place: objects, colours, actions, test-set dictionaries.

The environment renders text from these lists, the prompts and test sets rewrite
text with them, and the tiny tokenizers are trained on the corpus built from
them, so a word added here reaches all three. Section numbers refer to
``shared/reference/glam_reference.md``.
"""

from __future__ import annotations

# --- Objects and colours (§A.1). Index order follows minigrid's encoding. -----

#: minigrid's OBJECT_TO_IDX order: index -> English name.
OBJECT_NAMES_EN: tuple[str, ...] = (
    "unseen", "empty", "wall", "floor", "door", "key", "ball", "box", "goal", "lava", "agent",
)
#: French object names by type index (§A.2).
OBJECT_NAMES_FR: tuple[str, ...] = (
    "non visible", "vide", "mur", "sol", "porte", "clef", "balle", "boîte", "but", "lave", "agent",
)
#: Colour names by minigrid colour index (§A.1): red 0 ... grey 5.
COLOURS_EN: tuple[str, ...] = ("red", "green", "blue", "purple", "yellow", "grey")
#: French colour names, feminine, by colour index (§A.2).
COLOURS_FR: tuple[str, ...] = ("rouge", "verte", "bleue", "violette", "jaune", "grise")
#: Door states by minigrid state index: open 0, closed 1, locked 2 (§A.1).
DOOR_STATES_EN: tuple[str, ...] = ("open", "closed", "locked")
DOOR_STATES_FR: tuple[str, ...] = ("ouverte", "fermée", "fermée à clef")

#: Types that missions can name; distractors are only key, ball, box (§A.1).
MISSION_OBJECT_TYPES: tuple[str, ...] = ("box", "ball", "key", "door")
DISTRACTOR_TYPES: tuple[str, ...] = ("key", "ball", "box")

# --- Actions (§A.1, §E.5, §D.3, §D.4). ---------------------------------------

#: The canonical six action strings, in env-index order 0..5.
ACTIONS: tuple[str, ...] = ("turn left", "turn right", "go forward", "pick up", "drop", "toggle")
#: The three action spaces of the action-space-size study (§E.5).
ACTION_SPACES: dict[str, tuple[str, ...]] = {
    "restricted": ACTIONS[:3],
    "canonical": ACTIONS,
    "augmented": ACTIONS + ("sleep", "do nothing", "think"),
}
#: Synonym action sets of the Q3 test (§D.3); index i maps to env action i.
SYNONYM_ACTION_SETS: dict[str, tuple[str, ...]] = {
    "synonyms_1": ("rotate left", "rotate right", "move ahead", "take", "release", "switch"),
    "synonyms_2": ("shift left", "shift right", "go ahead", "take", "release", "turn"),
}
#: English -> French action names (§D.4, ``dict_translation_actions``).
ACTION_TRANSLATION_FR: dict[str, str] = {
    "turn left": "tourner à gauche",
    "turn right": "tourner à droite",
    "go forward": "aller tout droit",
    "pick up": "attraper",
    "drop": "lâcher",
    "toggle": "basculer",
    "eat": "manger",
    "dance": "dancer",
    "sleep": "dormir",
    "do nothing": "ne rien faire",
    "cut": "couper",
    "think": "penser",
}

# --- Test-time substitution dictionaries (§D.2, §D.4). -----------------------

OTHER_NOUNS_EN = {"key": "chair", "ball": "table", "box": "car"}
ADJ_SYNONYMS_EN = {
    "red": "vermilion", "green": "jade", "blue": "cyan",
    "purple": "violet", "yellow": "golden", "grey": "silver",
}
INVENTED_NOUNS_EN = {"key": "dax", "ball": "xolo", "box": "afze"}
INVENTED_ADJS_EN = {
    "red": "faze", "green": "jatu", "blue": "croh",
    "purple": "vurst", "yellow": "gakul", "grey": "sil",
}
FIRST_PERSON_SPEAKER_EN = {"Goal of the agent": "I would like the agent to"}
FIRST_PERSON_AGENT_EN = {"Goal of the agent": "You have to"}

OTHER_NOUNS_FR = {"clef": "chaise", "balle": "table", "boîte": "voiture"}
#: §D.4 set 2, with the authors' key 'gris' kept (it turns "grise" into "argente").
ADJ_SYNONYMS_FR = {
    "rouge": "vermilion", "verte": "jade", "bleue": "cyan",
    "violette": "mauve", "jaune": "dorée", "gris": "argent",
}
INVENTED_NOUNS_FR = {"clef": "dax", "balle": "xolo", "boîte": "afze"}
INVENTED_ADJS_FR = {
    "rouge": "faze", "verte": "jatu", "bleue": "croh",
    "violette": "vurst", "jaune": "gakul", "grise": "sil",
}
FIRST_PERSON_SPEAKER_FR = {"But de l'agent": "Je veux que l'agent fasse"}
FIRST_PERSON_AGENT_FR = {"But de l'agent": "Tu dois faire"}

#: Mission words translated for the French goal (§D.4); see ``prompts``.
MISSION_WORDS_FR: dict[str, str] = {
    "box": "boîte", "ball": "balle", "key": "clef", "door": "porte",
    **dict(zip(COLOURS_EN, COLOURS_FR)),
}
