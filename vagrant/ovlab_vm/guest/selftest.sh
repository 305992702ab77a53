#!/bin/sh
# The runner's own payload: a few overlay union checks on a tmpfs, written as a conformance
# matrix (conformance/README.md schema, target "kernel" only). It proves the VM pipeline (modules, mount,
# results channel) independently of the C++ suite. Runs under busybox sh and the host's sh.
# usage: selftest.sh --matrix-out FILE
# Honours GoogleTest's sharding variables as ovlab-conformance does (run-kernels --shard): case N
# (0-based, in the order below) runs when N % GTEST_TOTAL_SHARDS == GTEST_SHARD_INDEX. Each case
# uses files no other case changes, so any subset gives the verdicts the whole run gives.
# Exit: 0 all cases pass, 1 a case failed, 2 the overlay could not be mounted or bad usage.
set -u
if [ $# -ne 2 ] || [ "$1" != "--matrix-out" ]; then
  echo "usage: selftest.sh --matrix-out FILE" >&2
  exit 2
fi
matrix=$2
base=$(mktemp -d /tmp/ovlab-selftest.XXXXXX) || exit 2
mounted=""

cleanup() {
  for m in $mounted; do umount "$m" 2>/dev/null; done
  rm -rf "$base" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount -t tmpfs -o size=64m ovlab-selftest "$base" || exit 2
mounted="$base"
L=$base/lower U=$base/upper W=$base/work M=$base/merged
mkdir "$L" "$U" "$W" "$M" "$L/d" "$U/du" "$L/r" "$U/r"
echo lower >"$L/a"
echo keep >"$L/b"
echo read >"$L/c"
echo lower >"$L/u"
echo upper >"$U/u"
echo f >"$L/d/f"
echo x >"$L/r/x"
echo gone >"$L/r/gone"
echo y >"$U/r/y"

if ! mount -t overlay overlay -o "lowerdir=$L,upperdir=$U,workdir=$W" "$M"; then
  echo "selftest: mount -t overlay failed (is the overlay module loaded?)" >&2
  exit 2
fi
mounted="$M $mounted"
options="lowerdir,upperdir,workdir"

shards=${GTEST_TOTAL_SHARDS:-1}
shard=${GTEST_SHARD_INDEX:-0}
case "$shards:$shard" in
  *[!0-9:]* | 0:* | :* | *:)
    echo "selftest: GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$shard: need 0 <= index < total" >&2
    exit 2
    ;;
esac
if [ "$shard" -ge "$shards" ]; then
  echo "selftest: GTEST_SHARD_INDEX=$shard must be below GTEST_TOTAL_SHARDS=$shards" >&2
  exit 2
fi
number=-1
mine() {  # true when the next case belongs to this shard
  number=$((number + 1))
  [ $((number % shards)) -eq "$shard" ]
}

cases=""
failed=0
passes=0
fails=0
families=""
record() {  # record ID FAMILY CHECKLIST OK DETAIL
  if [ "$4" = 0 ]; then
    result='{"verdict": "pass", "reason": "", "options": "'"$options"'", "observed": [], "expected": []}'
    passes=$((passes + 1))
  else
    detail=$(printf '%s' "$5" | tr -d '"\\' | tr '\n' ' ')
    result='{"verdict": "fail", "reason": "'"$detail"'", "options": "'"$options"'", "observed": ["'"$detail"'"], "expected": []}'
    fails=$((fails + 1))
    failed=1
  fi
  echo "selftest: $1: $([ "$4" = 0 ] && echo pass || echo "fail ($5)")"
  families="$families $2"
  entry="{\"id\": \"Selftest.$1\", \"family\": \"$2\", \"checklist\": [\"$3\"], \"description\": \"$1\", \"results\": {\"kernel\": $result}}"
  cases="${cases:+$cases,
  }$entry"
}

if mine; then
  got=$(cat "$M/a")
  [ "$got" = lower ]
  record lower_visible lookup LK1 $? "merged/a reads '$got'"
fi

if mine; then
  got=$(cat "$M/u")
  [ "$got" = upper ]
  record upper_wins lookup LK1 $? "merged/u reads '$got'"
fi

if mine; then
  cat "$M/c" >/dev/null
  [ ! -e "$U/c" ]
  record read_no_copy_up copy_up CU1 $? "reading merged/c created upper/c"
fi

if mine; then
  echo more >>"$M/a"
  [ "$(cat "$U/a" 2>/dev/null)" = "lower
more" ] && [ "$(cat "$L/a")" = lower ]
  record append_copies_up copy_up CU1 $? "upper/a='$(cat "$U/a" 2>/dev/null)' lower/a='$(cat "$L/a")'"
fi

if mine; then
  rm "$M/b"
  [ ! -e "$M/b" ] && [ -c "$U/b" ] && [ "$(stat -c '%t:%T' "$U/b")" = 0:0 ]
  record unlink_makes_whiteout whiteout WO1 $? "merged/b exists=$([ -e "$M/b" ] && echo y || echo n), upper/b is $(stat -c '%F %t:%T' "$U/b" 2>&1)"
fi

if mine; then
  rm "$M/r/gone"
  listing=$(ls -A "$M/r" | tr '\n' ' ')
  [ "$listing" = "x y " ]
  record merged_listing readdir RD1 $? "ls merged/r = '$listing'"
fi

if mine; then
  rm -r "$M/d" && mkdir "$M/d"
  [ -z "$(ls -A "$M/d")" ] && [ -e "$L/d/f" ]
  record rmdir_mkdir_is_opaque opaque OP1 $? "merged/d holds '$(ls -A "$M/d" | tr '\n' ' ')'"
fi

release=$(uname -r)
version=$(uname -v)
family_counts=$(for f in $families; do echo "$f"; done | sort | uniq -c |
  awk '{ printf "%s\"%s\": %d", sep, $2, $1; sep = ", " }')
tmp="$matrix.tmp"
cat >"$tmp" <<JSON
{"schema": "ovlab.conformance.matrix/1", "generator": "vagrant/ovlab_vm/guest/selftest.sh",
 "generated_utc": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "ovlab_version": "selftest",
 "kernel": {"release": "$release", "version": "$version", "machine": "$(uname -m)"},
 "backing": "tmpfs",
 "targets": [{"name": "kernel", "role": "oracle", "version": "$release", "options": "$options", "available": true, "skip_reason": ""}],
 "summary": {"cases": $((passes + fails)), "families": {$family_counts},
             "by_target": {"kernel": {"pass": $passes, "fail": $fails, "skip": 0, "known-deviation": 0}}},
 "cases": [
  $cases
 ]}
JSON
mv "$tmp" "$matrix"
exit $failed
