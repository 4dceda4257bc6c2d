"""Base class of the suite's user-facing errors: the CLI prints them as one clear line."""


class GlamBenchError(Exception):
    """An error whose message names the problem and the fix; no traceback needed."""
