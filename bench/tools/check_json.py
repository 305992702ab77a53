#!/usr/bin/python3
"""Checks an ovlab-bench JSON file against the contract in bench/README.md.

usage: check_json.py FILE.json [--expect REGEX ...] [--expect-context KEY ...] [--min-rows N]
                     [--expect-counter REGEX=COUNTER ...] [--expect-context-value KEY=TEXT ...]

Fails (exit 1, one line per problem) when a name does not follow FAMILY/TARGET/BACKING/...
(a copy_up strategy:NAME must name an io::CopyStrategy other than auto), a family's or an
operation's counters are missing, an ovlab context key is missing, a run reported an error,
an inode count differs from its analytic expectation (vfs, overlay, overlay2, btrfs), an --expect
pattern matches no row, an --expect-context key is missing, a row an --expect-counter pattern
matches lacks that counter, or a context value does not contain an --expect-context-value text.
"""
import argparse
import json
import re
import sys

FAMILIES = {"copy_up", "inode_usage", "lookup", "readdir", "write_heavy", "mount", "bound"}
TARGETS = {"overlay2", "overlay", "vfs", "fuse", "engine", "fuse-overlayfs", "unionfs-fuse",
           "btrfs", "devicemapper", "copy", "dd"}
BACKINGS = {"ext4", "xfs", "xfs-reflink", "btrfs", "tmpfs"}
COUNTERS = {
    "copy_up": {"bytes_copied", "bytes"},
    "inode_usage": {"inodes", "inodes_expected", "bytes_used", "bytes_expected"},
    "lookup": {"ops"},
    "readdir": {"ops"},
    "write_heavy": {"ops"},
    "bound": {"bytes_per_second"},
}
# Counters of write_heavy operations beyond the family's: sequential I/O moves `bytes`.
OP_COUNTERS = {
    "seqwrite": {"bytes", "bytes_per_second"},
    "seqread": {"bytes", "bytes_per_second"},
    "seqread_direct": {"bytes", "bytes_per_second"},
}
# copy_up strategy:NAME (engine/io/copy.h; auto is the rows without the key).
STRATEGIES = {"clone", "copy_file_range", "io_uring", "io_uring_splice", "read_write"}
CONTEXT = {"ovlab_version", "kernel", "distribution", "cpu", "profile", "emulated"}
GB_SUFFIX = re.compile(r"(/iterations:\d+|/repeats:\d+|/manual_time|/real_time|"
                       r"_(mean|median|stddev|cv))+$")
PART = re.compile(r"^([a-z_]+:[A-Za-z0-9_.-]+|[a-z0-9_-]+)$")


def check_name(name):
    base = GB_SUFFIX.sub("", name)
    parts = base.split("/")
    if len(parts) < 3:
        return f"{name}: want FAMILY/TARGET/BACKING/..."
    family, target, backing = parts[:3]
    if family not in FAMILIES:
        return f"{name}: unknown family {family}"
    if target not in TARGETS:
        return f"{name}: unknown target {target}"
    if backing not in BACKINGS:
        return f"{name}: unknown backing {backing}"
    for p in parts[3:]:
        if not PART.match(p):
            return f"{name}: parameter '{p}' is neither key:value nor a flag"
        key, _, value = p.partition(":")
        if key == "strategy" and (family != "copy_up" or value not in STRATEGIES):
            return f"{name}: strategy:{value} (copy_up only, one of {', '.join(sorted(STRATEGIES))})"
    return None


def op_of(base):
    for p in base.split("/")[3:]:
        if p.startswith("op:"):
            return p[3:]
    return None


def problems(doc, expect, min_rows, expect_context=(), expect_counter=(),
             expect_context_value=()):
    out = []
    ctx = doc.get("context", {})
    for key in CONTEXT | set(expect_context):
        if not ctx.get(key):
            out.append(f"context: {key} missing")
    rows = doc.get("benchmarks", [])
    if len(rows) < min_rows:
        out.append(f"only {len(rows)} rows, want at least {min_rows}")
    targets_seen, backings_seen = set(), set()
    for r in rows:
        name = r.get("name", "")
        if (why := check_name(name)):
            out.append(why)
            continue
        if r.get("error_occurred"):
            out.append(f"{name}: error: {r.get('error_message')}")
            continue
        family, target, backing = GB_SUFFIX.sub("", name).split("/")[:3]
        targets_seen.add(target)
        backings_seen.add(backing)
        if r.get("run_type") == "aggregate" and r.get("aggregate_name") == "cv":
            continue  # cv rows hold ratios, not counters
        wanted = COUNTERS.get(family, set()) if target != "dd" else {"bytes"}
        if family == "write_heavy":
            wanted = wanted | OP_COUNTERS.get(op_of(GB_SUFFIX.sub("", name)), set())
        for pattern, counter in expect_counter:
            if re.search(pattern, name):
                wanted = wanted | {counter}
        missing = wanted - set(r)
        if missing:
            out.append(f"{name}: counters missing: {', '.join(sorted(missing))}")
        if family == "inode_usage" and target in {"overlay2", "overlay", "vfs", "btrfs"}:
            if r.get("inodes") != r.get("inodes_expected"):
                out.append(f"{name}: {r.get('inodes')} inodes, expected {r.get('inodes_expected')}")
        if "real_time" not in r or "time_unit" not in r:
            out.append(f"{name}: no real_time/time_unit")
    for t in targets_seen - {"copy", "dd"}:
        if not ctx.get(f"target.{t}"):
            out.append(f"context: target.{t} missing")
    for b in backings_seen:
        if not ctx.get(f"backing.{b}"):
            out.append(f"context: backing.{b} missing")
    for pattern in expect:
        if not any(re.search(pattern, r.get("name", "")) for r in rows):
            out.append(f"no row matches --expect {pattern}")
    for pattern, _ in expect_counter:
        if not any(re.search(pattern, r.get("name", "")) for r in rows):
            out.append(f"no row matches --expect-counter {pattern}")
    for key, text in expect_context_value:
        if text not in str(ctx.get(key, "")):
            out.append(f"context: {key} does not contain '{text}' ({ctx.get(key)!r})")
    return out


def pair(arg, last):
    """'LEFT=RIGHT' -> (LEFT, RIGHT), split at the last '=' (REGEX=COUNTER) or the first
    (KEY=TEXT)."""
    left, eq, right = arg.rpartition("=") if last else arg.partition("=")
    if not eq or not left or not right:
        raise argparse.ArgumentTypeError(f"want LEFT=RIGHT, got '{arg}'")
    return left, right


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--expect-context", action="append", default=[])
    ap.add_argument("--min-rows", type=int, default=1)
    ap.add_argument("--expect-counter", action="append", default=[],
                    type=lambda a: pair(a, last=True))
    ap.add_argument("--expect-context-value", action="append", default=[],
                    type=lambda a: pair(a, last=False))
    args = ap.parse_args()
    try:
        with open(args.file) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{args.file}: cannot read the benchmark JSON: {e}")
        return 1
    found = problems(doc, args.expect, args.min_rows, args.expect_context, args.expect_counter,
                     args.expect_context_value)
    for p in found:
        print(p)
    print(f"{args.file}: {len(doc.get('benchmarks', []))} rows, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
