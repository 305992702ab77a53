"""report.py end to end: inputs from files and per-kernel directories, the outputs, bad input."""

import base64
import os
import re

import fixtures
from test_plots import PNG_SIGNATURE

PLOTS = ("copy_up", "lookup", "inode_usage", "write_heavy")


def vm_runner_dir(tmp_path, kernels=("5.10.0-30-amd64", "6.1.0-28-amd64", "6.18.44")):
    """The VM runner's layout: DIR/<kernel>/{bench,matrix}.json."""
    root = tmp_path / "runs"
    for i, kernel in enumerate(kernels):
        d = root / kernel
        d.mkdir(parents=True)
        fixtures.BenchBuilder(kernel=kernel, seed=i, targets=("overlay2", "engine", "fuse"),
                              slow={"engine": 1 + i * 0.2}).default_suite().write(d / "bench.json")
        fixtures.write_json(d / "matrix.json", fixtures.matrix(kernel))
    return root


def test_multi_kernel_directory(tmp_path, tool):
    out = tmp_path / "out" / "20261128-060000"
    proc = tool("report.py", vm_runner_dir(tmp_path), "--out", out)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.rstrip("\n").splitlines()
    assert lines[0] == str(out / "report.html")
    assert len(lines) == 6, proc.stdout
    assert "3 benchmark runs (5.10.0-30-amd64, 6.1.0-28-amd64, 6.18.44" in lines[1]
    assert lines[5].startswith("  Conformance 5.10.0-30-amd64 (5 cases): kernel 5 pass;")
    # The `latest` link sits beside the timestamped directory.
    assert os.readlink(tmp_path / "out" / "latest") == "20261128-060000"

    page = (out / "report.html").read_text()
    for plot in PLOTS:
        assert (out / f"{plot}.png").read_bytes().startswith(PNG_SIGNATURE)
        embedded = re.search(rf'<figure id="{plot}"><img alt="[^"]*" '
                             r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
        assert embedded, plot
        assert base64.b64decode(embedded.group(1)) == (out / f"{plot}.png").read_bytes()
    # Self-contained: no stylesheet, script or image fetched from elsewhere.
    assert not re.search(r'<(link|script)|src="(?!data:)', page)
    for kernel in ("5.10.0-30-amd64", "6.1.0-28-amd64", "6.18.44"):
        assert f"Ratio to kernel overlay2 on the same backing — {kernel}" in page
        assert f"Conformance: target × family — {kernel}" in page
    assert "Runs compared" in page
    # engine is 1.2x and 1.4x slower on the later kernels: exactly its cells are marked.
    engine = sum(1 for line in (tmp_path / "runs" / "6.18.44" / "bench.json").read_text()
                 .splitlines() if '"name": "' in line and "/engine/" in line
                 and "_median" in line)
    assert engine and page.count('class="slower" title="SLOWER') == 2 * engine
    assert 'class="faster"' not in page
    # Every deviation is listed with its reason.
    assert page.count("copies the whole tree: kernel: rename /d /e = EXDEV") == 3
    assert page.count("kernel: view /wh = ENOENT | target: view /wh = file") == 3
    md = (out / "summary.md").read_text()
    assert "![Copy-up latency vs file size](copy_up.png)" in md
    assert "| Rename/dir_rename_exdev | rename | RN1 | fuse-overlayfs | known-deviation |" in md
    assert not [f for f in os.listdir(tmp_path / "out") if f.startswith(".")]


def test_copy_up_headline_ranks_only_drivers_that_copy_up(tmp_path, tool):
    # vfs is made the fastest: its first write is a plain write (the layer holds the file).
    bench = fixtures.BenchBuilder(slow={"vfs": 0.01}).default_suite().write(tmp_path / "b.json")
    proc = tool("report.py", bench, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.strip().startswith("Copy-up:"))
    assert "best vfs" not in line and "(vfs: no copy-up, not ranked)" in line, line


def test_context_is_reported(tmp_path, tool):
    bench = fixtures.quick().write(tmp_path / "b.json")
    proc = tool("report.py", bench, "--out", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "r" / "report.html").read_text()
    for text in ("Debian GNU/Linux 12 (bookworm)", "Test CPU @ 2.40GHz",
                 "backing xfs-reflink", "mkfs.xfs -f -m reflink=1 -n ftype=1 (2 GiB loop)",
                 "target fuse-overlayfs", "fuse-overlayfs 1.10",
                 "devicemapper: kernel has no dm-thin target"):
        assert text in page, text
    assert not (tmp_path / "latest").exists()


def test_two_runs_on_one_kernel_are_told_apart(tmp_path, tool):
    a = fixtures.quick(seed=1).write(tmp_path / "before.json")
    b = fixtures.quick(seed=2).write(tmp_path / "after.json")
    proc = tool("report.py", a, b, "--out", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert "6.18.44 (before), 6.18.44 (after)" in proc.stdout


def test_emulated_run_is_flagged(tmp_path, tool):
    data = fixtures.quick().json()
    data["context"]["emulated"] = "true"
    path = fixtures.write_json(tmp_path / "vm.json", data)
    proc = tool("report.py", path, "--out", tmp_path / "r")
    assert proc.returncode == 0
    assert "emulated VM" in proc.stdout and "not comparable" in proc.stderr


def test_rerun_replaces_an_earlier_report(tmp_path, tool):
    bench = fixtures.quick().write(tmp_path / "b.json")
    assert tool("report.py", bench, "--out", tmp_path / "r").returncode == 0
    # The second run has no lookup results: the earlier lookup plot must not linger.
    data = fixtures.quick().json()
    data["benchmarks"] = [r for r in data["benchmarks"] if not r["name"].startswith("lookup/")]
    fixtures.write_json(bench, data)
    assert tool("report.py", bench, "--out", tmp_path / "r").returncode == 0
    assert sorted(os.listdir(tmp_path)) == ["b.json", "r"]
    assert sorted(os.listdir(tmp_path / "r")) == [
        "copy_up.png", "inode_usage.png", "report.html", "summary.md", "write_heavy.png"]


def run_sh_layout(tmp_path):
    """run.sh's layout: the inputs and a log already sit in the output directory."""
    out = tmp_path / "out" / "20261128T070000Z"
    out.mkdir(parents=True)
    fixtures.quick().write(out / "bench.json")
    fixtures.write_json(out / "conformance.json", fixtures.matrix())
    (out / "conformance.log").write_text("log")
    return out


def test_report_into_the_directory_that_holds_its_inputs(tmp_path, tool):
    out = run_sh_layout(tmp_path)
    proc = tool("report.py", out / "bench.json", out / "conformance.json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == str(out / "report.html")
    assert {"bench.json", "conformance.json", "conformance.log", "report.html", "summary.md",
            "copy_up.png"} <= set(os.listdir(out))
    assert (out / "conformance.log").read_text() == "log"
    assert os.readlink(tmp_path / "out" / "latest") == out.name
    assert not [f for f in os.listdir(tmp_path / "out") if f.startswith(".")]


def test_bad_input_leaves_nothing(tmp_path, tool):
    out = run_sh_layout(tmp_path)
    before = sorted(os.listdir(out))
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    proc = tool("report.py", out / "bench.json", empty, "--out", out)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"report.py: error: {empty}: file is empty; was the run interrupted? Rerun it and pass "
        "the file it writes"]
    assert sorted(os.listdir(out)) == before
    assert sorted(os.listdir(tmp_path / "out")) == [out.name]
    proc = tool("report.py", empty, "--out", tmp_path / "new")
    assert proc.returncode == 2 and not (tmp_path / "new").exists()


def test_out_must_be_a_directory(tmp_path, tool):
    bench = fixtures.quick().write(tmp_path / "b.json")
    proc = tool("report.py", bench, "--out", bench)
    assert proc.returncode == 2 and "is not a directory" in proc.stderr


def test_empty_directory_and_other_schema(tmp_path, tool):
    (tmp_path / "nothing").mkdir()
    proc = tool("report.py", tmp_path / "nothing", "--out", tmp_path / "r")
    assert proc.returncode == 2 and "holds no .json files" in proc.stderr
    other = fixtures.write_json(tmp_path / "o.json", {"schema": "something-else/1"})
    proc = tool("report.py", other, "--out", tmp_path / "r")
    assert proc.returncode == 2 and "neither ovlab benchmark JSON" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_matrix_alone(tmp_path, tool):
    m = fixtures.write_json(tmp_path / "m.json", fixtures.matrix())
    proc = tool("report.py", m, "--out", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert ("Conformance 6.18.44 (5 cases): kernel 5 pass; engine 4 pass, 1 fail; fuse skipped; "
            "fuse-overlayfs 4 pass, 1 known-deviation") in proc.stdout


def _interruption_points(tmp_path, mode):
    """Runs interrupt_points.py: one report per moment a SIGTERM can land (see its docstring)."""
    import json
    import subprocess
    from conftest import PYTHON, TESTS
    bench = fixtures.BenchBuilder(targets=("overlay2", "fuse"), backings=("ext4",), reps=3)
    bench._copy_up("overlay2", "ext4", fixtures.BANDWIDTH["ext4"])
    bench._copy_up("fuse", "ext4", fixtures.BANDWIDTH["ext4"])
    bench.write(tmp_path / "b.json")
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([PYTHON, os.path.join(TESTS, "interrupt_points.py"),
                           str(tmp_path / "b.json"), str(work), mode],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _assert_all_or_nothing(points, before):
    """Point 0 is the uninterrupted run; every other run either exited 0 with exactly that
    result, or stopped (exit 130, or killed before the handlers existed) with `before` intact."""
    whole = points[0]["state"]
    assert points[0]["exit"] == 0 and "out/runs/r/report.html" in whole
    assert whole["latest"] == "link:out/runs/r"
    stopped = completed = 0
    for p in points[1:-1]:
        assert p["fired"]
        if p["exit"] == 0:
            completed += 1
            assert p["state"].keys() == whole.keys(), p["point"]
        else:
            stopped += 1
            assert p["exit"] in (130, -15), p
            assert p["state"] == before, p["point"]
    # The signal landed before, inside and after the report was built and committed.
    assert stopped > 20 and completed > 5, (stopped, completed)


def test_sigterm_at_every_point_of_a_first_report(tmp_path):
    _assert_all_or_nothing(_interruption_points(tmp_path, "fresh"), before={})


def test_sigterm_at_every_point_of_a_rerun_keeps_the_old_report(tmp_path):
    points = _interruption_points(tmp_path, "rerun")
    # Reruns write the same inputs: the state before is the whole report itself, so a stopped
    # rerun must leave every byte of it (and no staging directory) behind.
    _assert_all_or_nothing(points, before=points[0]["state"])
