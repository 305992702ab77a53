#!/bin/sh
# Runs one part of a benchmark profile, for a run split into shards (run-kernels --shard).
# The unit is a stack: the instances of one TARGET on one BACKING (names FAMILY/TARGET/BACKING/…,
# bench/README.md; a bound/dd/BACKING/…/on:TARGET instance belongs to TARGET's stack, since it
# must run right after that target's copy-up on the same mount; bound/copy/BACKING is the stack
# "copy"). Stacks are numbered in the order `ovlab-bench --benchmark_list_tests` first lists them
# (FILTER applied) and part P of PARTS (0-based) runs stacks P, P+PARTS, P+2*PARTS, …, each in
# the profile's order. So the PARTS runs of one profile on one kernel run every instance once.
#
# Without FILTER the part's instances are selected by stack (^[^/]+/T/B/ and ^bound/dd/B/…on:T/);
# with FILTER by their exact names, since a filter cannot say "FILTER and these stacks". Names
# are long (the full profile's 5994 make 154 KB, more than one argument may hold: 128 KiB), so
# when they do not fit $OVLAB_BENCH_FILTER_MAX bytes (default 100000) the part runs as several
# ovlab-bench runs writing OUT-less-.json.1.json, .2.json, …, which the runner joins into OUT.
# The full listing is kept beside OUT (bench-list.txt for bench.json): the merge (run-kernels
# --merge) and the join put rows back into the listed order.
# usage: bench-part.sh PART PARTS OUT PROFILE [FILTER]   (ovlab-bench is $OVLAB_BIN/ovlab-bench)
# Exit: the first failing ovlab-bench's status; 0 without running anything for an empty part.
set -u
if [ $# -lt 4 ] || [ $# -gt 5 ]; then
  echo "usage: bench-part.sh PART PARTS OUT PROFILE [FILTER]" >&2
  exit 2
fi
part=$1 parts=$2 out=$3 profile=$4 filter=${5:-}
bench=${OVLAB_BIN:?OVLAB_BIN must name the directory of ovlab-bench}/ovlab-bench
max=${OVLAB_BENCH_FILTER_MAX:-100000}
listing=${out%.json}-list.txt
tmp=$(mktemp -d /tmp/ovlab-bench-part.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ -n "$filter" ]; then
  "$bench" --profile "$profile" --benchmark_list_tests=true "--benchmark_filter=$filter" >"$tmp/list" || exit $?
else
  "$bench" --profile "$profile" --benchmark_list_tests=true >"$tmp/list" || exit $?
fi
awk 'NF' "$tmp/list" >"$listing"

# Each listed instance as `STACK-NUMBER TARGET/BACKING NAME`, stacks numbered from 0 as first listed.
awk -F/ '{
    t = $2
    if ($1 == "bound" && $2 == "dd") for (i = 4; i <= NF; i++) if ($i ~ /^on:/) t = substr($i, 4)
    key = t "/" $3
    if (!(key in number)) number[key] = stacks++
    print number[key], key, $0
  }' "$listing" >"$tmp/stacks"
awk -v p="$part" -v n="$parts" '$1 % n == p' "$tmp/stacks" >"$tmp/mine"
total=$(awk '{ print $1 }' "$tmp/stacks" | sort -u | wc -l)
mine=$(awk '!seen[$2]++ { printf "%s ", $2 }' "$tmp/mine")
if [ ! -s "$tmp/mine" ]; then
  echo "bench-part: part $((part + 1))/$parts of $total stacks is empty: nothing to run"
  exit 0
fi
echo "bench-part: part $((part + 1))/$parts: stacks ${mine}(of $total), $(wc -l <"$tmp/mine") instances"

escape() { sed 's/[][\.*^$+?(){}|]/\\&/g'; }
if [ -z "$filter" ]; then
  regex=$(awk '!seen[$2]++ { print $2 }' "$tmp/mine" | escape | awk -F/ '{
      printf "%s^[^/]+/%s/%s/|^bound/dd/%s/(.*/)?on:%s/", (NR > 1 ? "|" : ""), $1, $2, $2, $1
    }')
  exec "$bench" --profile "$profile" --out "$out" "--benchmark_filter=$regex"
fi

# Exact names, in chunks of at most $max bytes of filter each.
awk '{ print $3 }' "$tmp/mine" | escape | awk -v max="$max" -v dir="$tmp" '{
    if (size > 0 && size + length($0) + 5 > max) { chunk++; size = 0 }
    if (size == 0) { chunks = chunk + 1 }
    file = dir "/chunk." (chunk + 1)
    printf "%s%s", (size > 0 ? "|" : "^("), $0 >file
    size += length($0) + 1
  } END { for (c = 1; c <= chunks; c++) printf ")$" >(dir "/chunk." c) }'
count=$(ls "$tmp"/chunk.* | wc -l)
status=0
c=1
while [ "$c" -le "$count" ]; do
  target=$out
  [ "$count" -gt 1 ] && target=${out%.json}.$c.json && echo "bench-part: run $c of $count (filter too long for one)"
  "$bench" --profile "$profile" --out "$target" "--benchmark_filter=$(cat "$tmp/chunk.$c")"
  rc=$?
  [ "$rc" -ne 0 ] && [ "$status" -eq 0 ] && status=$rc
  c=$((c + 1))
done
exit "$status"
