#!/bin/busybox sh
# /init of the runner's initramfs: mount the basics, load the kernel modules the payload needs,
# run the payload, send /results back over the second serial port, power off.
# The runner reads the results archive (gzip'd tar) from the virtio disk or ttyS1, and the
# console (ttyS0) for panics and progress.
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

if grep -qw overlay /proc/filesystems; then
  sh /ovlab/run-payload.sh /etc/ovlab/steps.sh /results /ovlab/bin
  echo $? >/results/exit.txt
else
  echo "ovlab: overlay filesystem unavailable after loading modules"
  echo 125 >/results/exit.txt
fi
dmesg >/results/dmesg.txt

# Results go back on the virtio disk the runner attached (raw: a header line, then the tar.gz),
# else base64 on the second serial port (slow: about 40 KB/s under emulation). Either way the
# header names the archive's length, so the runner can tell a complete copy from a cut one.
tar -C /results -czf /tmp/results.tgz .
size=$(wc -c </tmp/results.tgz)
disk=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -b /dev/vda ] && disk=/dev/vda && break
  sleep 0.2
done
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
