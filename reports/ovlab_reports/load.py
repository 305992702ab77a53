"""Reads benchmark JSON (bench/README.md) and conformance matrices, from files or directories.

A directory is searched recursively, so DIR/<kernel>/{bench,matrix}.json from the VM runner
loads as one series per kernel.
"""

import functools
import json
import os
import statistics
import sys
from dataclasses import dataclass, field

from . import names
from .errors import InputError
from .units import to_ns

CONFORMANCE_SCHEMA_PREFIX = "ovlab.conformance.matrix/"  # conformance/README.md
MIN_REPETITIONS = 3


@dataclass
class Bench:
    """One benchmark instance: its per-repetition rows and Google Benchmark's aggregates."""

    name: names.BenchName
    run_name: str
    times_ns: list = field(default_factory=list)  # real_time of each repetition
    counters: dict = field(default_factory=dict)  # counter -> value of each repetition
    aggregates: dict = field(default_factory=dict)  # "median" -> row
    error: str = None

    @functools.cached_property
    def median_ns(self):  # read only after loading, so caching it is safe
        if self.times_ns:
            return statistics.median(self.times_ns)
        row = self.aggregates.get("median")
        if row is not None:
            return to_ns(row["real_time"], row.get("time_unit", "ns"))
        return None

    @property
    def cv(self):
        """Coefficient of variation of the repetitions (0.05 = 5 %); None below two."""
        if len(self.times_ns) >= 2:
            mean = statistics.fmean(self.times_ns)
            return statistics.stdev(self.times_ns) / mean if mean else None
        row = self.aggregates.get("cv")
        return row["real_time"] if row is not None else None

    def counter(self, counter: str):
        """Median over repetitions of a counter; None when the benchmark did not report it."""
        values = self.counters.get(counter)
        if values:
            return statistics.median(values)
        row = self.aggregates.get("median")
        if row is not None and isinstance(row.get(counter), (int, float)):
            return float(row[counter])
        return None


@dataclass
class BenchRun:
    """One benchmark JSON file: a run on one kernel."""

    path: str
    label: str
    context: dict
    benches: dict  # canonical name -> Bench, in file order
    ignored_names: list = field(default_factory=list)

    @property
    def kernel(self):
        return self.context.get("kernel")

    def valid(self):
        return self._valid

    def family(self, name: str) -> list:
        return self._by_family.get(name, [])

    # Plots and tables ask for these many times; they are computed once, after loading.
    @functools.cached_property
    def _valid(self):
        return [b for b in self.benches.values() if b.error is None and b.median_ns is not None]

    @functools.cached_property
    def _by_family(self):
        families = {}
        for bench in self._valid:
            families.setdefault(bench.name.family, []).append(bench)
        return families

    def errors(self):
        return [b for b in self.benches.values() if b.error is not None]


@dataclass
class Matrix:
    """One conformance matrix (conformance/README.md)."""

    path: str
    label: str
    data: dict


@dataclass
class Inputs:
    runs: list
    matrices: list


# Context keys and counters Google Benchmark writes in every row; everything else numeric is
# a user counter.
_ROW_FIELDS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
               "repetitions", "repetition_index", "threads", "iterations", "real_time",
               "cpu_time", "time_unit", "aggregate_name", "aggregate_unit", "error_occurred",
               "error_message", "label", "skipped", "skip_message"}


def read_json(path: str):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    if not raw.strip():
        raise InputError(f"{path}: file is empty; was the run interrupted? Rerun it and pass the "
                         "file it writes")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e}); pass a file written with "
                         "--benchmark_out_format=json or a conformance matrix") from None


def kind_of(data) -> str:
    if isinstance(data, dict):
        schema = data.get("schema")
        if isinstance(schema, str) and schema.startswith(CONFORMANCE_SCHEMA_PREFIX):
            return "matrix"
        if isinstance(data.get("benchmarks"), list) and isinstance(data.get("context"), dict):
            return "bench"
    return "other"


def parse_bench(path: str, data: dict, fallback_label: str) -> BenchRun:
    benches = {}
    ignored = []
    for row in data["benchmarks"]:
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise InputError(f"{path}: a 'benchmarks' entry has no name; the file is not Google "
                             "Benchmark JSON")
        run_name = row.get("run_name") or names.strip_aggregate(row["name"])
        parsed = names.parse(run_name)
        if parsed is None:
            ignored.append(run_name)
            continue
        bench = benches.get(parsed.key)
        if bench is None:
            bench = benches[parsed.key] = Bench(parsed, run_name)
        _add_row(path, bench, row)
    if not benches:
        example = f" (e.g. {ignored[0]!r})" if ignored else ""
        raise InputError(f"{path}: no benchmark follows the FAMILY/TARGET/BACKING naming of "
                         f"bench/README.md{example}; is this an ovlab-bench output?")
    context = {k: v for k, v in data["context"].items()}
    label = context.get("kernel") or fallback_label
    return BenchRun(path, str(label), context, benches, ignored)


def _add_row(path, bench: Bench, row: dict):
    if row.get("error_occurred") or row.get("skipped"):
        bench.error = row.get("error_message") or row.get("skip_message") or "skipped"
        return
    if "real_time" not in row:
        raise InputError(f"{path}: row {row['name']!r} has no real_time")
    if row.get("run_type") == "aggregate":
        bench.aggregates[row.get("aggregate_name", "")] = row
        return
    try:
        bench.times_ns.append(to_ns(float(row["real_time"]), row.get("time_unit", "ns")))
    except ValueError as e:
        raise InputError(f"{path}: row {row['name']!r}: {e}") from None
    for key, value in row.items():
        if key not in _ROW_FIELDS and isinstance(value, (int, float)):
            bench.counters.setdefault(key, []).append(float(value))


def parse_matrix(path: str, data: dict, fallback_label: str) -> Matrix:
    targets, cases = data.get("targets"), data.get("cases")
    if not isinstance(targets, list) or not isinstance(cases, list) or not all(
            isinstance(t, dict) and "name" in t for t in targets):
        raise InputError(f"{path}: conformance matrix without a 'targets' list of named targets "
                         "and a 'cases' list; see conformance/README.md")
    if not all(isinstance(c, dict) and isinstance(c.get("results", {}), dict) for c in cases):
        raise InputError(f"{path}: a conformance case is not an object with 'results' per "
                         "target; see conformance/README.md")
    kernel = data.get("kernel")
    label = kernel.get("release") if isinstance(kernel, dict) else kernel
    return Matrix(path, str(label or fallback_label), data)


def _label_for(path: str, from_dir: str):
    """A run found inside a directory is named after its folder (DIR/<kernel>/x.json)."""
    if from_dir is not None:
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.abspath(parent) != os.path.abspath(from_dir):
            return os.path.basename(parent)
    return os.path.splitext(os.path.basename(path))[0]


def _files(path: str):
    if os.path.isdir(path):
        found = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".json")]
        if not found:
            raise InputError(f"{path}: directory holds no .json files; pass benchmark JSON or "
                             "conformance matrices")
        return [(f, path) for f in found]
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or directory")
    return [(path, None)]


def load(paths) -> Inputs:
    """Loads every input; a file that is neither kind is an error when named, skipped in a dir."""
    runs, matrices = [], []
    for given in paths:
        for path, from_dir in _files(given):
            data = read_json(path)
            kind = kind_of(data)
            fallback = _label_for(path, from_dir)
            if kind == "bench":
                runs.append(parse_bench(path, data, fallback))
            elif kind == "matrix":
                matrices.append(parse_matrix(path, data, fallback))
            elif from_dir is None:
                raise InputError(f"{path}: neither ovlab benchmark JSON (Google Benchmark's "
                                 "'context' and 'benchmarks') nor a conformance matrix "
                                 f"(schema {CONFORMANCE_SCHEMA_PREFIX}N)")
            else:
                print(f"note: skipping {path}: not a benchmark or conformance JSON",
                      file=sys.stderr)
    _unique_labels(runs)
    _unique_labels(matrices)
    return Inputs(runs, matrices)


def _unique_labels(items):
    """Two runs on one kernel keep apart: the file (or folder) name is added to the label."""
    counts = {}
    for item in items:
        counts[item.label] = counts.get(item.label, 0) + 1
    for item in items:
        if counts[item.label] > 1:
            item.label = f"{item.label} ({_label_for(item.path, None)})"
    seen = {}
    for item in items:
        n = seen.get(item.label, 0)
        seen[item.label] = n + 1
        if n:
            item.label = f"{item.label} #{n + 1}"


def few_repetitions(run: BenchRun) -> list:
    return [b for b in run.valid() if len(b.times_ns) < MIN_REPETITIONS]
