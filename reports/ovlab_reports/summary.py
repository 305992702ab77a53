"""The five lines report.py prints and puts at the top of the report."""

from . import conformance, select, tables
from .names import NO_COPY_UP_TARGETS, REFERENCE_TARGET
from .units import fmt_bytes, fmt_time_ns


def five_lines(inputs) -> list:
    runs = inputs.runs
    first = runs[0] if runs else None
    prefix = f"[{first.label}] " if len(runs) > 1 else ""
    return [_inputs_line(inputs), prefix + _ratio_line(first), prefix + _copy_up_line(first),
            prefix + _lookup_line(first), _conformance_line(inputs.matrices)]


def _inputs_line(inputs):
    runs = inputs.runs
    parts = []
    if runs:
        labels = ", ".join(r.label for r in runs)
        profiles = sorted({r.context.get("profile", "?") for r in runs})
        parts.append(f"{len(runs)} benchmark run{'s' * (len(runs) > 1)} ({labels}; profile "
                     f"{'/'.join(profiles)}; {sum(len(r.valid()) for r in runs)} results, "
                     f"{sum(len(r.errors()) for r in runs)} not run)")
    if inputs.matrices:
        parts.append(f"{len(inputs.matrices)} conformance matri"
                     f"{'ces' if len(inputs.matrices) > 1 else 'x'}")
    emulated = [r.label for r in runs if str(r.context.get("emulated", "")).lower() == "true"]
    line = "Inputs: " + "; ".join(parts)
    if emulated:
        line += f" — emulated VM: {', '.join(emulated)} (timings not comparable to native)"
    return line


def _ratio_line(run):
    if run is None:
        return "Ratios: no benchmark run given"
    table = tables.ratio_table(run)
    means = tables.geomean_ratios(table)
    if not means:
        return f"Ratios: no case has both {REFERENCE_TARGET} and another target"
    ordered = sorted(means.items(), key=lambda kv: kv[1])
    text = ", ".join(f"{t} {r:.2f}×" for t, r in ordered)
    return f"vs {REFERENCE_TARGET} (geometric mean over {len(table.rows)} cases): {text}"


def _copy_up_line(run):
    if run is None or not select.backings([run], "copy_up"):
        return "Copy-up: no results"
    parts = []
    for backing in select.backings([run], "copy_up"):
        points = {t: dict(select.copy_up_sizes(run, t, backing))
                  for t in select.targets([run], "copy_up") if t not in NO_COPY_UP_TARGETS}
        points = {t: p for t, p in points.items() if p}
        if not points:
            continue
        size = max(max(p) for p in points.values())
        at_size = {t: p[size] for t, p in points.items() if size in p}
        best = min(at_size, key=at_size.get)
        text = f"{backing} best {best} {fmt_time_ns(at_size[best])}"
        if REFERENCE_TARGET in at_size and best != REFERENCE_TARGET:
            text += f" ({REFERENCE_TARGET} {fmt_time_ns(at_size[REFERENCE_TARGET])})"
        parts.append(f"{text} at {fmt_bytes(size)}")
    plain = [t for t in select.targets([run], "copy_up") if t in NO_COPY_UP_TARGETS]
    note = f" ({', '.join(plain)}: no copy-up, not ranked)" if plain else ""
    return "Copy-up: " + ("; ".join(parts) or "no dense first-write results") + note


def _lookup_line(run):
    if run is None or not select.backings([run], "lookup"):
        return "Lookup: no results"
    wheres = select.lookup_wheres([run])
    where = "bottom" if "bottom" in wheres else wheres[-1]
    parts = []
    for backing in select.backings([run], "lookup"):
        deepest = {}
        for target in select.targets([run], "lookup"):
            points = select.lookup_depths(run, target, backing, where, "cold")
            if points:
                deepest[target] = points[-1]
        if not deepest:
            continue
        best = min(deepest, key=lambda t: deepest[t][1])
        worst = max(deepest, key=lambda t: deepest[t][1])
        parts.append(f"{backing} depth {deepest[best][0]} best {best} "
                     f"{fmt_time_ns(deepest[best][1])}, worst {worst} "
                     f"{fmt_time_ns(deepest[worst][1])}")
    return f"Lookup (cold, name at {where}): " + ("; ".join(parts) or "no cold results")


def _conformance_line(matrices):
    if not matrices:
        return "Conformance: no matrix given"
    parts = []
    for matrix in matrices:
        cells = conformance.counts(matrix)
        per_target = []
        for target in conformance.targets(matrix):
            total = {}
            for (t, _), cell in cells.items():
                if t == target:
                    for verdict, n in cell.items():
                        total[verdict] = total.get(verdict, 0) + n
            if set(total) <= {"skip"}:
                per_target.append(f"{target} skipped")
                continue
            counts = ", ".join(f"{total[v]} {v}" for v in conformance.VERDICTS
                               if total.get(v) and v != "skip")
            per_target.append(f"{target} {counts}")
        parts.append(f"{matrix.label} ({len(matrix.data['cases'])} cases): "
                     + "; ".join(per_target))
    return "Conformance " + " | ".join(parts)
