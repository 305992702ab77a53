"""Builds report.html, summary.md and the plots from loaded inputs."""

import os

from . import conformance, html, markdown, plots, summary, tables
from .load import MIN_REPETITIONS, few_repetitions


def warnings_for(inputs) -> list:
    notes = []
    for run in inputs.runs:
        if str(run.context.get("emulated", "")).lower() == "true":
            notes.append(f"{run.label}: measured inside an emulated VM; its timings are not "
                         "comparable with native runs.")
        few = few_repetitions(run)
        if few:
            notes.append(f"{run.label}: {len(few)} benchmarks have fewer than {MIN_REPETITIONS} "
                         "repetitions; their medians are not robust (run with "
                         "--benchmark_repetitions=5).")
        if run.ignored_names:
            notes.append(f"{run.label}: {len(run.ignored_names)} rows do not follow the naming "
                         f"contract and are left out (e.g. {run.ignored_names[0]}).")
    return notes


def title_for(inputs) -> str:
    labels = [r.label for r in inputs.runs] or [m.label for m in inputs.matrices]
    return "ovlab driver comparison — " + ", ".join(labels)


def sections_for(inputs) -> list:
    runs, matrices = inputs.runs, inputs.matrices
    many_runs, many_matrices = len(runs) > 1, len(matrices) > 1
    sections = []
    if runs:
        sections.append(("Run context", [tables.context_table(runs)]))
        sections.append(("Ratios against kernel overlay2",
                         [tables.ratio_as_table(tables.ratio_table(r), many_runs) for r in runs]))
    if many_runs:
        sections.append(("Runs compared", [tables.runs_table(runs)]))
    conf = []
    for m in matrices:
        conf += [conformance.matrix_table(m, many_matrices),
                 conformance.deviations_table(m, many_matrices),
                 conformance.targets_table(m, many_matrices)]
    if conf:
        sections.append(("Conformance", conf))
    errors = tables.errors_table(runs)
    if errors.rows:
        sections.append(("Benchmarks that did not run", [errors]))
    results = [t for r in runs for t in tables.results_tables(r, many_runs)]
    if results:
        sections.append(("All results", results))
    return sections


def build(inputs, out_dir) -> tuple:
    """Writes everything into out_dir; returns (report path, the five summary lines)."""
    drawn = plots.draw_all(inputs.runs, out_dir)
    lines = summary.five_lines(inputs)
    notes = warnings_for(inputs)
    title = title_for(inputs)
    sections = sections_for(inputs)
    report = os.path.join(out_dir, "report.html")
    with open(report, "w", encoding="utf-8") as f:
        f.write(html.render(title, lines, notes, drawn, sections))
    with open(os.path.join(out_dir, "summary.md"), "w", encoding="utf-8") as f:
        f.write(markdown.render(title, lines, notes, drawn, sections))
    return report, lines, notes
