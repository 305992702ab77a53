"""The cross-kernel table of one or more run-kernels output directories (vagrant/README.md).

Per kernel: release, status, guest wall time and verdict counts per target; then every
(case, target) whose verdict differs between kernels, with each kernel's verdict and reason.
Several directories (runs made in parallel) are read as one; a kernel present twice is an error,
and so is a part of a kernel (a shard of a split run: merge the shards first, run-kernels --merge).
"""
import argparse
import json
import os
import sys

from .kernels import sort_key
from .results import differing_cases

VERDICTS = ("pass", "fail", "skip", "known-deviation")


class CrossKernelError(Exception):
    pass


def load_runs(dirs):
    """[(index entry, matrix or None)] of every kernel in `dirs`, oldest kernel first."""
    rows, seen = [], set()
    for d in dirs:
        index_path = os.path.join(d, "index.json")
        try:
            with open(index_path, encoding="utf-8") as f:
                index = json.load(f)
        except (OSError, ValueError) as e:
            raise CrossKernelError(f"{index_path}: {e}; pass a run-kernels --out directory") from e
        for entry in index.get("kernels", []):
            part = entry.get("part") or {}
            if part.get("parts", 1) > 1:
                raise CrossKernelError(
                    f"{d} holds part {part.get('part')}/{part['parts']} of kernel {entry['kernel']} (one shard of a "
                    "split run): merge the shards first (run-kernels --merge DIR... --out MERGED) and pass MERGED"
                )
            if entry["kernel"] in seen:
                raise CrossKernelError(f"kernel {entry['kernel']} appears in two runs; pass each once")
            seen.add(entry["kernel"])
            matrix = None
            rel = (entry.get("files") or {}).get("matrix")
            if rel:
                with open(os.path.join(d, rel), encoding="utf-8") as f:
                    matrix = json.load(f)
            rows.append((entry, matrix))
    rows.sort(key=lambda r: sort_key(r[0]["kernel"], r[0].get("release", "")))
    return rows


def counts_line(matrix, target):
    counts = ((matrix or {}).get("summary", {}).get("by_target", {}) or {}).get(target)
    if not counts:
        return "-"
    return " ".join(f"{v}={counts.get(v, 0)}" for v in VERDICTS if counts.get(v, 0))


def reasons(matrices, case, target):
    out = {}
    for kernel, m in matrices.items():
        for c in m.get("cases", []):
            if c.get("id") == case:
                out[kernel] = ((c.get("results") or {}).get(target) or {}).get("reason", "")
    return out


def render(rows, markdown=False):
    matrices = {e["kernel"]: m for e, m in rows if m}
    targets = []
    for m in matrices.values():
        for t in m.get("targets", []):
            if t["name"] not in targets:
                targets.append(t["name"])
    lines = []
    head = ["kernel", "release", "status", "guest wall s", "backing"] + targets
    body = []
    for e, m in rows:
        wall = e.get("wall_seconds")
        wall = f"{wall:.1f}" if isinstance(wall, (int, float)) else "-"
        how = "" if e.get("accel") in (None, "host") else f" ({e.get('accel')})"
        body.append([e["kernel"], e.get("release") or "-", e.get("status", "-"), wall + how,
                     (m or {}).get("backing", "-")] + [counts_line(m, t) for t in targets])
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(r) + " |" for r in body]
    else:
        widths = [max(len(r[i]) for r in body + [head]) for i in range(len(head))]
        for r in [head] + body:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    diffs = differing_cases(matrices) if len(matrices) > 1 else []
    lines.append("")
    lines.append(f"(case, target) pairs whose verdict differs between kernels: {len(diffs)}")
    for case, target, by_kernel in diffs:
        verdicts = ", ".join(f"{k}={v}" for k, v in by_kernel.items())
        lines.append(f"{'- ' if markdown else '  '}{case} [{target}]: {verdicts}")
        for kernel, reason in reasons(matrices, case, target).items():
            if reason and by_kernel.get(kernel) != "pass":
                lines.append(f"      {kernel}: {reason[:300]}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="cross-kernel", description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run-kernels --out directories")
    p.add_argument("--markdown", action="store_true", help="Markdown table and list")
    args = p.parse_args(argv)
    try:
        sys.stdout.write(render(load_runs(args.dirs), args.markdown))
    except (CrossKernelError, OSError, ValueError) as e:
        print(f"cross-kernel: {e}", file=sys.stderr)
        return 2
    return 0
