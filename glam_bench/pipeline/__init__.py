"""The pipeline's side of the suite: presets, their checks, the plan of jobs, the result cache.

- ``config``: presets (YAML validated by ``preset_schema.yaml``) and the run configs resolved from them.
- ``preset_checks``: what can be checked about a preset before any job starts.
- ``plan``: a preset turned into its jobs (rule, wildcards, files, resources, run hash), for the
  Snakefile and ``glam-bench plan``.
- ``cost``: what the plan costs on a cluster, from measured ``glam-bench bench`` records
  (``glam-bench plan``).
- ``cache``: the committed result cache (``results/``): refresh and verify.

Torch-free: the Snakefile and ``glam-bench`` commands that only plan import it cheaply.
"""
