#!/bin/sh
# Vagrant provisioner "test": ctest and the conformance matrix on this box's own kernel.
# Failures are recorded in the results, and the provisioner's exit status is ctest's.
set -u
mkdir -p "$OVLAB_RESULTS"
cd "$OVLAB_SRC" || exit 1
status=0
ctest --preset release --output-on-failure >"$OVLAB_RESULTS/ctest.log" 2>&1 || status=$?
tail -n 20 "$OVLAB_RESULTS/ctest.log"
conformance=build/release/conformance/ovlab-conformance
if [ -x "$conformance" ]; then
  "$conformance" --target=kernel,engine,fuse,fuse-overlayfs,unionfs-fuse \
    --matrix-out="$OVLAB_RESULTS/matrix.json" >"$OVLAB_RESULTS/conformance.log" 2>&1
  echo "ovlab: conformance exited $? (matrix in $OVLAB_RESULTS/matrix.json)"
else
  echo "ovlab: $conformance was not built; no conformance matrix" | tee "$OVLAB_RESULTS/conformance.log"
  status=1
fi
exit "$status"
