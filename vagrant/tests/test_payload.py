import os
import subprocess

import pytest

from ovlab_vm import payload
from ovlab_vm.errors import RunnerError

RUN_PAYLOAD = os.path.join(payload.GUEST_DIR, "run-payload.sh")


def test_steps_script_quotes_and_places_out():
    p = payload.Payload("x", {}, [payload.Step("conf", ["ovlab-conformance", "--target=kernel,engine", "--matrix-out", "{out}/m j.json"])])
    line = p.steps_script().splitlines()[1]
    assert line == "step conf \"$OVLAB_BIN\"/ovlab-conformance --target=kernel,engine --matrix-out \"$OVLAB_OUT\"'/m j.json'"


def test_conformance_payload_needs_the_binary(tmp_path):
    with pytest.raises(RunnerError, match=r"ovlab-conformance not found: build it .*--payload selftest"):
        payload.build_payload("conformance", str(tmp_path), "kernel,engine")


def test_conformance_and_bench_payload(tmp_path):
    for rel in (payload.CONFORMANCE_BIN, payload.BENCH_BIN):
        path = tmp_path / rel
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    p = payload.build_payload("conformance", str(tmp_path), "kernel,engine,fuse", "quick", "^copy_up/")
    assert [s.name for s in p.steps] == ["conformance", "bench"]
    assert p.steps[0].argv[1] == "--target=kernel,engine,fuse"
    assert p.steps[1].argv == ["ovlab-bench", "--profile", "quick", "--out", "{out}/bench.json", "--benchmark_filter=^copy_up/"]
    assert p.outputs == ["matrix.json", "bench.json"]


def test_bench_profile_name_is_checked(tmp_path):
    with pytest.raises(RunnerError, match="not a profile name"):
        payload.build_payload("selftest", str(tmp_path), "kernel", "x; rm -rf /")


def test_bench_needs_its_binary(tmp_path):
    with pytest.raises(RunnerError, match="ovlab-bench not found"):
        payload.build_payload("selftest", str(tmp_path), "kernel", "quick")


def test_parse_ldd():
    text = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibmount.so.1 => /lib/x86_64-linux-gnu/libmount.so.1 (0x00007f)\n"
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n"
    )
    assert payload.parse_ldd(text) == [
        "/lib/x86_64-linux-gnu/libmount.so.1",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/ld-linux-x86-64.so.2",
    ]


def test_shared_libraries_of_a_real_binary():
    libs = payload.shared_libraries("/bin/ls")
    assert any("libc.so" in lib for lib in libs) and all(os.path.isabs(lib) for lib in libs)
    assert payload.shared_libraries(RUN_PAYLOAD) == []


def test_run_payload_reports_first_failure(tmp_path):
    bin_dir, out = tmp_path / "bin", tmp_path / "out"
    bin_dir.mkdir()
    out.mkdir()
    (bin_dir / "ok").write_text("#!/bin/sh\necho fine > \"$1\"\n")
    (bin_dir / "bad").write_text("#!/bin/sh\necho broken; exit 3\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    steps = payload.Payload("t", {}, [payload.Step("one", ["ok", "{out}/one.txt"]), payload.Step("two", ["bad"]),
                                      payload.Step("three", ["ok", "{out}/three.txt"])])
    (tmp_path / "steps.sh").write_text(steps.steps_script())
    proc = subprocess.run(["sh", RUN_PAYLOAD, str(tmp_path / "steps.sh"), str(out), str(bin_dir)], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "two| broken" in proc.stdout
    assert [line.split()[:2] for line in (out / "steps.txt").read_text().splitlines()] == [["one", "0"], ["two", "3"], ["three", "0"]]
    assert (out / "one.txt").read_text() == "fine\n" and (out / "three.txt").exists()


def test_bounded_run_kills_grandchildren(tmp_path):
    from ovlab_vm import bounded

    pidfile = tmp_path / "pid"
    code, wall, _ = bounded.run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], 1)
    assert code is None and wall < 10
    pid = int(pidfile.read_text())
    # No wait here: run() returns only once the group has died.
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_bounded_run_returns_exit_and_output():
    from ovlab_vm import bounded

    code, _, out = bounded.run(["sh", "-c", "echo hi; exit 4"], 10)
    assert (code, out) == (4, "hi\n")


def test_guest_env_points_at_ovlab_fuse(tmp_path):
    fuse = tmp_path / "engine" / "fuse" / "ovlab-fuse"
    fuse.parent.mkdir(parents=True)
    fuse.write_text("#!/bin/sh\n")
    fuse.chmod(0o755)
    p = payload.build_payload("selftest", str(tmp_path), "kernel")
    assert p.binaries["ovlab-fuse"] == str(fuse)
    assert p.guest_env("/ovlab/bin") == {"OVLAB_FUSE": "/ovlab/bin/ovlab-fuse"}
    assert payload.build_payload("selftest", str(tmp_path / "none"), "kernel").guest_env("/b") == {}


def test_conformance_case_filter(tmp_path):
    path = tmp_path / payload.CONFORMANCE_BIN
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    p = payload.build_payload("conformance", str(tmp_path), "kernel", cases="Metacopy*:Layers/*")
    assert p.steps[0].argv[-1] == "--gtest_filter=Metacopy*:Layers/*"
    with pytest.raises(RunnerError, match="not a GoogleTest filter"):
        payload.build_payload("conformance", str(tmp_path), "kernel", cases="x; reboot")
    with pytest.raises(RunnerError, match="needs --payload conformance"):
        payload.build_payload("selftest", str(tmp_path), "kernel", cases="X*")
