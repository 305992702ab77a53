"""A child process with a time limit that never outlives the runner."""

import os
import signal
import subprocess
import time


def run(cmd, timeout, stdout=subprocess.PIPE):
    """Runs cmd (stderr joined to stdout). Returns (exit code, or None when it was killed at the
    timeout; wall seconds; captured output when stdout is PIPE, else ""). On an exception such as
    KeyboardInterrupt (SIGINT/SIGTERM) the child is killed before the exception goes on.
    The child leads its own process group, and the whole group is killed: a payload step's
    grandchildren (test binaries, FUSE daemons) go with it, and are gone when this returns."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, _ = proc.communicate()
        code = None
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    text = out.decode("utf-8", "replace") if isinstance(out, bytes) else ""
    return code, time.monotonic() - start, text


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    # SIGKILL is delivered asynchronously: wait until no member of the group still runs (an
    # exited grandchild stays a zombie until its new parent reaps it; it holds nothing).
    while live_members(proc.pid):
        time.sleep(0.01)


def live_members(pgid):
    """Pids of the processes in process group pgid that have not exited."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            pids.append(int(entry))
    return pids
