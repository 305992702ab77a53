"""summary.md: the headline, the context, links to the plots and the decisive tables."""

from .table import Table


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# summary.md stays a summary: longer tables are cut here and are whole in report.html.
MAX_ROWS = 60


def table_md(table: Table, show_title=True) -> str:
    lines = [f"### {table.title}", ""] if show_title else []
    if not table.rows:
        lines += [table.note or "(no rows)", ""]
        return "\n".join(lines)
    lines.append("| " + " | ".join(_escape(c) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    for row in table.rows[:MAX_ROWS]:
        cells = [f"**{_escape(c.text)} ★**" if c.best else _escape(c.text) for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    if table.note:
        lines += ["", table.note]
    if len(table.rows) > MAX_ROWS:
        lines += ["", f"({len(table.rows) - MAX_ROWS} more rows in report.html)"]
    lines.append("")
    return "\n".join(lines)


def render(title, summary_lines, warnings, plots, sections) -> str:
    """sections: (heading, [Table]) pairs; collapsed (reference) tables are left to the HTML."""
    out = [f"# {title}", ""]
    out += [f"> **Warning:** {w}" for w in warnings]
    out += ["```"] + summary_lines + ["```", ""]
    if plots:
        out += ["## Plots", ""]
        for plot in plots:
            out += [f"![{plot.title}]({plot.name}.png)", "", f"*{plot.caption}*", ""]
    for heading, tables in sections:
        shown = [t for t in tables if not t.collapsed]
        if not shown:
            continue
        out += [f"## {heading}", ""]
        out += [table_md(t, show_title=t.title != heading) for t in shown]
    out.append("The full tables are in report.html.")
    return "\n".join(out) + "\n"
