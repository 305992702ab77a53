#!/bin/sh
# Vagrant provisioner "collect" (always last): kernel facts and dmesg beside the results.
set -u
mkdir -p "$OVLAB_RESULTS"
uname -a >"$OVLAB_RESULTS/uname.txt"
cp /etc/os-release "$OVLAB_RESULTS/os-release.txt"
dmesg >"$OVLAB_RESULTS/dmesg.txt" 2>&1
grep -E 'overlay|fuse|xfs|btrfs|ext4' /proc/filesystems >"$OVLAB_RESULTS/filesystems.txt"
ls /sys/module/overlay/parameters >/dev/null 2>&1 &&
  for p in /sys/module/overlay/parameters/*; do echo "$(basename "$p")=$(cat "$p")"; done >"$OVLAB_RESULTS/overlay-parameters.txt"
chmod -R a+rX "$OVLAB_RESULTS"
echo "ovlab: results in $OVLAB_RESULTS: $(ls "$OVLAB_RESULTS" | tr '\n' ' ')"
