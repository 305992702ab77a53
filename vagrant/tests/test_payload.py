import json
import os
import re
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


def test_steps_of_one_part(tmp_path):
    for rel in (payload.CONFORMANCE_BIN, payload.BENCH_BIN):
        path = tmp_path / rel
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    p = payload.build_payload("conformance", str(tmp_path), "kernel", "quick", "^copy_up/", cases="Rename*")
    assert p.steps_script() == p.steps_script((0, 1))
    lines = p.steps_script((1, 3)).splitlines()
    assert lines[1] == ("step conformance env GTEST_TOTAL_SHARDS=3 GTEST_SHARD_INDEX=1 \"$OVLAB_BIN\"/ovlab-conformance "
                        "--target=kernel --matrix-out=\"$OVLAB_OUT\"/matrix.json '--gtest_filter=Rename*'")
    assert lines[2] == "step bench \"$OVLAB_BIN\"/bench-part.sh 1 3 \"$OVLAB_OUT\"/bench.json quick '^copy_up/'"
    assert p.binaries["bench-part.sh"].endswith("guest/bench-part.sh")
    assert p.spec()["steps"][1][:3] == ["ovlab-bench", "--profile", "quick"]


FAKE_BENCH = r"""#!/bin/sh
# ovlab-bench stand-in: lists LISTING, and "runs" (writes the names it selects) for a filter.
list_only=0 filter=. out=
for a in "$@"; do
  case $a in
    --benchmark_list_tests=true) list_only=1 ;;
    --benchmark_filter=*) filter=${a#--benchmark_filter=} ;;
  esac
done
[ "$1" = --profile ] || exit 9
while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
if [ "$list_only" = 1 ]; then grep -E -- "$filter" "$LISTING"; exit 0; fi
grep -E -- "$filter" "$LISTING" >"$out"
"""

LISTING = """\
bound/copy/ext4/bytes:1048576/iterations:3/manual_time
copy_up/overlay2/ext4/bytes:4096/dense/iterations:8/manual_time
copy_up/overlay2/ext4/bytes:1048576/dense/iterations:3/manual_time
bound/dd/ext4/bytes:1048576/dense/on:overlay2/iterations:3/manual_time
copy_up/fuse-overlayfs/ext4/bytes:1048576/dense/iterations:3/manual_time
bound/dd/ext4/bytes:1048576/dense/on:fuse-overlayfs/iterations:3/manual_time
copy_up/fuse/ext4/bytes:1048576/dense/iterations:3/manual_time
lookup/overlay2/ext4/depth:1/where:top/op:stat/warm/iterations:5/manual_time
copy_up/overlay2/btrfs/bytes:4096/dense/iterations:8/manual_time
lookup/btrfs/btrfs/depth:1/where:top/op:stat/warm/iterations:5/manual_time
"""


def run_bench_parts(tmp_path, parts, bench_filter="", filter_max=None):
    """Runs bench-part.sh for every part against the stand-in; returns [(names run, stdout)] per part."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "ovlab-bench").write_text(FAKE_BENCH)
    (bin_dir / "ovlab-bench").chmod(0o755)
    (tmp_path / "listing").write_text(LISTING)
    env = dict(os.environ, OVLAB_BIN=str(bin_dir), LISTING=str(tmp_path / "listing"))
    if filter_max:
        env["OVLAB_BENCH_FILTER_MAX"] = str(filter_max)
    ran = []
    for part in range(parts):
        out = tmp_path / f"p{part}" / "bench.json"
        out.parent.mkdir()
        argv = ["sh", os.path.join(payload.GUEST_DIR, "bench-part.sh"), str(part), str(parts), str(out), "quick"]
        proc = subprocess.run(argv + ([bench_filter] if bench_filter else []), capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        listed = [n for n in LISTING.split() if re.search(bench_filter, n)] if bench_filter else LISTING.split()
        assert (tmp_path / f"p{part}" / "bench-list.txt").read_text().split() == listed
        files = sorted(out.parent.glob("bench*.json"))
        names = [n for f in files for n in f.read_text().split()]
        assert names or "is empty: nothing to run" in proc.stdout
        for name in names:  # a dd instance runs with its target's copy-up (same stack)
            if name.startswith("bound/dd/") and not bench_filter:
                target = name.split("/on:")[1].split("/")[0]
                assert any(n.startswith(f"copy_up/{target}/ext4/") for n in names), name
        ran.append((names, proc.stdout, [f.name for f in files]))
    return ran


@pytest.mark.parametrize("parts", [1, 2, 3, 9])
def test_bench_part_runs_each_stack_once(tmp_path, parts):
    ran = run_bench_parts(tmp_path, parts)
    assert sorted(n for names, _, _ in ran for n in names) == sorted(LISTING.split())
    if parts == 2:  # stacks in listed order: copy/ext4 overlay2/ext4 fuse-overlayfs/ext4 fuse/ext4 overlay2/btrfs btrfs/btrfs
        assert [n.split("/")[1] for n in ran[0][0] if not n.startswith("bound/dd")] == ["copy", "fuse-overlayfs", "overlay2"]


@pytest.mark.parametrize("filter_max", [None, 120])
def test_bench_part_keeps_the_user_filter(tmp_path, filter_max):
    """With --bench-filter a part runs the filtered instances of its stacks by exact name (a regex
    cannot say "this filter and these stacks"); names that exceed the limit go in several runs."""
    ran = run_bench_parts(tmp_path, 2, "/ext4/bytes:1048576/", filter_max)
    wanted = [n for n in LISTING.split() if "/ext4/bytes:1048576/" in n]
    assert sorted(n for names, _, _ in ran for n in names) == sorted(wanted)
    files = [f for _, _, fs in ran for f in fs]
    if filter_max:
        assert "bench.2.json" in files and "filter too long for one" in "".join(out for _, out, _ in ran)
    else:
        assert set(files) == {"bench.json"}


def test_join_bench_runs_in_listed_order(tmp_path):
    from ovlab_vm import merge

    names = ["a/t/b/1", "a/t/b/2", "a/u/b/3"]
    (tmp_path / "bench-list.txt").write_text("\n".join(names) + "\n")
    for i, chunk in ((1, ["a/t/b/2"]), (2, ["a/u/b/3", "a/t/b/1"])):
        rows = [{"name": n, "run_name": n, "run_type": "iteration"} for n in chunk]
        (tmp_path / f"bench.{i}.json").write_text(json.dumps({"context": {"kernel": "k", f"backing.{i}": "x"},
                                                              "benchmarks": rows}))
    merge.join_bench_runs(str(tmp_path))
    joined = json.loads((tmp_path / "bench.json").read_text())
    assert [r["name"] for r in joined["benchmarks"]] == names
    assert joined["context"] == {"kernel": "k", "backing.1": "x", "backing.2": "x"}
    assert sorted(os.listdir(tmp_path)) == ["bench-list.txt", "bench.json"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts an overlay: needs root")
def test_selftest_shards_are_a_partition(tmp_path):
    ids = {}
    for total, index in [(1, 0), (3, 0), (3, 1), (3, 2)]:
        out = tmp_path / f"m{total}{index}.json"
        env = dict(os.environ, GTEST_TOTAL_SHARDS=str(total), GTEST_SHARD_INDEX=str(index))
        proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh",
                               os.path.join(payload.GUEST_DIR, "selftest.sh"), "--matrix-out", str(out)],
                              capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        matrix = json.loads(out.read_text())
        ids[(total, index)] = [c["id"] for c in matrix["cases"]]
        assert matrix["summary"]["by_target"]["kernel"]["pass"] == len(ids[(total, index)])
    whole = ids[(1, 0)]
    assert [ids[(3, i % 3)][i // 3] for i in range(len(whole))] == whole  # GoogleTest's i mod N
