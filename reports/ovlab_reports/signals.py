"""Interruption that never leaves half-made output.

SIGINT, SIGTERM and SIGHUP become KeyboardInterrupt, so `finally` blocks remove what a tool
was writing. Steps that must not be cut in the middle (making the staging directory, moving
the finished files into place, cleaning up) run inside deferred(): a signal that arrives there
waits until the step is complete. At the commit point the tool stops listening: the output is
whole from then on, so the run finishes and says so rather than reporting an interruption
after the fact."""

import contextlib
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum, _frame):
    # One interruption is enough: a second signal must not cut the cleanup the first started.
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def raise_on_signal():
    for s in SIGNALS:
        signal.signal(s, _interrupt)


@contextlib.contextmanager
def deferred():
    """Holds SIGINT/SIGTERM/SIGHUP back for the duration; one that came meanwhile is delivered
    (as KeyboardInterrupt) when the block is left."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def past_commit_point():
    """Called with the signals deferred, once the output is in place: discards a pending
    signal and ignores later ones (setting SIG_IGN drops a pending signal, POSIX)."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
