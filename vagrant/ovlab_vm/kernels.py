"""Which kernels the runner knows, and an unpacked kernel package (vmlinuz + modules)."""

import dataclasses
import glob
import os
import shutil
import subprocess
import tempfile

from .errors import RunnerError

# Label -> Debian suite whose linux-image-amd64 provides that kernel series.
DEBIAN_KERNELS = {"5.10": "bullseye", "6.1": "bookworm", "6.12": "trixie"}
HOST = "host"


@dataclasses.dataclass
class KernelRequest:
    label: str  # "5.10", "6.1", "6.12" or "host"
    suite: str  # Debian suite, "" for the host


def parse_kernel_list(text):
    """`5.10,6.1,host` (suite names accepted too) -> [KernelRequest], duplicates dropped."""
    by_suite = {suite: label for label, suite in DEBIAN_KERNELS.items()}
    requests, seen = [], set()
    for word in [w.strip() for w in text.split(",")]:
        if not word:
            continue
        if word in DEBIAN_KERNELS:
            label = word
        elif word in by_suite:
            label = by_suite[word]
        elif word == HOST:
            label = HOST
        else:
            choices = ", ".join(f"{k} ({v})" for k, v in DEBIAN_KERNELS.items())
            raise RunnerError(f"unknown kernel '{word}' in --kernels: choose from {choices}, host")
        if label not in seen:
            seen.add(label)
            requests.append(KernelRequest(label, DEBIAN_KERNELS.get(label, "")))
    if not requests:
        raise RunnerError("--kernels is empty: name at least one of 5.10, 6.1, 6.12, host")
    return requests


@dataclasses.dataclass
class UnpackedKernel:
    root: str
    vmlinuz: str
    moddir: str  # .../lib/modules/<release>

    @property
    def release(self):
        return os.path.basename(self.moddir)


def find_unpacked(root):
    images = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    moddirs = sorted(glob.glob(os.path.join(root, "lib", "modules", "*")))
    moddirs += sorted(glob.glob(os.path.join(root, "usr", "lib", "modules", "*")))
    if len(images) != 1 or len(moddirs) != 1:
        raise RunnerError(f"{root} does not hold exactly one boot/vmlinuz-* and one lib/modules/*: delete it and rerun")
    return UnpackedKernel(root, images[0], moddirs[0])


def unpack_deb(deb_path, cache_dir):
    """Unpacks a linux-image .deb once into cache_dir/<deb name>/ (atomically, via a temp dir)."""
    target = os.path.join(cache_dir, os.path.basename(deb_path)[: -len(".deb")])
    if os.path.isdir(target):
        return find_unpacked(target)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=cache_dir)
    try:
        proc = subprocess.run(["dpkg-deb", "-x", deb_path, tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RunnerError(f"cannot unpack {deb_path}: {proc.stderr.strip()}")
        find_unpacked(tmp)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return find_unpacked(target)


def host_kernel_image():
    """/boot/vmlinuz-$(uname -r) when this machine has one, else None."""
    path = f"/boot/vmlinuz-{os.uname().release}"
    return path if os.path.isfile(path) else None
