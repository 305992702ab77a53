"""report.html: one self-contained page; the plots are embedded as data URIs."""

import base64
import html

from .table import Table

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1500px;
       padding: 0 1em; color: #222; }
h1 { margin-bottom: .2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
pre.summary { background: #f4f6f8; padding: .8em 1em; border-left: 4px solid #4a7; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: .6em 1em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; position: sticky; top: 0; }
td.best { font-weight: bold; background: #d8f0d8; }
td.pass { background: #e3f4e3; } td.fail { background: #f8d0d0; }
td.deviation { background: #fde6c4; } td.skip { background: #e8e8e8; color: #555; }
td.slower { background: #f8d0d0; } td.faster { background: #d8f0d8; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; max-width: 70em; }
p.note { color: #555; margin-top: -.6em; max-width: 70em; }
details summary { cursor: pointer; font-weight: 600; margin: .4em 0; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def table_html(table: Table, show_title=True) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for cell in row:
            classes = " ".join(x for x in ("best" if cell.best else "", cell.css) if x)
            attrs = f' class="{classes}"' if classes else ""
            attrs += f' title="{_e(cell.title)}"' if cell.title else ""
            text = _e(cell.text) + (" ★" if cell.best else "")
            cells.append(f"<td{attrs}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = []
    if table.rows:
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
                     "</tbody></table>")
    if table.note:
        parts.append(f'<p class="note">{_e(table.note)}</p>')
    if table.collapsed:
        return (f"<details><summary>{_e(table.title)} ({len(table.rows)} rows)</summary>"
                + "".join(parts) + "</details>")
    title = f"<h3>{_e(table.title)}</h3>" if show_title else ""
    return title + "".join(parts)


def figure_html(plot) -> str:
    with open(plot.path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return (f'<figure id="{_e(plot.name)}"><img alt="{_e(plot.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_e(plot.caption)} '
            f'(<a href="{_e(plot.name)}.png">{_e(plot.name)}.png</a>)</figcaption></figure>')


def render(title, summary_lines, warnings, plots, sections) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>"]
    out += [f'<p class="warning">{_e(w)}</p>' for w in warnings]
    out.append('<pre class="summary">' + _e("\n".join(summary_lines)) + "</pre>")
    if plots:
        out.append("<h2>Plots</h2>")
        out += [f"<h3>{_e(p.title)}</h3>" + figure_html(p) for p in plots]
    for heading, tables in sections:
        if not tables:
            continue
        out.append(f"<h2>{_e(heading)}</h2>")
        out += [table_html(t, show_title=t.title != heading) for t in tables]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
