"""Tables of benchmark runs: context, ratios against kernel overlay2, all results, runs compared."""

import math
from dataclasses import dataclass, field

from . import regression, select
from .names import REFERENCE_TARGET, target_order
from .table import Cell, Table
from .units import fmt_bytes, fmt_count, fmt_ratio, fmt_time_ns

# Context keys in the order a reader wants them; backing.* and target.* follow.
_CONTEXT_KEYS = (("kernel", "kernel"), ("distribution", "distribution"), ("cpu", "CPU"),
                 ("num_cpus", "CPUs"), ("mhz_per_cpu", "MHz per CPU"), ("profile", "profile"),
                 ("emulated", "emulated VM"), ("date", "date"), ("host_name", "host"),
                 ("ovlab_version", "ovlab version"), ("library_build_type", "benchmark library"))
_SKIP_CONTEXT = {"caches", "load_avg", "executable", "cpu_scaling_enabled"}
_NOT_RATIOED = {"bound"}


@dataclass
class RatioRow:
    case: str
    metric: str  # "time" or "inodes"
    values: dict  # target -> value (ns or inodes)
    ratios: dict = field(default_factory=dict)  # target -> value / overlay2's
    best: set = field(default_factory=set)


@dataclass
class RatioTable:
    label: str
    targets: list
    rows: list
    unreferenced: int  # cases with no overlay2 on their backing


def metric_of(bench):
    """Lower is better for both: time of one operation, or inodes an image costs."""
    if bench.name.family == "inode_usage":
        return "inodes", bench.counter("inodes")
    return "time", select.per_op_ns(bench)


def ratio_table(run) -> RatioTable:
    cases = {}
    for bench in run.valid():
        if bench.name.family in _NOT_RATIOED:
            continue
        metric, value = metric_of(bench)
        if value is None:
            continue
        row = cases.setdefault(bench.name.case, RatioRow(bench.name.case, metric, {}))
        row.values[bench.name.target] = value
    rows, unreferenced = [], 0
    for row in cases.values():
        reference = row.values.get(REFERENCE_TARGET)
        if not reference or len(row.values) < 2:
            unreferenced += reference is None
            continue
        row.ratios = {t: v / reference for t, v in row.values.items()}
        lowest = min(row.values.values())
        row.best = {t for t, v in row.values.items() if math.isclose(v, lowest, rel_tol=1e-9)}
        rows.append(row)
    targets = target_order({t for r in rows for t in r.values})
    return RatioTable(run.label, targets, rows, unreferenced)


def geomean_ratios(table: RatioTable) -> dict:
    """Per target, the geometric mean of its ratios to overlay2 over the rows it appears in."""
    logs = {}
    for row in table.rows:
        for target, ratio in row.ratios.items():
            if ratio > 0:
                logs.setdefault(target, []).append(math.log(ratio))
    return {t: math.exp(sum(v) / len(v)) for t, v in logs.items() if t != REFERENCE_TARGET}


def _fmt_metric(metric, value):
    return fmt_time_ns(value) if metric == "time" else fmt_count(value)


def ratio_as_table(ratios: RatioTable, multiple_runs: bool) -> Table:
    others = [t for t in ratios.targets if t != REFERENCE_TARGET]
    title = "Ratio to kernel overlay2 on the same backing"
    if multiple_runs:
        title += f" — {ratios.label}"
    table = Table(title, ["case", f"{REFERENCE_TARGET} (absolute)"] + others)
    for row in ratios.rows:
        cells = [Cell(row.case), Cell(_fmt_metric(row.metric, row.values[REFERENCE_TARGET]),
                                      best=REFERENCE_TARGET in row.best)]
        for target in others:
            if target not in row.values:
                cells.append(Cell("–"))
                continue
            cells.append(Cell(fmt_ratio(row.ratios[target]), best=target in row.best,
                              title=_fmt_metric(row.metric, row.values[target])))
        table.rows.append(cells)
    table.note = ("Each cell is the target's median (time per operation; inodes for "
                  "inode_usage) divided by kernel overlay2's on the same backing and case; "
                  "below 1.00× is better. ★ marks the best target in each row.")
    if ratios.unreferenced:
        table.note += f" {ratios.unreferenced} cases without an overlay2 row are left out."
    return table


def context_table(runs) -> Table:
    table = Table("Run context", ["" if len(runs) > 1 else "key"] + [r.label for r in runs])
    if len(runs) == 1:
        table.columns = ["key", "value"]
    keys = [(k, label) for k, label in _CONTEXT_KEYS if any(k in r.context for r in runs)]
    extra = sorted({k for r in runs for k in r.context} - {k for k, _ in _CONTEXT_KEYS}
                   - _SKIP_CONTEXT)
    keys += [(k, _extra_label(k)) for k in extra]
    for key, label in keys:
        table.add(label, *[_context_value(r.context.get(key)) for r in runs])
    table.add("input file", *[r.path for r in runs])
    return table


def _extra_label(key):
    for prefix, name in (("backing.", "backing "), ("target.", "target ")):
        if key.startswith(prefix):
            return name + key[len(prefix):]
    return key


def _context_value(value):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def results_tables(run, multiple_runs: bool) -> list:
    """Every measured benchmark per family: median, per operation, spread, counters."""
    tables = []
    families = []
    for bench in run.valid():
        if bench.name.family not in families:
            families.append(bench.name.family)
    for family in families:
        benches = select.family(run, family)
        counters = sorted({c for b in benches for c in b.counters})
        title = f"All {family} results" + (f" — {run.label}" if multiple_runs else "")
        table = Table(title, ["benchmark", "median", "per op", "cv", "reps"] + counters,
                      collapsed=True)
        for b in benches:
            ops = b.counter("ops")
            table.add(b.name.key, fmt_time_ns(b.median_ns),
                      fmt_time_ns(b.median_ns / ops) if ops else "–",
                      f"{b.cv * 100:.1f} %" if b.cv is not None else "–", len(b.times_ns),
                      *[_fmt_counter(c, b.counter(c)) for c in counters])
        tables.append(table)
    return tables


def _fmt_counter(name, value):
    if value is None:
        return "–"
    if name == "bytes_per_second":
        return fmt_bytes(value) + "/s"
    if name == "cpu_us":  # CPU time of the calling thread per operation
        return fmt_time_ns(value * 1e3)
    if name.startswith("bytes"):
        return fmt_bytes(value)
    return fmt_count(value)


def errors_table(runs) -> Table:
    table = Table("Benchmarks that did not run", ["run", "benchmark", "reason"])
    for run in runs:
        for bench in run.errors():
            table.add(run.label, bench.name.key, bench.error)
    return table


def runs_table(runs) -> Table:
    """Every benchmark of the first run against the same benchmark in the later runs, with
    compare.py's verdict (median change and Mann-Whitney U over the repetitions)."""
    base, others = runs[0], runs[1:]
    columns = ["benchmark", base.label]
    for run in others:
        columns += [run.label, f"{run.label} / {base.label}"]
    table = Table(f"Runs compared (median time per iteration, relative to {base.label})",
                  columns, collapsed=True)
    for bench in base.valid():
        cells = [Cell(bench.name.key), Cell(fmt_time_ns(bench.median_ns))]
        found = False
        for run in others:
            other = run.benches.get(bench.name.key)
            if other is None or other.error or other.median_ns is None:
                cells += [Cell("–"), Cell("–")]
                continue
            found = True
            cells += [Cell(fmt_time_ns(other.median_ns)), _change_cell(bench, other)]
        if found:
            table.rows.append(cells)
    table.note = (f"Red: slower by more than {regression.DEFAULT_THRESHOLD_PCT:g} % with "
                  f"p ≤ {regression.DEFAULT_ALPHA:g} (one-sided Mann–Whitney U over the "
                  "repetitions, as compare.py decides); green: faster by the same rule.")
    return table


def _change_cell(base, other) -> Cell:
    ratio = other.median_ns / base.median_ns if base.median_ns else None
    if len(base.times_ns) < 2 or len(other.times_ns) < 2:
        return Cell(fmt_ratio(ratio), title="too few repetitions for a verdict")
    c = regression.change(base.name.key, base, other, regression.DEFAULT_THRESHOLD_PCT,
                          regression.DEFAULT_ALPHA)
    css = {regression.VERDICT_SLOWER: "slower", regression.VERDICT_FASTER: "faster"}
    return Cell(fmt_ratio(ratio), css=css.get(c.verdict, ""),
                title=f"{c.verdict}, p = {c.p_value:.3g}")
