"""run-kernels --merge on fabricated shard directories: the layout of an unsplit run, or a refusal."""
import json
import os

import pytest

from ovlab_vm import crosskernel, merge, results, shards
from ovlab_vm.errors import RunnerError

SPEC = {"payload": {"name": "conformance", "steps": [["ovlab-conformance", "--target=kernel,engine"]]},
        "build": {"ovlab-conformance": {"sha256": "ab" * 32, "version": "ovlab-conformance 0.1.0 (git 1234)"}},
        "disk": {"size_bytes": 16 << 30, "role": "scratch"}}
FAMILIES = ["open", "rename", "dirs"]
CASES = [f"{FAMILIES[i % 3].title()}/Case.N/{i:02d}" for i in range(11)]
LISTING = [f"copy_up/t{i % 4}/ext4/bytes:{i}/iterations:3/manual_time" for i in range(9)]
RELEASES = {"5.10": "5.10.0-30-amd64", "6.1": "6.1.0-50-amd64", "6.12": "6.12.57+deb13-amd64"}


def verdict(kernel, case_id):
    return "skip" if kernel == "5.10" and case_id.endswith(("03", "07")) else "pass"


def matrix(kernel, case_ids):
    cases = [{"id": c, "family": c.split("/")[0].lower(), "checklist": ["LK1"], "description": c,
              "results": {"kernel": {"verdict": verdict(kernel, c), "reason": ""},
                          "engine": {"verdict": "pass", "reason": ""}}} for c in case_ids]
    families, by_target = {}, {t: {"pass": 0, "fail": 0, "skip": 0, "known-deviation": 0} for t in ("kernel", "engine")}
    for c in cases:
        families[c["family"]] = families.get(c["family"], 0) + 1
        for t, r in c["results"].items():
            by_target[t][r["verdict"]] += 1
    return {"schema": "ovlab.conformance.matrix/1", "generated_utc": "2026-12-06T10:00:00Z", "ovlab_version": "0.1.0",
            "kernel": {"release": RELEASES[kernel], "version": "#1 SMP", "machine": "x86_64"},
            "backing": "ext4", "backing_reason": "automatic",
            "targets": [{"name": "kernel", "role": "oracle", "version": RELEASES[kernel], "options": "o",
                         "available": True, "skip_reason": ""},
                        {"name": "engine", "role": "must-match", "version": "", "options": "",
                         "available": True, "skip_reason": ""}],
            "summary": {"cases": len(cases), "families": dict(sorted(families.items())), "by_target": by_target},
            "cases": cases}


def bench(kernel, names, part):
    rows = []
    for n in names:
        rows += [{"name": n, "run_name": n, "run_type": "iteration", "repetition_index": r, "real_time": 1.0}
                 for r in range(2)]
        rows.append({"name": n + "_median", "run_name": n, "run_type": "aggregate", "aggregate_name": "median"})
    ctx = {"kernel": RELEASES[kernel], "ovlab_version": "0.1.0", "profile": "quick", "emulated": "true",
           "vm_accel": "tcg", "vm_disk": "virtio-blk", f"backing.p{part}": "x"}
    return {"context": ctx, "benchmarks": rows}


def write_run(root, name, kernels, index=1, count=1, spec=SPEC, complete=True, status=None, package=None):
    """A run-kernels --out directory of shard index/count over `kernels`, the way runner and cli
    write it; each part holds the cases and benchmark instances GoogleTest-style sharding gives it."""
    out = root / name
    out.mkdir()
    done = []
    for unit in shards.units_of(kernels, index, count):
        d = out / unit.label
        (d / "guest").mkdir(parents=True)
        mine = lambda items: [x for i, x in enumerate(items) if i % unit.parts == unit.part - 1]  # noqa: E731
        (d / "matrix.json").write_text(json.dumps(matrix(unit.label, mine(CASES))))
        (d / "bench.json").write_text(json.dumps(bench(unit.label, mine(LISTING), unit.part)))
        (d / "guest" / "bench-list.txt").write_text("\n".join(LISTING) + "\n")
        (d / "console.log").write_text(f"console of {unit.label} part {unit.part}\n")
        r = results.KernelResult(kernel=unit.label, status=(status or {}).get(unit.part, "ok"), release=RELEASES[unit.label],
                                 suite="bookworm", package="linux-image-x",
                                 package_version=(package or {}).get(unit.part, "6.1.176-1"),
                                 exit_code=0, wall_seconds=10.0, accel="tcg", emulated=True,
                                 part={"part": unit.part, "parts": unit.parts},
                                 steps=[{"name": "conformance", "exit_code": 0, "seconds": 5.0}])
        (d / "status.json").write_text(json.dumps(r.to_json()))
        done.append(r)
    run = {"spec": spec, "shard": {"index": index, "count": count, "kernels": kernels}, "complete": complete}
    results.write_index(str(out), done, "conformance", "now", run)
    return str(out)


def load(path):
    with open(path) as f:
        return json.load(f)


@pytest.mark.parametrize("kernels, count", [(["6.1"], 2), (["5.10", "6.1", "6.12"], 4), (["5.10", "6.1"], 2),
                                             (["6.1"], 5)])
def test_merge_equals_the_unsplit_run(tmp_path, kernels, count):
    whole = write_run(tmp_path, "whole", kernels)
    dirs = [write_run(tmp_path, f"s{i}", kernels, i, count) for i in range(count, 0, -1)]  # any order
    out = tmp_path / "merged"
    done = merge.merge(dirs, str(out))
    assert [r.kernel for r in done] == kernels and all(r.status == "ok" for r in done)
    index = load(out / "index.json")
    assert [e["kernel"] for e in index["kernels"]] == kernels
    assert index["shard"] == {"index": 1, "count": 1, "kernels": kernels} and index["complete"]
    assert index["spec"] == SPEC and len(index["merged_from"]) == count
    for k in kernels:
        got, want = load(out / k / "matrix.json"), load(os.path.join(whole, k, "matrix.json"))
        assert got["cases"] == want["cases"]  # the unsplit order, case by case
        assert got["summary"] == want["summary"] and got["targets"] == want["targets"]
        got_b, want_b = load(out / k / "bench.json"), load(os.path.join(whole, k, "bench.json"))
        assert got_b["benchmarks"] == want_b["benchmarks"]
        status = load(out / k / "status.json")
        parts = shards.parts_per_kernel(kernels, count)
        assert status["part"] == {"part": 1, "parts": 1}
        if parts > 1:
            assert [m["part"] for m in status["merged"]] == list(range(1, parts + 1))
            assert status["wall_seconds"] == 10.0 * parts
            assert got_b["context"]["vm_parts"] == str(parts)
            assert {f"backing.p{p}" for p in range(1, parts + 1)} <= set(got_b["context"])
            assert sorted(os.listdir(out / k / "guest")) == [f"part-{p}" for p in range(1, parts + 1)]
            assert (out / k / "console.log").read_text().count("==== run-kernels --merge") == parts
        assert index["kernels"][kernels.index(k)]["files"]["matrix"] == f"{k}/matrix.json"
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".merge-")]
    # The merged directory is a run like any other: cross-kernel reads it.
    text = crosskernel.render(crosskernel.load_runs([str(out)]))
    if "5.10" in kernels and len(kernels) > 1:
        assert "differs between kernels: 2" in text and "Rename/Case.N/07 [kernel]: 5.10=skip" in text


def test_a_failed_part_makes_the_kernel_failed(tmp_path):
    dirs = [write_run(tmp_path, "a", ["6.1"], 1, 2), write_run(tmp_path, "b", ["6.1"], 2, 2, status={2: "timeout"})]
    done = merge.merge(dirs, str(tmp_path / "m"))
    assert done[0].status == "timeout"
    assert merge.run(dirs, str(tmp_path / "m2")) == 1


def refused(tmp_path, dirs, message, out="merged"):
    with pytest.raises(RunnerError, match=message) as e:
        merge.merge(dirs, str(tmp_path / out))
    assert "\n" not in str(e.value)
    assert not os.path.exists(tmp_path / out) or not os.listdir(tmp_path / out)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".merge-")]


def test_refuses_different_builds(tmp_path):
    other = json.loads(json.dumps(SPEC))
    other["build"]["ovlab-conformance"]["sha256"] = "cd" * 32
    dirs = [write_run(tmp_path, "a", ["6.1"], 1, 2), write_run(tmp_path, "b", ["6.1"], 2, 2, spec=other)]
    refused(tmp_path, dirs, r"are not shards of one run: different builds \(ovlab-conformance differ\)")


def test_refuses_a_missing_shard(tmp_path):
    dirs = [write_run(tmp_path, "a", ["6.1", "6.12"], 1, 3), write_run(tmp_path, "c", ["6.1", "6.12"], 3, 3)]
    refused(tmp_path, dirs, r"shard 2/3 of the split of 6.1,6.12 is missing: pass its directory too")


def test_refuses_a_shard_twice(tmp_path):
    dirs = [write_run(tmp_path, n, ["6.1"], 1, 2) for n in ("a", "b")] + [write_run(tmp_path, "c", ["6.1"], 2, 2)]
    refused(tmp_path, dirs, r"/a and .*/b are both shard 1/2")
    refused(tmp_path, [dirs[0], dirs[0]], "a directory is given twice")


def test_refuses_overlapping_splits(tmp_path):
    dirs = [write_run(tmp_path, "whole", ["6.1"]), write_run(tmp_path, "a", ["6.1"], 1, 2),
            write_run(tmp_path, "b", ["6.1"], 2, 2)]
    refused(tmp_path, dirs, "kernel 6.1 is in overlapping runs")


def test_refuses_an_interrupted_shard(tmp_path):
    dirs = [write_run(tmp_path, "a", ["6.1"], 1, 2), write_run(tmp_path, "b", ["6.1"], 2, 2, complete=False)]
    refused(tmp_path, dirs, r"/b is an interrupted run .*rerun shard 2/2")


def test_refuses_parts_of_different_kernel_versions(tmp_path):
    dirs = [write_run(tmp_path, "a", ["6.1"], 1, 2), write_run(tmp_path, "b", ["6.1"], 2, 2, package={2: "6.1.170-3"})]
    refused(tmp_path, dirs, r"the parts of kernel 6.1 booted different kernels \(package version: 6.1.170-3, 6.1.176-1\)")


def test_refuses_overlapping_cases(tmp_path):
    dirs = [write_run(tmp_path, "a", ["6.1"], 1, 2), write_run(tmp_path, "b", ["6.1"], 2, 2)]
    m = load(os.path.join(dirs[1], "6.1", "matrix.json"))
    m["cases"].append(load(os.path.join(dirs[0], "6.1", "matrix.json"))["cases"][0])
    with open(os.path.join(dirs[1], "6.1", "matrix.json"), "w") as f:
        json.dump(m, f)
    refused(tmp_path, dirs, r"case Open/Case.N/00 is in part 1/2 .* and part 2/2 .*the parts overlap")


def test_refuses_a_non_empty_out_and_old_or_foreign_dirs(tmp_path):
    a, b = write_run(tmp_path, "a", ["6.1"], 1, 2), write_run(tmp_path, "b", ["6.1"], 2, 2)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(RunnerError, match="--out .*/full exists and is not empty: pass a new directory"):
        merge.merge([a, b], str(tmp_path / "full"))
    assert os.listdir(tmp_path / "full") == ["x"]
    index = load(os.path.join(a, "index.json"))
    del index["spec"]
    with open(os.path.join(a, "index.json"), "w") as f:
        json.dump(index, f)
    refused(tmp_path, [a, b], "has no run spec or shard .*rerun it")
    refused(tmp_path, [str(tmp_path / "nowhere"), b], "index.json not found: pass run-kernels --out directories")


def test_cross_kernel_refuses_an_unmerged_part(tmp_path, capsys):
    a = write_run(tmp_path, "a", ["6.1"], 1, 2)
    assert crosskernel.main([a]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "part 1/2 of kernel 6.1" in err and "run-kernels --merge" in err
    # Whole kernels from shards need no merge.
    whole = [write_run(tmp_path, n, ["5.10", "6.1"], i, 2) for n, i in (("w1", 1), ("w2", 2))]
    assert "differs between kernels: 2" in crosskernel.render(crosskernel.load_runs(whole))
