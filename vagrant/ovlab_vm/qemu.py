"""Booting a kernel + initramfs under QEMU and reading the results it sends back."""

import base64
import fcntl
import io
import os
import shutil
import subprocess
import tarfile

from . import bounded
from .errors import RunnerError

QEMU = "qemu-system-x86_64"
KVM_GET_API_VERSION = 0xAE00
BEGIN, END = "OVLAB-RESULTS-BEGIN", "OVLAB-RESULTS-END"
PANIC_MARKERS = ("Kernel panic", "end Kernel panic")
# virtio serial numbers by which the guest's /init tells its disks apart (/sys/block/vd*/serial).
RESULTS_SERIAL, SCRATCH_SERIAL = "ovlab-results", "ovlab-scratch"


def kvm_usable(dev="/dev/kvm", probe_seconds=2.0):
    """True when KVM really runs a guest. Nested setups often have a /dev/kvm that opens and even
    creates a VM while QEMU then aborts setting up the vCPU, so the last word is a QEMU probe:
    a firmware-only guest that must still be running after probe_seconds."""
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != 12:
            return False
    except OSError:
        return False
    finally:
        os.close(fd)
    probe = [QEMU, "-accel", "kvm", "-cpu", "host", "-nodefaults", "-display", "none", "-m", "64"]
    proc = subprocess.Popen(probe, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=probe_seconds)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def check_qemu():
    if not shutil.which(QEMU):
        raise RunnerError(f"{QEMU} not found: apt-get install qemu-system-x86")


def make_results_disk(path, size_mb):
    """A sparse raw image the guest writes its results archive to."""
    with open(path, "wb") as f:
        f.truncate(size_mb << 20)


def make_scratch_disk(path, size_bytes):
    """A sparse raw image for the guest's scratch filesystem (or raw use): costs what is written."""
    try:
        with open(path, "wb") as f:
            f.truncate(size_bytes)
    except OSError as e:
        raise RunnerError(f"cannot make the {size_bytes >> 20} MiB scratch disk {path}: {e.strerror}; "
                          "pass a smaller --disk-size, --disk-size 0, or --cache-dir elsewhere") from None


def direct_io_cache_mode(path):
    """("none", "") when the file system holding `path` takes O_DIRECT, which QEMU's cache=none
    needs; else ("writethrough", why): the guest's writes then also go through the host's page
    cache, and what a benchmark measures there is partly the host's memory."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_DIRECT)
    except OSError as e:
        where = os.path.dirname(os.path.abspath(path))
        return "writethrough", (f"the host file system of {where} refuses O_DIRECT ({e.strerror}): "
                                "cache=writethrough instead of cache=none (--cache-dir elsewhere for cache=none)")
    os.close(fd)
    return "none", ""


def drive_args(path, node, serial, cache):
    """A virtio-blk disk with a serial the guest finds it by."""
    return ["-drive", f"file={path},format=raw,if=none,id={node},cache={cache}",
            "-device", f"virtio-blk-pci,drive={node},serial={serial}"]


def command(kernel, initrd, console_log, data_log, accel, memory_mb, smp, results_disk=None, scratch_disk=None,
            scratch_cache="none"):
    append = "console=ttyS0 panic=-1 oops=panic loglevel=4 rdinit=/init"
    cmd = [QEMU, "-nodefaults", "-display", "none", "-no-reboot", "-m", str(memory_mb), "-smp", str(smp)]
    cmd += ["-accel", "kvm", "-cpu", "host"] if accel == "kvm" else ["-accel", "tcg", "-cpu", "max"]
    cmd += ["-kernel", kernel, "-initrd", initrd, "-append", append]
    cmd += ["-serial", f"file:{console_log}", "-serial", f"file:{data_log}"]
    if results_disk:
        cmd += drive_args(results_disk, "results", RESULTS_SERIAL, "writethrough")
    if scratch_disk:
        cmd += drive_args(scratch_disk, "scratch", SCRATCH_SERIAL, scratch_cache)
    return cmd


def read_disk_results(path):
    """The archive the guest wrote to the results disk, or None when it wrote nothing there."""
    with open(path, "rb") as f:
        head = f.read(64)
        if not head.startswith(BEGIN.encode()):
            return None
        header, _, _ = head.partition(b"\n")
        size = int(header.split()[1])
        f.seek(len(header) + 1)
        blob = f.read(size)
    if len(blob) != size:
        raise RunnerError(f"the guest's results disk holds {len(blob)} of {size} bytes")
    return blob


def decode_results(data_text):
    """The tar.gz the guest sent on the serial port; raises RunnerError when cut short."""
    if BEGIN not in data_text:
        raise RunnerError("the guest sent no results (it died before the payload finished)")
    after = data_text.split(BEGIN, 1)[1]
    header, _, body = after.partition("\n")
    if END not in body:
        raise RunnerError("the guest's results were cut off (timeout or crash while sending)")
    payload = "".join(body.split(END, 1)[0].split())
    try:
        blob = base64.b64decode(payload, validate=True)
    except ValueError as e:
        raise RunnerError(f"the guest's results are corrupt ({e})") from None
    if header.strip() and int(header.strip()) != len(blob):
        raise RunnerError(f"the guest's results are {len(blob)} bytes, it announced {header.strip()}")
    return blob


def extract_results(blob, dest):
    """Unpacks the results archive into dest, refusing paths that leave it."""
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar.getmembers():
            target = os.path.realpath(os.path.join(dest, member.name))
            if not (target == os.path.realpath(dest) or target.startswith(os.path.realpath(dest) + os.sep)):
                raise RunnerError(f"the guest's results hold a path outside the output: {member.name}")
            if not (member.isfile() or member.isdir()):
                raise RunnerError(f"the guest's results hold a non-regular file: {member.name}")
        tar.extractall(dest)


def classify_console(console_text):
    """'panic' when the console shows a kernel panic, else None."""
    return "panic" if any(m in console_text for m in PANIC_MARKERS) else None


def boot(cmd, timeout):
    """Runs QEMU; returns (exit code or None on timeout, wall seconds, its output)."""
    return bounded.run(cmd, timeout)
