#!/usr/bin/python3
"""Headline figures of an ovlab-bench JSON file, for the closing note of a run.

usage: summary.py FILE.json [--family copy_up,lookup,...] [--cv-limit 5] [--dd-limit 15]
       summary.py FILE.json --headline

Default: median and coefficient of variation of every aggregate instance of the headline
families (copy_up, lookup, inode_usage, write_heavy), marking CV above the limit (for inode_usage
the CV of the inode count, its headline), with the CPU time per lookup (cpu_us) and the throughput
(bytes_per_second) where a row has them, then the ratio of every independent dd measurement
(bound/dd/BACKING/bytes:N/dense/on:TARGET) to the copy_up instance it checks
(copy_up/TARGET/BACKING/bytes:N/dense), raw and without dd's own start-up (its startup_us
counter), marked when the latter is off by more than --dd-limit percent.
--headline: a markdown table of the four headline families, one row per target.
"""
import argparse
import json
import re
import sys

SUFFIX = re.compile(r"(/iterations:\d+|/repeats:\d+|/manual_time|/real_time)+$")
TARGETS = ("overlay2", "overlay", "vfs", "fuse", "engine", "fuse-overlayfs", "unionfs-fuse",
           "btrfs", "devicemapper")


def aggregates(doc):
    """{run_name: {aggregate_name: row}}"""
    out = {}
    for r in doc.get("benchmarks", []):
        if r.get("run_type") != "aggregate" or r.get("error_occurred"):
            continue
        name = SUFFIX.sub("", r.get("run_name", r["name"]))
        out.setdefault(name, {})[r["aggregate_name"]] = r
    return out


def headline_cv(name, agg):
    """CV in percent of what the instance is about: the inode count for inode_usage."""
    cv = agg.get("cv", {})
    key = "inodes" if name.startswith("inode_usage/") else "real_time"
    return (cv.get(key) or 0) * 100


def to_us(row, value):
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[row.get("time_unit", "ns")]
    return value * scale


def per_op_us(row):
    return to_us(row, row["real_time"]) / (row.get("ops") or 1)


def print_cv(aggs, families, cv_limit):
    rows = high = 0
    for name, agg in sorted(aggs.items()):
        if name.split("/")[0] not in families or "median" not in agg:
            continue
        med = agg["median"]
        cv = headline_cv(name, agg)
        extra = ""
        if "inodes" in med:
            extra = f" inodes={med['inodes']:.0f}/{med['inodes_expected']:.0f}"
        if "cpu_us" in med:  # warm lookups without a daemon: CPU time per lookup
            extra += f" cpu {med['cpu_us']:.2f} us/op"
        if med.get("bytes_per_second"):
            extra += f" {med['bytes_per_second'] / 2**20:.0f} MiB/s"
        flag = " CV>limit" if cv > cv_limit else ""
        rows += 1
        high += bool(flag)
        print(f"{name:75s} {per_op_us(med):12.1f} us/op  cv {cv:5.1f}%{extra}{flag}")
    print(f"{rows} instances, {high} with CV above {cv_limit}%")


def print_dd(aggs, dd_limit):
    for name, agg in sorted(aggs.items()):
        m = re.match(r"^bound/dd/([^/]+)/bytes:(\d+)/dense/on:([^/]+)$", name)
        if not m or "median" not in agg:
            continue
        backing, size, target = m.groups()
        checked = aggs.get(f"copy_up/{target}/{backing}/bytes:{size}/dense", {})
        if "median" not in checked:
            print(f"{name}: no copy_up instance to compare with")
            continue
        dd = to_us(agg["median"], agg["median"]["real_time"])
        startup = agg["median"].get("startup_us", 0)
        ours = to_us(checked["median"], checked["median"]["real_time"])
        ratio, net = dd / ours, (dd - startup) / ours
        flag = "" if abs(net - 1) * 100 <= dd_limit else f" off by more than {dd_limit}%"
        print(f"dd vs copy_up/{target}/{backing}/bytes:{size}/dense: dd {dd / 1e3:.1f} ms "
              f"(its start-up {startup / 1e3:.1f} ms), ovlab-bench {ours / 1e3:.1f} ms, "
              f"ratio {ratio:.3f}, without dd's start-up {net:.3f}{flag}")


def fmt_us(us):
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.1f} ms"
    return f"{us:.1f} µs"


# (column title, name pattern with {t} for the target, inode count?). The btrfs target runs on
# the btrfs backing only: its row takes {b} = btrfs where the others read ext4.
HEADLINE = [
    ("copy-up 64 MiB ext4", "copy_up/{t}/ext4/bytes:67108864/dense", False),
    ("xfs-reflink", "copy_up/{t}/xfs-reflink/bytes:67108864/dense", False),
    ("tmpfs", "copy_up/{t}/tmpfs/bytes:67108864/dense", False),
    ("btrfs", "copy_up/{t}/btrfs/bytes:67108864/dense", False),
    ("copy-up 4 KiB", "copy_up/{t}/{b}/bytes:4096/dense", False),
    ("inodes image/ctr (slim)", "inode_usage/{t}/{b}/profile:slim", True),
    ("stat bottom d=128 warm", "lookup/{t}/{b}/depth:128/where:bottom/op:stat/warm", False),
    ("d=32 warm", "lookup/{t}/{b}/depth:32/where:bottom/op:stat/warm", False),
    ("d=128 cold", "lookup/{t}/{b}/depth:128/where:bottom/op:stat/cold", False),
    ("4K random write", "write_heavy/{t}/{b}/op:random4k/bytes:67108864", False),
    ("append (copy-up)", "write_heavy/{t}/{b}/op:append/files:128/depth:14", False),
    ("copy-up cold ext4", "copy_up/{t}/ext4/bytes:67108864/dense/cold", False),
    ("warm xfs-reflink", "copy_up/{t}/xfs-reflink/bytes:67108864/dense/warm", False),
    ("seq read O_DIRECT (1 MiB)", "write_heavy/{t}/{b}/op:seqread_direct/bytes:67108864", False),
    ("create+unlink", "write_heavy/{t}/{b}/op:create_unlink/files:1000", False),
]


def headline_cell(aggs, pattern, target, inodes):
    backing = "btrfs" if target == "btrfs" else "ext4"
    name = pattern.format(t=target, b=backing)
    if inodes:
        image, ctr = aggs.get(name, {}), aggs.get(name + "/container", {})
        if "median" not in image:
            return None
        tail = f"/{ctr['median']['inodes']:.0f}" if "median" in ctr else ""
        return f"{image['median']['inodes']:.0f}{tail}"
    agg = aggs.get(name)
    if not agg or "median" not in agg:
        return None
    return f"{fmt_us(per_op_us(agg['median']))} ({headline_cv(name, agg):.0f}%)"


def print_headline(aggs):
    print("| target | " + " | ".join(h[0] for h in HEADLINE) + " |")
    print("|---|" + "---|" * len(HEADLINE))
    for t in TARGETS:
        cells = [headline_cell(aggs, pattern, t, inodes) for _, pattern, inodes in HEADLINE]
        if any(cells):
            print(f"| {t} | " + " | ".join(c or "–" for c in cells) + " |")
    print("\nMedians per operation over the repetitions (CV in parentheses); inode counts are "
          "exact.\nBacking ext4 unless the column names another; the btrfs target's row is on "
          "btrfs.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--family", default="copy_up,lookup,inode_usage,write_heavy")
    ap.add_argument("--cv-limit", type=float, default=5.0)
    ap.add_argument("--dd-limit", type=float, default=15.0)
    ap.add_argument("--headline", action="store_true")
    args = ap.parse_args()
    with open(args.file) as f:
        doc = json.load(f)
    aggs = aggregates(doc)
    if args.headline:
        print_headline(aggs)
        return 0
    print_cv(aggs, set(args.family.split(",")), args.cv_limit)
    print_dd(aggs, args.dd_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
