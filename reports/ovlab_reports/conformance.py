"""The conformance matrix (schema in conformance/README.md) as tables: target × family counts,
every deviation and failure with its reason, and the targets that ran."""

from .table import Cell, Table

# Verdicts of the schema, and the CSS class (and short name) each is shown with.
VERDICTS = ("pass", "fail", "known-deviation", "skip")
_CSS = {"pass": "pass", "fail": "fail", "known-deviation": "deviation", "skip": "skip"}
# Worst first: a cell takes the colour of the worst verdict in it.
_SEVERITY = ("fail", "known-deviation", "skip", "pass")


def verdict_of(result) -> str:
    return str((result or {}).get("verdict", "")) or "unknown"


def targets(matrix) -> list:
    """Target names in run order (the kernel oracle first), then any only seen in results."""
    names = [t["name"] for t in matrix.data["targets"]]
    for case in matrix.data["cases"]:
        names += [n for n in case.get("results", {}) if n not in names]
    return names


def families(matrix) -> list:
    seen = []
    for case in matrix.data["cases"]:
        family = case.get("family", "?")
        if family not in seen:
            seen.append(family)
    return seen


def counts(matrix) -> dict:
    """(target, family) -> {verdict: n}."""
    table = {}
    for case in matrix.data["cases"]:
        for target, result in case.get("results", {}).items():
            cell = table.setdefault((target, case.get("family", "?")), {})
            verdict = verdict_of(result)
            cell[verdict] = cell.get(verdict, 0) + 1
    return table


def totals(matrix) -> dict:
    total = {}
    for cell in counts(matrix).values():
        for verdict, n in cell.items():
            total[verdict] = total.get(verdict, 0) + n
    return total


def _suffix(matrix, multiple):
    return f" — {matrix.label}" if multiple else ""


def matrix_table(matrix, multiple: bool) -> Table:
    fams = families(matrix)
    table = Table("Conformance: target × family" + _suffix(matrix, multiple), ["target"] + fams)
    cells = counts(matrix)
    for target in targets(matrix):
        table.rows.append([Cell(target)] + [_count_cell(cells.get((target, f), {})) for f in fams])
    backing = matrix.data.get("backing")
    table.note = ("Each cell counts the family's cases by verdict; its colour is the worst one. "
                  "The kernel is the oracle the other targets are compared with"
                  + (f"; layers on {backing}." if backing else "."))
    return table


def _count_cell(cell: dict) -> Cell:
    if not cell:
        return Cell("–")
    n = sum(cell.values())
    if cell.get("pass") == n:
        return Cell(f"{n}/{n} pass", css="pass")
    order = list(VERDICTS) + sorted(set(cell) - set(VERDICTS))
    worst = next((v for v in _SEVERITY if cell.get(v)), None)
    return Cell(", ".join(f"{cell[v]} {v}" for v in order if cell.get(v)),
                css=_CSS.get(worst, "fail"))


def targets_table(matrix, multiple: bool) -> Table:
    table = Table("Conformance targets" + _suffix(matrix, multiple),
                  ["target", "role", "version", "options", "available", "skip reason"])
    for t in matrix.data["targets"]:
        available = t.get("available", True)
        table.add(t["name"], _text(t.get("role")), _text(t.get("version")),
                  _text(t.get("options")),
                  Cell("yes" if available else "no", css="" if available else "skip"),
                  _text(t.get("skip_reason")))
    return table


def deviations_table(matrix, multiple: bool) -> Table:
    table = Table("Deviations and failures" + _suffix(matrix, multiple),
                  ["case", "family", "checklist", "target", "verdict", "reason", "options"])
    order = targets(matrix)
    for case in matrix.data["cases"]:
        results = case.get("results", {})
        for target in sorted(results, key=order.index):
            result = results[target] or {}
            verdict = verdict_of(result)
            if verdict in ("pass", "skip"):
                continue
            table.add(Cell(_text(case.get("id")), title=_text(case.get("description"))),
                      _text(case.get("family")), ", ".join(case.get("checklist") or []) or "–",
                      target, Cell(verdict, css=_CSS.get(verdict, "fail")),
                      _text(result.get("reason")), _text(result.get("options")))
    table.note = ("Every result that is not pass or skip. The reason is the first transcript "
                  "line where the target differs from the kernel (kernel: … | target: …), or "
                  "for the kernel the documented rule it broke.")
    if not table.rows:
        table.note = "None: every case that ran passed."
    return table


def _text(value):
    return "–" if value in (None, "") else str(value)
