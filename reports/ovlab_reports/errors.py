"""The one error type the command-line tools turn into a one-line message and exit status 2."""


class InputError(Exception):
    """An input file or option cannot be used; the message says what is wrong and what to do."""
