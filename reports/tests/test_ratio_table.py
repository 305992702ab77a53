"""The ratio table's numbers equal those computed by hand."""

import pytest

import fixtures
from ovlab_reports import load, tables
from ovlab_reports.report import build

MS = 1e6


@pytest.fixture
def run(tmp_path):
    b = fixtures.BenchBuilder(reps=3)
    # ext4: overlay2 median 11 ms, fuse 33 ms (3.00x), engine 5.5 ms (0.50x, best).
    b.add("copy_up/overlay2/ext4/bytes:4096/dense", 0, exact=[10 * MS, 11 * MS, 12 * MS])
    b.add("copy_up/fuse/ext4/bytes:4096/dense", 0, exact=[36 * MS, 30 * MS, 33 * MS])
    b.add("copy_up/engine/ext4/bytes:4096/dense", 0, exact=[5.5 * MS, 5 * MS, 6 * MS])
    # xfs: its own overlay2 (20 ms), never ext4's; fuse 25 ms = 1.25x; overlay2 best.
    b.add("copy_up/overlay2/xfs/bytes:4096/dense", 0, exact=[20 * MS] * 3)
    b.add("copy_up/fuse/xfs/bytes:4096/dense", 0, exact=[24 * MS, 25 * MS, 26 * MS])
    # lookup: per operation (ops counter): overlay2 1000 ns/op, vfs 4 ms / 8000 ops = 500 ns.
    b.add("lookup/overlay2/ext4/depth:4/where:bottom/warm", 0, {"ops": 1000},
          exact=[1 * MS] * 3)
    b.add("lookup/vfs/ext4/depth:4/where:bottom/warm", 0, {"ops": 8000}, exact=[4 * MS] * 3)
    # inode usage: inodes, not time: overlay2 100, vfs 400 = 4.00x.
    b.add("inode_usage/overlay2/ext4/profile:app", 1e9, {"inodes": 100})
    b.add("inode_usage/vfs/ext4/profile:app", 1e6, {"inodes": 400})
    # No overlay2 on btrfs: no row.
    b.add("copy_up/fuse/btrfs/bytes:4096/dense", 0, exact=[1 * MS] * 3)
    return load.load([str(b.write(tmp_path / "bench.json"))]).runs[0]


def by_case(table):
    return {row.case: row for row in table.rows}


def test_ratios_equal_hand_computed(run):
    table = tables.ratio_table(run)
    rows = by_case(table)
    ext4 = rows["copy_up/ext4/bytes:4096/dense"]
    assert ext4.ratios == pytest.approx({"overlay2": 1.0, "fuse": 3.0, "engine": 0.5})
    assert ext4.best == {"engine"}
    xfs = rows["copy_up/xfs/bytes:4096/dense"]
    assert xfs.ratios == pytest.approx({"overlay2": 1.0, "fuse": 1.25})
    assert xfs.best == {"overlay2"}
    lookup = rows["lookup/ext4/depth:4/where:bottom/warm"]
    assert lookup.ratios["vfs"] == pytest.approx(0.5)
    assert lookup.best == {"vfs"}
    inodes = rows["inode_usage/ext4/profile:app"]
    assert inodes.metric == "inodes" and inodes.ratios["vfs"] == pytest.approx(4.0)
    assert inodes.best == {"overlay2"}
    assert "copy_up/btrfs/bytes:4096/dense" not in rows
    assert table.unreferenced == 1


def test_geometric_mean_of_ratios(run):
    means = tables.geomean_ratios(tables.ratio_table(run))
    assert means["fuse"] == pytest.approx((3.0 * 1.25) ** 0.5)
    assert means["vfs"] == pytest.approx((0.5 * 4.0) ** 0.5)
    assert "overlay2" not in means


def test_rendered_table_shows_ratios_and_marks_best(run, tmp_path):
    rendered = tables.ratio_as_table(tables.ratio_table(run), multiple_runs=False)
    row = next(r for r in rendered.rows if r[0].text == "copy_up/ext4/bytes:4096/dense")
    cells = dict(zip(rendered.columns, row))
    assert cells["overlay2 (absolute)"].text == "11 ms"
    assert cells["fuse"].text == "3.00×" and not cells["fuse"].best
    assert cells["engine"].text == "0.50×" and cells["engine"].best
    out = tmp_path / "out"
    out.mkdir()
    build(load.Inputs([run], []), str(out))
    md = (out / "summary.md").read_text()
    assert "| copy_up/ext4/bytes:4096/dense | 11 ms | – | 3.00× | **0.50× ★** |" in md
    assert "0.50× ★</td>" in (out / "report.html").read_text()
