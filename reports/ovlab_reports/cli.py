"""What report.py and compare.py share: one-line errors, exit status 2, clean interruption."""

import signal
import sys

from .errors import InputError

EXIT_UNUSABLE = 2


def _terminate(signum, _frame):
    # Turned into an exception so `finally` blocks remove half-written output.
    raise KeyboardInterrupt(f"signal {signum}")


def run(main, prog: str) -> int:
    """Calls main(); an InputError becomes 'prog: error: message' and exit status 2."""
    signal.signal(signal.SIGTERM, _terminate)
    # A closed pipe (| head) ends the process like any Unix tool, without a traceback.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        return main()
    except InputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was written", file=sys.stderr)
        return 130


def warn(prog: str, message: str):
    print(f"{prog}: warning: {message}", file=sys.stderr)
