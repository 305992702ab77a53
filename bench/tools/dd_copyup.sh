#!/bin/bash
# Independent copy-up measurement with standard tools, for the quality check in README.md:
# a kernel overlay on a fresh loop-mounted ext4 (the mkfs ovlab-bench uses), N lower files of
# SIZE random bytes, and the first one-byte write to each with dd conv=notrunc, timed from the
# shell after a sync. Prints each time and the median in microseconds.
# usage: sudo dd_copyup.sh [SIZE_MIB=64] [N=5] [ext4|xfs-reflink]
set -euo pipefail
size_mib=${1:-64} n=${2:-5} fs=${3:-ext4}
dir=$(mktemp -d /var/tmp/ovlab/dd-copyup-XXXXXX)
cleanup() {
  umount "$dir/merged" 2>/dev/null || true
  umount "$dir/mnt" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
truncate -s 8G "$dir/img"
case $fs in
  ext4) mkfs.ext4 -F -q "$dir/img" ;;
  xfs-reflink) mkfs.xfs -f -q -m reflink=1 -n ftype=1 "$dir/img" ;;
  *) echo "unknown filesystem $fs: use ext4 or xfs-reflink" >&2; exit 2 ;;
esac
mkdir -p "$dir/mnt" "$dir/merged"
mount -o loop "$dir/img" "$dir/mnt"
mkdir -p "$dir/mnt/lower" "$dir/mnt/upper" "$dir/mnt/work"
for i in $(seq 1 "$n"); do
  head -c "$((size_mib << 20))" /dev/urandom > "$dir/mnt/lower/f$i"
done
mount -t overlay overlay -o "lowerdir=$dir/mnt/lower,upperdir=$dir/mnt/upper,workdir=$dir/mnt/work,index=off" "$dir/merged"
times=()
for i in $(seq 1 "$n"); do
  sync
  t0=$(date +%s%N)
  dd if=/dev/zero of="$dir/merged/f$i" bs=1 count=1 conv=notrunc status=none
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000 )))
done
echo "dd conv=notrunc first write, ${size_mib} MiB on $fs, us: ${times[*]}"
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print "median_us", a[int((NR+1)/2)]}'
