"""compare.py: exit 1 on a real slowdown, 0 on identical runs, 2 on unusable input."""

import json

import pytest

import fixtures


def small_run(tmp_path, name, **kw):
    """A few families and targets: enough to compare, quick to generate."""
    return fixtures.quick(**kw).write(tmp_path / name)


def assert_one_line_error(proc, *words):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("compare.py: error: "), proc.stderr
    for word in words:
        assert word in lines[0]


def test_identical_runs_exit_0(tmp_path, tool):
    base = small_run(tmp_path, "base.json")
    proc = tool("compare.py", base, base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 slower" in proc.stdout and ": ok" in proc.stdout


def test_noise_alone_is_not_a_regression(tmp_path, tool):
    base = small_run(tmp_path, "base.json", seed=1, noise=0.03)
    cand = small_run(tmp_path, "cand.json", seed=2, noise=0.03)
    proc = tool("compare.py", base, cand, "--threshold", "10")
    assert proc.returncode == 0, proc.stdout


def test_injected_2x_regression_exits_1(tmp_path, tool):
    base = small_run(tmp_path, "base.json", seed=1)
    cand = small_run(tmp_path, "cand.json", seed=2, slow={"engine": 2.0})
    out = tmp_path / "cmp.json"
    proc = tool("compare.py", base, cand, "--json", out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout
    result = json.loads(out.read_text())
    assert result["schema"] == "ovlab-compare/1" and result["exit_status"] == 1
    slower = {c["name"] for c in result["changes"] if c["verdict"] == "SLOWER"}
    engine = {c["name"] for c in result["changes"] if "/engine/" in c["name"]}
    assert slower == engine and engine
    for c in result["changes"]:
        if c["name"] in engine:
            assert c["change_pct"] == pytest.approx(100, abs=8)
            assert c["p_value"] <= 0.05


def test_by_target_summary_singles_out_the_slowed_target(tmp_path, tool):
    base = small_run(tmp_path, "base.json", seed=1)
    cand = small_run(tmp_path, "cand.json", seed=2, slow={"engine": 2.0})
    out = tmp_path / "cmp.json"
    proc = tool("compare.py", base, cand, "--json", out)
    assert "by target:" in proc.stdout
    summary = {t["target"]: t for t in json.loads(out.read_text())["by_target"]}
    assert summary["engine"]["median_change_pct"] == pytest.approx(100, abs=8)
    assert summary["engine"]["slower"] == summary["engine"]["benchmarks"]
    for target, t in summary.items():
        if target != "engine":
            assert abs(t["median_change_pct"]) < 8 and t["slower"] == 0, t


def test_filter_gates_only_the_matching_benchmarks(tmp_path, tool):
    base = small_run(tmp_path, "base.json", seed=1)
    cand = small_run(tmp_path, "cand.json", seed=2, slow={"engine": 2.0})
    others = tool("compare.py", base, cand, "--filter", "^[a-z_/]+/overlay2/")
    assert others.returncode == 0, others.stdout
    assert "/engine/" not in others.stdout and "/overlay2/" in others.stdout
    engine = tool("compare.py", base, cand, "--filter", "/engine/")
    assert engine.returncode == 1, engine.stdout
    assert_one_line_error(tool("compare.py", base, cand, "--filter", "nothing-matches-this"),
                          "no benchmark name matching")
    assert_one_line_error(tool("compare.py", base, cand, "--filter", "("),
                          "not a regular expression")


def test_2x_speedup_is_not_a_failure(tmp_path, tool):
    base = small_run(tmp_path, "base.json", seed=1, slow={"engine": 2.0})
    cand = small_run(tmp_path, "cand.json", seed=2)
    proc = tool("compare.py", base, cand)
    assert proc.returncode == 0, proc.stdout
    assert " faster" in proc.stdout


def test_regression_below_threshold_passes(tmp_path, tool):
    base = small_run(tmp_path, "base.json", seed=1, noise=0.001)
    cand = small_run(tmp_path, "cand.json", seed=2, noise=0.001, slow={"engine": 1.05})
    assert tool("compare.py", base, cand, "--threshold", "10").returncode == 0
    assert tool("compare.py", base, cand, "--threshold", "2").returncode == 1


def test_three_repetitions_can_still_fail(tmp_path, tool):
    base = small_run(tmp_path, "base.json", reps=3)
    cand = small_run(tmp_path, "cand.json", reps=3, seed=5, slow={"fuse-overlayfs": 2.0})
    assert tool("compare.py", base, cand).returncode == 1


def test_empty_file(tmp_path, tool):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert_one_line_error(tool("compare.py", empty, small_run(tmp_path, "c.json")), "empty")


def test_not_json(tmp_path, tool):
    bad = tmp_path / "bad.json"
    bad.write_text('{"context": {}, "benchmarks": [')
    assert_one_line_error(tool("compare.py", small_run(tmp_path, "b.json"), bad),
                          "not valid JSON")


@pytest.mark.parametrize("data", [{"foo": 1}, [1, 2], {"benchmarks": []},
                                  fixtures.matrix()])
def test_json_of_another_schema(tmp_path, tool, data):
    other = fixtures.write_json(tmp_path / "other.json", data)
    proc = tool("compare.py", small_run(tmp_path, "b.json"), other)
    assert_one_line_error(proc, "other.json")


def test_google_benchmark_json_of_another_suite(tmp_path, tool):
    data = fixtures.BenchBuilder().json()
    data["benchmarks"] = [{"name": "BM_memcpy/8", "run_type": "iteration", "real_time": 1,
                           "time_unit": "ns"}]
    other = fixtures.write_json(tmp_path / "gbench.json", data)
    assert_one_line_error(tool("compare.py", small_run(tmp_path, "b.json"), other),
                          "FAMILY/TARGET/BACKING")


def test_no_repetitions(tmp_path, tool):
    data = json.loads(small_run(tmp_path, "b.json").read_text())
    data["benchmarks"] = [r for r in data["benchmarks"] if r.get("run_type") == "aggregate"]
    aggregates_only = fixtures.write_json(tmp_path / "agg.json", data)
    assert_one_line_error(tool("compare.py", tmp_path / "b.json", aggregates_only),
                          "no per-repetition rows", "--benchmark_repetitions")


def test_single_repetition(tmp_path, tool):
    one = small_run(tmp_path, "one.json", reps=1)
    assert_one_line_error(tool("compare.py", one, small_run(tmp_path, "b.json")),
                          "fewer than 3 repetitions")


def test_no_common_benchmark_names(tmp_path, tool):
    base = fixtures.BenchBuilder(targets=("overlay2",), backings=("ext4",))
    cand = fixtures.BenchBuilder(targets=("overlay2",), backings=("xfs",))
    proc = tool("compare.py", base.default_suite().write(tmp_path / "a.json"),
                cand.default_suite().write(tmp_path / "b.json"))
    assert_one_line_error(proc, "no benchmark name in common")


def test_partly_mismatched_names_are_noted(tmp_path, tool):
    base = fixtures.BenchBuilder(targets=("overlay2", "engine"), backings=("ext4",))
    cand = fixtures.BenchBuilder(targets=("overlay2", "fuse"), backings=("ext4",))
    proc = tool("compare.py", base.default_suite().write(tmp_path / "a.json"),
                cand.default_suite().write(tmp_path / "b.json"))
    assert proc.returncode == 0
    assert "only in baseline: copy_up/engine/ext4" in proc.stdout
    assert "only in candidate: copy_up/fuse/ext4" in proc.stdout


@pytest.mark.parametrize("args,words", [
    (["--threshold", "-1"], ["--threshold"]),
    (["--alpha", "0"], ["--alpha"]),
    (["--alpha", "x"], ["--alpha"]),
])
def test_bad_options(tmp_path, tool, args, words):
    run = small_run(tmp_path, "b.json")
    assert_one_line_error(tool("compare.py", run, run, *args), *words)


def test_missing_file(tmp_path, tool):
    assert_one_line_error(tool("compare.py", tmp_path / "nope.json", tmp_path / "nope.json"),
                          "no such file")


def test_directory_with_one_run_and_emulated_note(tmp_path, tool):
    (tmp_path / "vm" / "6.1.0").mkdir(parents=True)
    data = fixtures.quick(kernel="6.1.0").json()
    data["context"]["emulated"] = "true"
    fixtures.write_json(tmp_path / "vm" / "6.1.0" / "bench.json", data)
    proc = tool("compare.py", small_run(tmp_path, "native.json"), tmp_path / "vm")
    assert proc.returncode == 0, proc.stderr
    assert "only the candidate ran in an emulated VM" in proc.stdout
    assert "6.18.44 -> 6.1.0" in proc.stdout


def test_directory_with_two_runs_is_ambiguous(tmp_path, tool):
    for k in ("a", "b"):
        (tmp_path / "vm" / k).mkdir(parents=True)
        small_run(tmp_path / "vm", f"{k}/bench.json")
    assert_one_line_error(tool("compare.py", tmp_path / "vm", tmp_path / "vm"),
                          "exactly one benchmark JSON")


def test_benchmark_that_stopped_running_is_named(tmp_path, tool):
    base = small_run(tmp_path, "base.json")
    cand = fixtures.quick()
    cand.add_error("copy_up/engine/ext4/bytes:4096/dense", "engine: broken")
    data = cand.json()
    data["benchmarks"] = [r for r in data["benchmarks"]
                          if not r["name"].startswith("copy_up/engine/ext4/bytes:4096/dense/")
                          or r.get("error_occurred")]
    proc = tool("compare.py", base, fixtures.write_json(tmp_path / "cand.json", data))
    assert proc.returncode == 0, proc.stdout
    assert ("note: not run in the candidate: copy_up/engine/ext4/bytes:4096/dense: "
            "engine: broken") in proc.stdout
    assert "not run in either run: copy_up/devicemapper/ext4/bytes:4096/dense" in proc.stdout
