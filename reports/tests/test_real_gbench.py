"""The loader and compare.py on JSON written by the real Google Benchmark library."""

import os
import shutil
import subprocess

import pytest

from conftest import TESTS
from ovlab_reports import load


@pytest.fixture(scope="module")
def gbench_json(tmp_path_factory):
    if shutil.which("g++") is None or not os.path.exists("/usr/include/benchmark/benchmark.h"):
        pytest.skip("g++ or libbenchmark-dev is not installed; cannot build the sample binary")
    tmp = tmp_path_factory.mktemp("gbench")
    binary = tmp / "sample"
    subprocess.run(["g++", "-std=c++20", "-O1", os.path.join(TESTS, "gbench_sample.cc"), "-o",
                    str(binary), "-lbenchmark", "-lpthread"], check=True, timeout=300)
    out = tmp / "sample.json"
    subprocess.run([str(binary), "--benchmark_repetitions=5", "--benchmark_min_time=0.01",
                    f"--benchmark_out={out}", "--benchmark_out_format=json"], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    return out


def test_loader_reads_real_google_benchmark_json(gbench_json):
    run = load.load([str(gbench_json)]).runs[0]
    assert run.label == "6.18.44-sample" and run.context["profile"] == "quick"
    keys = [b.name.key for b in run.valid()]
    assert keys == ["copy_up/overlay2/ext4/bytes:4096/dense",
                    "copy_up/overlay2/ext4/bytes:65536/dense",
                    "copy_up/overlay2/ext4/bytes:1048576/dense", "bound/copy/ext4"]
    for bench in run.valid():
        assert len(bench.times_ns) == 5 and bench.median_ns > 0
        assert set(bench.aggregates) == {"mean", "median", "stddev", "cv"}
    big = run.benches["copy_up/overlay2/ext4/bytes:1048576/dense"]
    assert big.counter("bytes_copied") == 1048576
    assert run.benches["bound/copy/ext4"].counter("bytes_per_second") > 0
    [skipped] = run.errors()
    assert skipped.name.target == "devicemapper" and "dm-thin" in skipped.error


def test_compare_and_report_on_real_json(gbench_json, tool, tmp_path):
    proc = tool("compare.py", gbench_json, gbench_json)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 same of 4" in proc.stdout
    assert "not run in either run: copy_up/devicemapper/ext4/bytes:4096/dense" in proc.stdout
    proc = tool("report.py", gbench_json, "--out", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path / "r")) == ["copy_up.png", "report.html", "summary.md"]
