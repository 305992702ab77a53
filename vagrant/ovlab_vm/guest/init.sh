#!/bin/busybox sh
# /init of the runner's initramfs: mount the basics, load the kernel modules the payload needs,
# run the payload, send /results back over the second serial port, power off.
# The runner reads: results archive between the OVLAB-RESULTS markers on ttyS1 (gzip'd tar,
# base64), and the console (ttyS0) for panics and progress.
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

# Base64 survives the tty's newline translation; the runner strips \r and checks the length.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
tar -C /results -czf /tmp/results.tgz .
{
  echo "OVLAB-RESULTS-BEGIN $(wc -c </tmp/results.tgz)"
  base64 </tmp/results.tgz
  echo "OVLAB-RESULTS-END"
} >/dev/ttyS1
sync
echo "ovlab: guest done, exit $(cat /results/exit.txt)"
reboot -f
