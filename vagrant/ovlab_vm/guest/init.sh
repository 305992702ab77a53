#!/bin/busybox sh
# /init of the runner's initramfs: mount the basics, load the kernel modules the payload needs,
# set up the scratch disk, run the payload, write /results back, power off.
# The runner reads the results archive (gzip'd tar) from the virtio results disk or ttyS1, and the
# console (ttyS0) for panics and progress.
# Disks are virtio-blk, told apart by their serial (/sys/block/vdX/serial), set by the runner:
#   ovlab-results  the results archive (raw: a header line, then the tar.gz)
#   $OVLAB_DISK_SERIAL (ovlab-scratch), when the runner attached one, by $OVLAB_DISK_ROLE:
#     scratch  ext4, mounted on /var/tmp/ovlab, where the payload's scratch images go
#              (OVLAB_SCRATCH_DIR=/var/tmp/ovlab)
#     raw      left as it is; OVLAB_DISK=/dev/vdX names it for the payload (a pool, a thin pool)
# What became of it is /results/disk.txt: `role=… device=… [fs=… mount=…] [error=…]`.
/bin/busybox --install -s /bin
export PATH=/ovlab/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp
umask 022
. /etc/ovlab/env.sh

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp /var/tmp /results /root
mount -t devpts devpts /dev/pts
for d in /tmp /var/tmp /run /dev/shm /results; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
chmod 755 /results

echo "ovlab: guest kernel $(uname -r)"
uname -r >/results/uname.txt

# Modules, dependencies first (order computed by the runner). A failure is recorded, not fatal:
# the payload reports what it cannot test, and /results/modules.txt says why.
: >/results/modules.txt
while read -r name path; do
  if out=$(insmod "/lib/modules/$(uname -r)/$path" 2>&1); then
    echo "$name loaded" >>/results/modules.txt
  else
    echo "$name failed $out" >>/results/modules.txt
    echo "ovlab: insmod $name failed: $out"
  fi
done </etc/ovlab/modules.order
cp /proc/filesystems /results/filesystems.txt

disk_by_serial() {  # disk_by_serial SERIAL: the /dev/vdX whose virtio serial is SERIAL
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    for d in /sys/block/vd*; do
      if [ -r "$d/serial" ] && [ "$(cat "$d/serial")" = "$1" ] && [ -b "/dev/${d##*/}" ]; then
        echo "/dev/${d##*/}"
        return 0
      fi
    done
    sleep 0.2
  done
  return 1
}

: >/results/disk.txt
if [ -n "${OVLAB_DISK_SERIAL:-}" ]; then
  role=${OVLAB_DISK_ROLE:-scratch}
  if ! dev=$(disk_by_serial "$OVLAB_DISK_SERIAL"); then
    echo "role=$role error=no virtio disk with serial $OVLAB_DISK_SERIAL (is virtio_blk loaded?)" >/results/disk.txt
  elif [ "$role" = raw ]; then
    export OVLAB_DISK="$dev"
    echo "role=raw device=$dev" >/results/disk.txt
  else
    mkdir -p /var/tmp/ovlab
    # Lazy inode tables and journal (the sparse image reads as zeros), and no lazy-init thread
    # writing them behind the payload's back (noinit_itable).
    if out=$(mkfs.ext4 -F -q -m 0 -L ovlab-scratch -E lazy_itable_init=1,lazy_journal_init=1,nodiscard "$dev" 2>&1) &&
      out=$(mount -t ext4 -o noinit_itable "$dev" /var/tmp/ovlab 2>&1); then
      export OVLAB_SCRATCH_DIR=/var/tmp/ovlab
      echo "role=scratch device=$dev fs=ext4 mount=/var/tmp/ovlab" >/results/disk.txt
    else
      echo "role=scratch device=$dev error=$(echo "$out" | tr '\n' ' ')" >/results/disk.txt
    fi
  fi
  echo "ovlab: disk: $(cat /results/disk.txt)"
fi

if grep -qw overlay /proc/filesystems; then
  sh /ovlab/run-payload.sh /etc/ovlab/steps.sh /results /ovlab/bin
  echo $? >/results/exit.txt
else
  echo "ovlab: overlay filesystem unavailable after loading modules"
  echo 125 >/results/exit.txt
fi
dmesg >/results/dmesg.txt
grep -q ' /var/tmp/ovlab ' /proc/mounts && umount /var/tmp/ovlab

# Results go back on the virtio disk the runner attached (raw: a header line, then the tar.gz),
# else base64 on the second serial port (slow: about 40 KB/s under emulation). Either way the
# header names the archive's length, so the runner can tell a complete copy from a cut one.
tar -C /results -czf /tmp/results.tgz .
size=$(wc -c </tmp/results.tgz)
disk=$(disk_by_serial ovlab-results) || { [ -b /dev/vda ] && [ -z "${OVLAB_DISK_SERIAL:-}" ] && disk=/dev/vda; }
if [ -n "$disk" ] && [ "$(blockdev --getsize64 "$disk")" -gt "$((size + 4096))" ]; then
  { echo "OVLAB-RESULTS-BEGIN $size"; cat /tmp/results.tgz; } >"$disk"
  blockdev --flushbufs "$disk"
  echo "ovlab: results ($size bytes) written to $disk"
else
  stty -F /dev/ttyS1 raw -echo 2>/dev/null
  {
    echo "OVLAB-RESULTS-BEGIN $size"
    base64 </tmp/results.tgz
    echo "OVLAB-RESULTS-END"
  } >/dev/ttyS1
  echo "ovlab: results ($size bytes) sent on ttyS1"
fi
sync
echo "ovlab: guest done, exit $(cat /results/exit.txt)"
reboot -f
