"""The conformance matrix (conformance/README.md) as tables: target × family, and every
deviation and failure with its reason."""

from .names import target_order
from .table import Cell, Table

STATUSES = ("pass", "fail", "deviation", "skip")
# Worst first: a cell takes the colour of the worst result in it.
_SEVERITY = ("fail", "deviation", "skip", "pass")
_ALIASES = {"passed": "pass", "ok": "pass", "failed": "fail", "skipped": "skip",
            "deviates": "deviation", "deviated": "deviation"}


def status_of(result) -> str:
    raw = str((result or {}).get("status", "")).lower()
    return _ALIASES.get(raw, raw) or "unknown"


def targets(matrix) -> list:
    names = set(matrix.data.get("targets", {}))
    for case in matrix.data["cases"]:
        names.update((case.get("results") or {}).keys())
    return target_order(names)


def families(matrix) -> list:
    seen = []
    for case in matrix.data["cases"]:
        family = case.get("family", "?")
        if family not in seen:
            seen.append(family)
    return seen


def counts(matrix) -> dict:
    """(target, family) -> {status: n}."""
    table = {}
    for case in matrix.data["cases"]:
        for target, result in (case.get("results") or {}).items():
            cell = table.setdefault((target, case.get("family", "?")), {})
            status = status_of(result)
            cell[status] = cell.get(status, 0) + 1
    return table


def totals(matrix) -> dict:
    total = {}
    for cell in counts(matrix).values():
        for status, n in cell.items():
            total[status] = total.get(status, 0) + n
    return total


def matrix_table(matrix, multiple: bool) -> Table:
    fams = families(matrix)
    title = "Conformance: target × family" + (f" — {matrix.label}" if multiple else "")
    table = Table(title, ["target"] + fams)
    cells = counts(matrix)
    for target in targets(matrix):
        row = [Cell(target)]
        for family in fams:
            row.append(_count_cell(cells.get((target, family), {})))
        table.rows.append(row)
    table.note = "Each cell counts the family's cases by result; its colour is the worst result."
    return table


def _count_cell(cell: dict) -> Cell:
    if not cell:
        return Cell("–")
    n = sum(cell.values())
    parts = [f"{cell[s]} {s}" for s in STATUSES if cell.get(s)]
    parts += [f"{v} {s}" for s, v in cell.items() if s not in STATUSES]
    worst = next((s for s in _SEVERITY if cell.get(s)), "unknown")
    if cell.get("pass") == n:
        return Cell(f"{n}/{n} pass", css="pass")
    return Cell(", ".join(parts), css=worst if worst in STATUSES else "fail")


def targets_table(matrix, multiple: bool) -> Table:
    title = "Conformance targets" + (f" — {matrix.label}" if multiple else "")
    table = Table(title, ["target", "version", "options", "status", "skip reason"])
    info = matrix.data.get("targets", {})
    for target in targets(matrix):
        t = info.get(target) or {}
        status = str(t.get("status", "–"))
        table.add(target, _text(t.get("version")), _text(t.get("options")),
                  Cell(status, css="skip" if t.get("skip_reason") else ""),
                  _text(t.get("skip_reason")))
    return table


def deviations_table(matrix, multiple: bool) -> Table:
    title = "Deviations and failures" + (f" — {matrix.label}" if multiple else "")
    table = Table(title, ["case", "family", "checklist", "target", "result", "observed",
                          "expected", "reason"])
    for case in matrix.data["cases"]:
        for target in target_order((case.get("results") or {}).keys()):
            result = case["results"][target] or {}
            status = status_of(result)
            if status in ("pass", "skip"):
                continue
            table.add(_text(case.get("id")), _text(case.get("family")),
                      ", ".join(case.get("checklist") or []) or "–", target,
                      Cell(status, css=status if status in STATUSES else "fail"),
                      _text(result.get("observed")), _text(result.get("expected")),
                      _text(result.get("reason")))
    if not table.rows:
        table.note = "None: every case that ran passed."
    return table


def _text(value):
    return "–" if value in (None, "") else str(value)
