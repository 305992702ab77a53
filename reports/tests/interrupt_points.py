"""Runs report.py's main once per interruption point and prints what each run left behind.

usage: interrupt_points.py BENCH.json WORKDIR fresh|rerun

Point N sends the process SIGTERM at the N-th line executed in the report's own output code
(report.py, ovlab_reports/{cli,outdir,signals}.py), counted by a trace function, so every
moment between reading the inputs and exiting is hit, the same way on every run: no timer,
no race with the machine's load. Each run is a fork of this process (the imports are paid
once). Prints one JSON object per point: the exit status, whether the signal was sent, and a
snapshot of WORKDIR (path -> file type and content digest). Point 0 sends no signal."""

import hashlib
import json
import os
import signal
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.dirname(TESTS)
sys.path[:0] = [REPORTS]

import report  # noqa: E402
from ovlab_reports import cli  # noqa: E402

TRACED = {os.path.join(REPORTS, "report.py")} | {
    os.path.join(REPORTS, "ovlab_reports", f"{m}.py") for m in ("cli", "outdir", "signals")}


def snapshot(root):
    state = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                state[rel] = "link:" + os.readlink(path)
            elif os.path.isdir(path):
                state[rel] = "dir"
            else:
                with open(path, "rb") as f:
                    state[rel] = "file:" + hashlib.sha256(f.read()).hexdigest()
    return state


def run_point(n, argv, fired_w):
    """In the child: trace, signal at line event n, run main, exit with its status."""
    count = 0

    def local(frame, event, _arg):
        nonlocal count
        if event == "line":
            count += 1
            if count == n:
                os.write(fired_w, b"1")
                os.kill(os.getpid(), signal.SIGTERM)
        return local

    def on_call(frame, _event, _arg):
        return local if frame.f_code.co_filename in TRACED else None

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if n:
        sys.settrace(on_call)
    status = cli.run(lambda: report.main(argv), report.PROG)
    sys.settrace(None)
    os._exit(status)


def one_run(n, argv, work):
    fired_r, fired_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(fired_r)
        run_point(n, argv, fired_w)
    os.close(fired_w)
    _, status = os.waitpid(pid, 0)
    fired = os.read(fired_r, 1) == b"1"
    os.close(fired_r)
    return {"point": n, "fired": fired, "exit": os.waitstatus_to_exitcode(status),
            "state": snapshot(work)}


def main():
    bench, work, mode = sys.argv[1:4]
    out = os.path.join(work, "out", "runs", "r")
    argv = [bench, "--out", out, "--latest-link", os.path.join(work, "latest")]
    n = 0
    while True:
        if mode == "rerun" and not os.path.exists(out):
            assert one_run(0, argv, work)["exit"] == 0  # the report a re-run replaces
        result = one_run(n, argv, work)
        print(json.dumps(result), flush=True)
        if n and not result["fired"]:
            return 0  # past the last line the run executes
        if result["exit"] == 0 and mode == "fresh":
            _clear(work)
        n += 1


def _clear(work):
    import shutil
    for name in os.listdir(work):
        path = os.path.join(work, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
