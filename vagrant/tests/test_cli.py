"""Argument errors: one clear line on stderr, exit 2, nothing created."""
import os
import subprocess

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run-kernels")


def run(*args):
    return subprocess.run([RUNNER, *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--kernels", "4.19"], "unknown kernel '4.19' in --kernels: choose from 5.10 (bullseye)"),
        (["--kernels", ","], "--kernels is empty"),
        (["--timeout", "0"], "--timeout 0 must be a positive number"),
        (["--memory", "64"], "--memory 64 is too small"),
        (["--payload", "nope"], "invalid choice: 'nope'"),
        (["--build-dir", "/nonexistent/build"], "/nonexistent/build/conformance/ovlab-conformance not found: build it"),
        (["--payload", "selftest", "--bench", "a b"], "--bench 'a b' is not a profile name"),
        (["--payload", "selftest", "--bench-filter", "copy_up"], "--bench-filter needs --bench PROFILE"),
        (["--kernels", "6.2.0-1"], "no Debian suite ships kernel 6.2.0-1"),
        (["--modules", "/lib/modules"], "--modules /lib/modules must follow the --kernel PATH it belongs to"),
        (["--kernel", "/nonexistent/bzImage"], "--kernel /nonexistent/bzImage is not a file"),
        (["--kernel", "/bin/sh"], "/bin/sh is not a bzImage (no setup header): pass arch/x86/boot/bzImage"),
        (["--shard", "3/2"], "--shard 3/2: the shard number must be 1 to 2"),
        (["--shard", "half"], "--shard 'half' is not I/N"),
        (["--disk-size", "1M"], "--disk-size 1M is too small: at least 256M"),
        (["--disk-size", "lots"], "--disk-size 'lots' is not a size"),
        (["--disk-role", "pool"], "invalid choice: 'pool'"),
        (["--merge", "/tmp", "--kernels", "6.1"], "--merge takes only --out (and the directories), not --kernels"),
        (["--merge", "/nonexistent/shard"], "/nonexistent/shard/index.json not found"),
    ],
)
def test_bad_arguments(tmp_path, args, message):
    out = tmp_path / "out"
    proc = run("--out", str(out), *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run-kernels: ") and message in lines[0], proc.stderr
    assert not out.exists()


def test_out_must_not_be_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    proc = run("--out", str(f), "--payload", "selftest")
    assert proc.returncode == 2 and "is not a directory" in proc.stderr


def test_out_is_required(tmp_path):
    proc = run("--payload", "selftest")
    assert proc.returncode == 2 and "--out" in proc.stderr
