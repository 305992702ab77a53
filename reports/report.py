#!/usr/bin/python3
"""Driver comparison report from ovlab benchmark JSON and conformance matrices.

usage: report.py INPUT... [--out DIR] [--latest-link PATH]

INPUT is a benchmark JSON, a conformance matrix, or a directory searched for both (the VM
runner's DIR/<kernel>/). Writes DIR/report.html (self-contained), DIR/summary.md and the PNG
plots, then prints the report's path and a five-line summary. Without --out, DIR is
reports/out/<UTC timestamp> and reports/out/latest points at it; an --out inside a folder
named `out` also updates that folder's `latest` link.
"""

import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ovlab_reports import cli, load, outdir, plots, version  # noqa: E402
from ovlab_reports.errors import InputError  # noqa: E402
from ovlab_reports.report import build  # noqa: E402

PROG = "report.py"
DEFAULT_OUT_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
OWNED_FILES = ["report.html", "summary.md"] + [f"{d.__name__}.png" for d in plots.ALL]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version",
                        version=f"{PROG} {version.version()}")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="benchmark JSON, conformance matrix JSON, or a directory of them")
    parser.add_argument("--out", help="output directory (default: reports/out/<timestamp>)")
    parser.add_argument("--latest-link", metavar="PATH",
                        help="symlink to point at the output directory")
    return parser.parse_args(argv)


def latest_link_for(args, out):
    if args.latest_link:
        return args.latest_link
    parent = os.path.dirname(os.path.abspath(out))
    if os.path.basename(parent) == "out":
        return os.path.join(parent, "latest")
    return None


def main(argv=None):
    args = parse_args(argv)
    out = args.out or os.path.join(
        DEFAULT_OUT_ROOT, datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S"))
    inputs = load.load(args.inputs)
    if not inputs.runs and not inputs.matrices:
        raise InputError("no benchmark JSON or conformance matrix among the inputs")
    with outdir.staged(out, owned_names=OWNED_FILES, latest_link=latest_link_for(args, out)) as tmp:
        _, lines, notes = build(inputs, tmp)
    for note in notes:
        cli.warn(PROG, note)
    print(os.path.join(os.path.abspath(out), "report.html"))
    for line in lines:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, PROG))
