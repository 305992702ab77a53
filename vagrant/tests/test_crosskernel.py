"""cross-kernel: per-kernel counts, differing cases with reasons, runs made in parallel."""
import json
import os

import pytest

from ovlab_vm import crosskernel


def write_run(tmp_path, name, kernels):
    """kernels: {label: {case id: (verdict, reason)}} for target kernel."""
    d = tmp_path / name
    entries = []
    for label, cases in kernels.items():
        (d / label).mkdir(parents=True)
        matrix = {
            "schema": "ovlab.conformance.matrix/1",
            "backing": "ext4",
            "targets": [{"name": "kernel"}],
            "summary": {"by_target": {"kernel": {"pass": sum(v == "pass" for v, _ in cases.values()),
                                                 "skip": sum(v == "skip" for v, _ in cases.values())}}},
            "cases": [{"id": cid, "results": {"kernel": {"verdict": v, "reason": r}}}
                      for cid, (v, r) in cases.items()],
        }
        (d / label / "matrix.json").write_text(json.dumps(matrix))
        entries.append({"kernel": label, "dir": label, "release": label + ".0", "status": "ok",
                        "wall_seconds": 12.5, "accel": "tcg", "files": {"matrix": f"{label}/matrix.json"}})
    (d / "index.json").write_text(json.dumps({"kernels": entries}))
    return str(d)


def test_differences_across_parallel_runs(tmp_path):
    a = write_run(tmp_path, "a", {"host": {"X": ("pass", ""), "Y": ("pass", "")}})
    b = write_run(tmp_path, "b", {"5.10": {"X": ("pass", ""), "Y": ("skip", "needs 6.7: xattr whiteouts")}})
    out = crosskernel.render(crosskernel.load_runs([a, b]))
    lines = out.splitlines()
    assert lines[1].startswith("5.10")  # oldest kernel first, host last
    assert lines[2].startswith("host")
    assert "pass=1 skip=1" in lines[1]
    assert "12.5 (tcg)" in lines[1]
    assert "differs between kernels: 1" in out
    assert "Y [kernel]: 5.10=skip, host=pass" in out
    assert "5.10: needs 6.7: xattr whiteouts" in out
    assert "X [kernel]" not in out


def test_same_kernel_twice_is_an_error(tmp_path, capsys):
    a = write_run(tmp_path, "a", {"6.1": {"X": ("pass", "")}})
    b = write_run(tmp_path, "b", {"6.1": {"X": ("pass", "")}})
    assert crosskernel.main([a, b]) == 2
    assert "appears in two runs" in capsys.readouterr().err


def test_missing_index_is_one_line(tmp_path, capsys):
    assert crosskernel.main([os.path.join(str(tmp_path), "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run-kernels --out" in err


def test_markdown(tmp_path):
    a = write_run(tmp_path, "a", {"6.12": {"X": ("pass", "")}})
    out = crosskernel.render(crosskernel.load_runs([a]), markdown=True)
    assert out.startswith("| kernel | release |")
