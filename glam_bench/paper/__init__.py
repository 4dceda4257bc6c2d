"""What the paper is, as data: its study and its language (no torch, no suite imports above it).

- ``study``: every agent, experiment and report item of the study, declared once.
- ``vocabulary``: every word list of GLAM (objects, colours, actions, test dictionaries).
- ``prompts``: the prompt text of the LLM agents and DRRN, and the test-time rewrites.

The lowest layer of the suite: the environments, models, agents, runtime,
evaluation, report and pipeline all read it; it reads none of them.
"""
