"""Evaluating trained and reference agents: the commands above the agents and the runtime.

- ``evaluate``: one run on one test set, a tidy per-episode CSV (§D.1).
- ``protocol_effect``: how much the test protocol (counting, task sampling) moves a success rate.

What they count with sits lower, where agents and training read it too: the
episode runner (:mod:`glam_bench.rl.episodes`) and the test sets of Q2/Q3
(:mod:`glam_bench.paper.test_sets`).
"""
