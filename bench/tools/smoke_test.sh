#!/bin/sh
# ctest smoke test: a few quick-profile instances, one repetition, JSON checked against the
# contract. usage: smoke_test.sh OVLAB_BENCH CHECK_JSON_PY WORKDIR
set -eu
bench=$1 check=$2 work=$3
mkdir -p "$work"
out="$work/bench-smoke.json"
rm -f "$out"
filter='^(copy_up/(overlay2|engine)/ext4/bytes:4096/dense/|copy_up/btrfs/btrfs/bytes:4096/dense/|bound/(copy|dd)/ext4/|inode_usage/btrfs/btrfs/profile:mini/|inode_usage/overlay2/ext4/profile:mini/|lookup/(overlay2|engine|fuse-overlayfs)/ext4/depth:1/where:bottom/op:stat/warm|readdir/(overlay|engine)/ext4/layers:1/|readdir/fuse/ext4/layers:4/entries:200/|mount/overlay2/ext4/layers:1/|write_heavy/vfs/ext4/op:fsync|copy_up/overlay2/ext4/bytes:1048576/dense/cold|copy_up/(engine|fuse)/ext4/bytes:4096/strategy:(read_write|copy_file_range)/|write_heavy/(engine|fuse)/ext4/op:(seq|create_unlink))'
# --fuse-options reaches ovlab-fuse (a bad option would fail the fuse rows) and the context.
"$bench" --profile quick --benchmark_filter="$filter" --benchmark_repetitions=1 --out "$out" \
  --fuse-options ovlab_entry_timeout=2
/usr/bin/python3 "$check" "$out" --min-rows 10 \
  --expect '^copy_up/overlay2/ext4/bytes:4096/dense' --expect '^bound/copy/ext4' \
  --expect '^inode_usage/overlay2/ext4/profile:mini' --expect '^lookup/overlay2/ext4/depth:1' \
  --expect '^readdir/engine/ext4' --expect '^mount/overlay2/ext4/layers:1' \
  --expect '^write_heavy/vfs/ext4/op:fsync' --expect '^copy_up/btrfs/btrfs/bytes:4096/dense' \
  --expect '^bound/dd/ext4/bytes:1048576/dense/on:overlay2' \
  --expect '^inode_usage/btrfs/btrfs/profile:mini' --expect-context skipped.target.devicemapper \
  --expect '^copy_up/engine/ext4/bytes:4096/dense/warm' \
  --expect '^copy_up/overlay2/ext4/bytes:1048576/dense/cold' \
  --expect '^copy_up/fuse/ext4/bytes:4096/strategy:read_write/dense' \
  --expect '^copy_up/engine/ext4/bytes:4096/strategy:copy_file_range/dense' \
  --expect '^write_heavy/engine/ext4/op:seqread_direct/bytes:' \
  --expect '^write_heavy/fuse/ext4/op:seqwrite/bytes:' \
  --expect '^write_heavy/fuse/ext4/op:create_unlink/files:' \
  --expect '^readdir/fuse/ext4/layers:4/entries:200/cold' \
  --expect-counter '^lookup/engine/.*/warm=cpu_us' \
  --expect-context-value 'target.fuse=options: ovlab_entry_timeout=2'
# The target table is in the context for the reports, every row with its traits.
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["context"]["ovlab_targets"]
names = [r["name"] for r in rows]
assert "overlay2" in names and "fuse" in names, names
assert all({"bringup", "role", "inode_model", "durable_copy_up", "skipped"} <= set(r) for r in rows)
PY
# An instance that errors makes the run exit 1, saying so (here: the fuse target's daemon fails).
if OVLAB_FUSE=/bin/false "$bench" --profile quick --targets fuse --backing ext4 \
    --benchmark_filter='^copy_up/fuse/ext4/bytes:4096/dense/' --benchmark_repetitions=1 \
    >"$work/errored.out" 2>"$work/errored.err"; then
  echo "ovlab-bench exited 0 although an instance errored"; exit 1
fi
grep -q 'instances errored' "$work/errored.err" || { cat "$work/errored.err"; exit 1; }
# Nothing of the run may stay mounted.
if grep -q ' /var/tmp/ovlab' /proc/self/mountinfo; then
  echo "mounts left under /var/tmp/ovlab:"; grep ' /var/tmp/ovlab' /proc/self/mountinfo; exit 1
fi
