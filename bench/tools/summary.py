#!/usr/bin/python3
"""Headline table of an ovlab-bench JSON file, for the closing note of a run.

usage: summary.py FILE.json [--family copy_up,lookup,...] [--cv-limit 5]

Prints median and coefficient of variation of every aggregate instance of the headline families
(copy_up, lookup, inode_usage, write_heavy), marks CV above the limit, and counts them.
"""
import argparse
import json
import re
import sys

SUFFIX = re.compile(r"(/iterations:\d+|/repeats:\d+|/manual_time|/real_time)+$")


def aggregates(doc):
    """{run_name: {aggregate_name: row}}"""
    out = {}
    for r in doc.get("benchmarks", []):
        if r.get("run_type") != "aggregate":
            continue
        name = SUFFIX.sub("", r.get("run_name", r["name"]))
        out.setdefault(name, {})[r["aggregate_name"]] = r
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--family", default="copy_up,lookup,inode_usage,write_heavy")
    ap.add_argument("--cv-limit", type=float, default=5.0)
    args = ap.parse_args()
    with open(args.file) as f:
        doc = json.load(f)
    families = set(args.family.split(","))
    rows = high = 0
    for name, agg in sorted(aggregates(doc).items()):
        if name.split("/")[0] not in families or "median" not in agg:
            continue
        med = agg["median"]
        cv = agg.get("cv", {}).get("real_time", 0) * 100
        ops = med.get("ops") or 1
        extra = ""
        if "inodes" in med:
            extra = f" inodes={med['inodes']:.0f}/{med['inodes_expected']:.0f}"
        flag = " CV>limit" if cv > args.cv_limit else ""
        rows += 1
        high += bool(flag)
        print(f"{name:75s} {med['real_time'] / ops:12.1f} {med['time_unit']}/op  cv {cv:5.1f}%"
              f"{extra}{flag}")
    print(f"{rows} instances, {high} with CV above {args.cv_limit}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
