"""The rows ovlab-bench took over from fuse_bench and union_bench (issue #13): copy_up cold/warm
and strategy:NAME, write_heavy sequential I/O and create_unlink, cpu_us on warm lookups."""

import fixtures
from ovlab_reports import load, names, select, tables

SIZE = 64 << 20


def run_of(tmp_path, **kw):
    bench = fixtures.BenchBuilder(**kw).default_suite().write(tmp_path / "bench.json")
    return load.load([str(bench)]).runs[0]


def test_strategy_is_a_key_and_the_name_survives_a_round_trip():
    n = names.parse(f"copy_up/engine/xfs-reflink/bytes:{SIZE}/strategy:io_uring_splice/dense"
                    "/iterations:1/manual_time_median")
    assert n.param("strategy") == "io_uring_splice" and n.flags == ("dense",)
    assert n.key == f"copy_up/engine/xfs-reflink/bytes:{SIZE}/strategy:io_uring_splice/dense"
    assert n.case == f"copy_up/xfs-reflink/bytes:{SIZE}/strategy:io_uring_splice/dense"
    warm = names.parse(f"copy_up/fuse/xfs-reflink/bytes:{SIZE}/dense/warm/manual_time")
    assert warm.flags == ("dense", "warm") and warm.param("strategy") is None


def test_the_size_plot_takes_the_plain_rows_only(tmp_path):
    run = run_of(tmp_path, noise=0)
    for target in ("engine", "fuse"):
        plain = next(b for b in run.family("copy_up")
                     if b.name.key == f"copy_up/{target}/ext4/bytes:{SIZE}/dense")
        points = dict(select.copy_up_sizes(run, target, "ext4"))
        # the strategy rows take 10x the auto row's time, cold twice the data time
        assert points[SIZE] == plain.median_ns


def test_every_new_row_loads_with_its_counters(tmp_path):
    run = run_of(tmp_path)
    keys = {b.name.key: b for b in run.valid()}
    seq = keys[f"write_heavy/fuse/ext4/op:seqread_direct/bytes:{SIZE}"]
    assert seq.counter("bytes") == SIZE and seq.counter("bytes_per_second") > 0
    assert keys["write_heavy/unionfs-fuse/ext4/op:create_unlink/files:1000"].counter("ops") == 2000
    assert f"write_heavy/unionfs-fuse/ext4/op:seqread_direct/bytes:{SIZE}" not in keys
    clone = keys[f"copy_up/engine/xfs-reflink/bytes:{SIZE}/strategy:clone/dense"]
    assert clone.counter("bytes_copied") == 0
    assert f"copy_up/engine/ext4/bytes:{SIZE}/strategy:clone/dense" not in keys
    warm = "lookup/{}/ext4/depth:128/where:bottom/op:stat/warm"
    assert keys[warm.format("engine")].counter("cpu_us") > 0
    assert keys[warm.format("fuse")].counter("cpu_us") is None


def test_results_table_formats_cpu_time_and_ratios_warm_and_cold(tmp_path):
    run = run_of(tmp_path)
    lookup = next(t for t in tables.results_tables(run, False) if "lookup" in t.title)
    column = lookup.columns.index("cpu_us")
    cells = {r[0].text: r[column].text for r in lookup.rows}
    assert cells["lookup/engine/ext4/depth:1/where:top/op:stat/warm"] == "1.53 µs"
    assert cells["lookup/fuse/ext4/depth:1/where:top/op:stat/warm"] == "–"
    cases = {r.case for r in tables.ratio_table(run).rows}
    assert f"copy_up/xfs-reflink/bytes:{SIZE}/dense/warm" in cases
    assert f"copy_up/ext4/bytes:{SIZE}/dense/cold" in cases
    # only engine and fuse choose a strategy: no overlay2 to divide by
    assert not any("strategy:" in c for c in cases)
