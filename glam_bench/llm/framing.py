"""The texts a scorer tokenizes: where the space before the action goes, and the chat template.

The §B.1 prompt ends with ``"Action k: "``. Scorers tokenize the prompt and
each candidate separately and join the ids, so a candidate's tokens are the
same whatever the prompt (tokenizing ``prompt + candidate`` as one string
would not even keep them as a suffix: a byte-level BPE tokenizer such as
SmolLM2's or GPT-2's merges the space into the next word, ``"Action 0: drop"``
ends with the token ``" drop"``, and ``"drop"`` alone adds nothing after the
prompt's trailing space token). Where that one space goes is
``candidate_space``:

* ``prompt`` (default, the authors' texts): the prompt keeps its trailing
  space and the candidate is tokenized as is (``"turn left"``). For T5's
  SentencePiece tokenizer this is what the paper's numbers come from (§B.2).
* ``candidate``: the space moves to the candidate (prompt ``"... Action 0:"``,
  candidate ``" turn left"``), so a byte-level BPE model sees the candidate's
  first word as the ``" turn"`` token it met in pretraining text.

``chat_template`` (default off) wraps the prompt as the user turn of the
tokenizer's chat template and opens the assistant turn
(``apply_chat_template(..., add_generation_prompt=True)``); the candidate is
the start of the assistant's answer. For instruction-tuned models such as
SmolLM2-135M-Instruct.
"""

from __future__ import annotations

CANDIDATE_SPACES: tuple[str, ...] = ("prompt", "candidate")


def check_framing(candidate_space: str, chat_template: bool, tokenizer) -> None:
    """Refuse an unknown space placement, or a chat template the tokenizer does not have."""
    if candidate_space not in CANDIDATE_SPACES:
        raise ValueError(f"unknown candidate_space {candidate_space!r}; expected one of {CANDIDATE_SPACES}")
    if chat_template and not getattr(tokenizer, "chat_template", None):
        raise ValueError("chat_template: true needs a tokenizer with a chat template (e.g. smollm2-135m); "
                         "this model's has none, set it to false")


def frame_prompt(prompt: str, candidate_space: str, chat_template: bool, tokenizer) -> str:
    """The prompt text as tokenized: trailing space moved out if ``candidate_space`` says so, chat-wrapped if asked."""
    if candidate_space == "candidate" and prompt.endswith(" "):
        prompt = prompt[:-1]
    if chat_template:
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )
    return prompt


def frame_candidate(candidate: str, candidate_space: str) -> str:
    """The candidate text as tokenized: with a leading space if ``candidate_space`` is ``candidate``."""
    return " " + candidate if candidate_space == "candidate" else candidate
