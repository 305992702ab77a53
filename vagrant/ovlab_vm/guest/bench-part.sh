#!/bin/sh
# Runs one part of a benchmark profile, for a run split into shards (run-kernels --shard).
# The unit is a stack: the instances of one TARGET on one BACKING (names FAMILY/TARGET/BACKING/…,
# bench/README.md; a bound/dd/BACKING/…/on:TARGET instance belongs to TARGET's stack, since it
# must run right after that target's copy-up on the same mount; bound/copy/BACKING is the stack
# "copy"). Stacks are numbered in the order `ovlab-bench --benchmark_list_tests` first lists them
# (FILTER applied) and part P of PARTS (0-based) runs stacks P, P+PARTS, P+2*PARTS, …, each in
# the profile's order. So the PARTS runs of one profile on one kernel run every instance once.
# The full listing is kept beside OUT (bench-list.txt for bench.json): the merge (run-kernels
# --merge) puts the parts' rows back into the listed order.
# usage: bench-part.sh PART PARTS OUT PROFILE [FILTER]   (ovlab-bench is $OVLAB_BIN/ovlab-bench)
# Exit: ovlab-bench's status; 0 without running anything when the part has no stack.
set -u
if [ $# -lt 4 ] || [ $# -gt 5 ]; then
  echo "usage: bench-part.sh PART PARTS OUT PROFILE [FILTER]" >&2
  exit 2
fi
part=$1 parts=$2 out=$3 profile=$4 filter=${5:-}
bench=${OVLAB_BIN:?OVLAB_BIN must name the directory of ovlab-bench}/ovlab-bench
listing=${out%.json}-list.txt
tmp=$(mktemp /tmp/ovlab-bench-list.XXXXXX) || exit 2
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ -n "$filter" ]; then
  "$bench" --profile "$profile" --benchmark_list_tests=true "--benchmark_filter=$filter" >"$tmp" || exit $?
else
  "$bench" --profile "$profile" --benchmark_list_tests=true >"$tmp" || exit $?
fi
awk 'NF' "$tmp" >"$listing"

# TARGET/BACKING of the stack each instance runs on, one line per stack, in first-listed order.
stacks=$(awk -F/ '{
    t = $2
    if ($1 == "bound" && $2 == "dd") for (i = 4; i <= NF; i++) if ($i ~ /^on:/) t = substr($i, 4)
    print t "/" $3
  }' "$listing" | awk '!seen[$0]++')
mine=$(printf '%s\n' "$stacks" | awk -v p="$part" -v n="$parts" 'NF && (NR - 1) % n == p')
total=$(printf '%s\n' "$stacks" | awk 'NF' | wc -l)
if [ -z "$mine" ]; then
  echo "bench-part: part $((part + 1))/$parts of $total stacks is empty: nothing to run"
  exit 0
fi
# Per stack T/B: ^[^/]+/T/B/ and ^bound/dd/B/(.*/)?on:T/ (ERE metacharacters escaped).
regex=$(printf '%s\n' "$mine" | sed 's/[][\.*^$+?(){}|]/\\&/g' | awk -F/ '{
    printf "%s^[^/]+/%s/%s/|^bound/dd/%s/(.*/)?on:%s/", (NR > 1 ? "|" : ""), $1, $2, $2, $1
  }')
echo "bench-part: part $((part + 1))/$parts: stacks $(printf '%s' "$mine" | tr '\n' ' ')(of $total)"
exec "$bench" --profile "$profile" --out "$out" "--benchmark_filter=$regex"
