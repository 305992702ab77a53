"""One exception type for the runner: its message is the one-line error the user sees."""


class RunnerError(Exception):
    """A problem with input or environment, worded as: what is wrong, what to do."""
