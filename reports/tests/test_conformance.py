"""The conformance matrix section: counts per target and family, every deviation with reason."""

import fixtures
from ovlab_reports import conformance, load


def loaded(tmp_path, data):
    return load.load([str(fixtures.write_json(tmp_path / "m.json", data))]).matrices[0]


def test_counts_and_cells(tmp_path):
    m = loaded(tmp_path, fixtures.matrix("6.1.0"))
    assert m.label == "6.1.0"
    assert conformance.targets(m) == ["kernel", "engine", "fuse", "fuse-overlayfs"]
    assert conformance.families(m) == ["lookup", "whiteout", "rename", "open"]
    table = conformance.matrix_table(m, multiple=False)
    rows = {r[0].text: [c for c in r[1:]] for r in table.rows}
    assert [c.text for c in rows["kernel"]] == ["2/2 pass", "1/1 pass", "1/1 pass", "1/1 pass"]
    assert rows["engine"][1].text == "1 fail" and rows["engine"][1].css == "fail"
    assert rows["fuse"][0].text == "2 skip" and rows["fuse"][0].css == "skip"
    dev = rows["fuse-overlayfs"][2]
    assert dev.text == "1 known-deviation" and dev.css == "deviation"


def test_every_deviation_and_failure_is_listed_with_reason(tmp_path):
    data = fixtures.matrix()
    # A second deviating peer on another case is listed too.
    data["cases"][0]["results"]["unionfs-fuse"] = {
        "verdict": "known-deviation", "reason": "kernel: a | target: b", "options": "cow"}
    table = conformance.deviations_table(loaded(tmp_path, data), multiple=False)
    listed = [(r[0].text, r[3].text, r[4].text, r[5].text) for r in table.rows]
    assert listed == [
        ("Lookup/upper_wins", "unionfs-fuse", "known-deviation", "kernel: a | target: b"),
        ("Whiteout/char_whiteout", "engine", "fail",
         "kernel: view /wh = ENOENT | target: view /wh = file"),
        ("Rename/dir_rename_exdev", "fuse-overlayfs", "known-deviation",
         "copies the whole tree: kernel: rename /d /e = EXDEV | target: rename /d /e = ok")]


def test_targets_table_shows_why_a_target_was_skipped(tmp_path):
    table = conformance.targets_table(loaded(tmp_path, fixtures.matrix()), multiple=False)
    fuse = next(r for r in table.rows if r[0].text == "fuse")
    assert fuse[4].text == "no" and fuse[5].text == "ovlab-fuse was not built in this build"


def test_malformed_matrix_is_unusable_input(tmp_path, tool):
    data = fixtures.matrix()
    data["targets"] = {"kernel": {}}
    path = fixtures.write_json(tmp_path / "m.json", data)
    proc = tool("report.py", path, "--out", tmp_path / "r")
    assert proc.returncode == 2 and "'targets' list" in proc.stderr
    assert not (tmp_path / "r").exists()
