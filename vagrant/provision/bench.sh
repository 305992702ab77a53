#!/bin/sh
# Vagrant provisioner "bench" (run with --provision-with bench): one benchmark profile.
set -eu
mkdir -p "$OVLAB_RESULTS"
bench="$OVLAB_SRC/build/release/bench/ovlab-bench"
if [ ! -x "$bench" ]; then
  echo "ovlab: $bench was not built; run the build provisioner first" >&2
  exit 1
fi
"$bench" --profile "$OVLAB_BENCH_PROFILE" --out "$OVLAB_RESULTS/bench.json" 2>&1 | tee "$OVLAB_RESULTS/bench.log"
