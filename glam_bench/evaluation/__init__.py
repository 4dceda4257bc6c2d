"""Episodes and test sets: what agents, training and evaluation all count with.

:mod:`~glam_bench.evaluation.runner` turns vector-env steps into episodes and
plays test episodes; :mod:`~glam_bench.evaluation.test_sets` declares the
generalisation tests. Both sit below the agents and import none of them; the
command that evaluates a run's agent is :mod:`glam_bench.evaluate`, beside
:mod:`glam_bench.training`.
"""
