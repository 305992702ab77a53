"""What report.py and compare.py share: one-line errors, exit status 2, clean interruption."""

import signal
import sys

from . import signals
from .errors import InputError

EXIT_UNUSABLE = 2


def run(main, prog: str) -> int:
    """Calls main(); an InputError becomes 'prog: error: message' and exit status 2."""
    # A closed pipe (| head) ends the process like any Unix tool, without a traceback.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        signals.raise_on_signal()
        return main()
    except InputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was written", file=sys.stderr)
        return 130


def warn(prog: str, message: str):
    print(f"{prog}: warning: {message}", file=sys.stderr)
