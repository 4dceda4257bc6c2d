"""Table 2 of the paper (example prompts, §B.1), rendered by the suite's own prompt builder.

Each row sets the paper's text beside what :func:`glam_bench.paper.prompts.build_prompt`
and the suite's envs produce: first the paper's full example rebuilt from its
own observations and actions (the two must be identical, character for
character), then prompts the suite writes while playing (the BabyAI bot acting,
test seeds of §A.6), in English and in French (§D.4). Newlines are shown as
``\\n`` so the spaces around them are visible. No result file is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from glam_bench.agents import make_reference_agent
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.paper.prompts import PromptMemory, build_prompt
from glam_bench.report.items import PROMPT_TABLE
from glam_bench.report.tables import latex_escape
from glam_bench.runtime.results import atomic_open
from glam_bench.paper.vocabulary import ACTIONS

#: The paper's full example (§B.1: 3 observations, 2 past actions), as the authors' code writes it.
PAPER_EXAMPLE = (
    "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n "
    "Goal of the agent: go to the red ball \n Observation 0: You see a wall 2 steps forward, You "
    "see a red ball 1 step left, \n Action 0: go forward \n Observation 1: You see a wall 1 step "
    "forward, \n Action 1: pick up \n Observation 2: You carry a red ball, You see a wall 1 step "
    "forward, \n Action 2: ")
PAPER_EXAMPLE_INPUTS = (
    "go to the red ball",
    [["You see a wall 2 steps forward", "You see a red ball 1 step left"],
     ["You see a wall 1 step forward"],
     ["You carry a red ball", "You see a wall 1 step forward"]],
    ["go forward", "pick up"],
)
#: The layouts the paper states, with placeholders, for the rows our envs fill in.
PAPER_FIRST_STEP = ("Possible action of the agent: turn left, turn right, go forward, pick up, "
                    "drop, toggle \n Goal of the agent: {mission} \n Observation 0: {s1}, {s2}, "
                    "..., \n Action 0: ")
PAPER_FRENCH = ("Actions possibles pour l'agent: tourner à gauche, tourner à droite, aller tout "
                "droit, attraper, lâcher, basculer \n But de l'agent: aller à {det} {nom} {adj} "
                "\n Observation 0: {phrases}, \n Action 0: ")
COLUMNS = ["example", "paper", "ours", "identical"]


@dataclass(frozen=True)
class PlayedPrompt:
    """Where a played row comes from: level, steps the bot took first, language, French goal."""

    label: str
    env: str
    steps: int
    paper: str
    language: str = "en"
    french_goal: str = "correct"
    #: Run seed of the test env (§A.6); 8 gives "go to the yellow ball", where the goals differ.
    seed: int = 1


PLAYED = (
    PlayedPrompt("First step of a GoToLocal episode (§B.1)", "BabyAI-Text-GoToLocal-v0", 0,
                 PAPER_FIRST_STEP),
    PlayedPrompt("MixedTrainLocal after 2 actions of the bot (§B.1, 3 observations)",
                 "BabyAI-Text-MixedTrainLocal-v0", 2, PAPER_EXAMPLE),
    PlayedPrompt("French GoToLocal, the suite's goal (§D.4, training.french_goal: correct)",
                 "BabyAI-Text-GoToFrench-v0", 0, PAPER_FRENCH, "fr", "correct", 8),
    PlayedPrompt("French GoToLocal, the authors' goal (§D.4, training.french_goal: authors)",
                 "BabyAI-Text-GoToFrench-v0", 0, PAPER_FRENCH, "fr", "authors", 8),
)


def played_prompt(spec: PlayedPrompt) -> str:
    """The prompt the suite builds after the bot's first ``spec.steps`` actions in test env 0."""
    env = make_vector_env(spec.env, 1)
    try:
        observations, _ = env.reset(seed=env_seeds(spec.seed, 1, "test"))
        bot = make_reference_agent("bot", env)
        memory = PromptMemory(3)
        for _ in range(spec.steps):
            memory.add_observation(observations["descriptions"][0])
            action = bot.act(observations)
            memory.add_action(ACTIONS[int(action[0])])
            observations, *_ = env.step(action)
        memory.add_observation(observations["descriptions"][0])
        options = {"language": spec.language}
        if spec.language == "fr":
            options["french_goal"] = spec.french_goal
        return memory.prompt(observations["mission"][0], ACTIONS, **options)
    finally:
        env.close()


def prompt_table() -> pd.DataFrame:
    """The rows of the table: the paper's example rebuilt, then prompts played by the suite."""
    rebuilt = build_prompt(*PAPER_EXAMPLE_INPUTS, ACTIONS)
    rows = [{"example": "The paper's example rebuilt from its own inputs (§B.1)",
             "paper": PAPER_EXAMPLE, "ours": rebuilt,
             "identical": "yes" if rebuilt == PAPER_EXAMPLE else "NO"}]
    rows += [{"example": spec.label, "paper": spec.paper, "ours": played_prompt(spec),
              "identical": "layout"} for spec in PLAYED]
    return pd.DataFrame(rows, columns=COLUMNS)


CAPTION = ("Table 2 of the paper (example prompts, §B.1, §D.4) beside the suite's own prompt "
           "builder and envs. Row 1 rebuilds the paper's example from its observations and "
           "actions and must be identical; the other rows are prompts the suite writes while "
           "the BabyAI bot plays test env 0 of run seed 1 (French rows: 8) (§A.6), set beside "
           "the layout the paper states. Newlines are shown as \\n.")


def _visible(text: str) -> str:
    return text.replace("\n", "\\n")


def to_markdown(table: pd.DataFrame) -> str:
    lines = ["| Example | The paper's text | Ours (glam_bench.paper.prompts, envs) | Identical |",
             "|---|---|---|---|"]
    for row in table.itertuples(index=False):
        cells = [row.example, f"`{_visible(row.paper)}`", f"`{_visible(row.ours)}`",
                 row.identical]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def to_latex(table: pd.DataFrame) -> str:
    body = []
    for row in table.itertuples(index=False):
        cells = [latex_escape(row.example), r"\texttt{" + latex_escape(_visible(row.paper)) + "}",
                 r"\texttt{" + latex_escape(_visible(row.ours)) + "}", row.identical]
        body.append(" & ".join(cells) + r" \\ \midrule")
    return "\n".join([
        r"\begin{table*}[t]", r"\centering", r"\scriptsize",
        r"\begin{tabular}{p{0.14\linewidth}p{0.37\linewidth}p{0.37\linewidth}l}", r"\toprule",
        r"Example & The paper's text & Ours & Identical \\", r"\midrule", *body,
        r"\bottomrule", r"\end{tabular}", rf"\caption{{{latex_escape(CAPTION)}}}",
        r"\label{tab:prompts}", r"\end{table*}", "",
    ])


def write_prompt_tables(_data: object, out_dir: Path) -> list[Path]:
    """Write the prompt table as ``<item>.{csv,md,tex}``; the report data is not needed."""
    table = prompt_table()
    outputs = {"csv": table.to_csv(index=False), "md": f"{CAPTION}\n\n{to_markdown(table)}",
               "tex": to_latex(table)}
    paths = []
    for suffix, text in outputs.items():
        path = Path(out_dir) / f"{PROMPT_TABLE}.{suffix}"
        with atomic_open(path) as handle:
            handle.write(text)
        paths.append(path)
    return paths
