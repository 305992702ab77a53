"""The guest's initramfs: busybox, /init, the payload with its libraries, and kernel modules."""

import os
import shlex
import shutil
import subprocess

from . import kmodules, payload as payload_mod
from .errors import RunnerError

BUSYBOX = "/bin/busybox"
GUEST_BIN_DIR = "/ovlab/bin"  # the payload binaries ($OVLAB_BIN of run-payload.sh)


def check_busybox(path=BUSYBOX):
    """The guest needs a static busybox (Debian busybox-static), since it has no libc of its own."""
    if not os.path.isfile(path):
        raise RunnerError(f"{path} not found: apt-get install busybox-static")
    proc = subprocess.run(["ldd", path], capture_output=True, text=True)
    if "not a dynamic executable" not in proc.stdout + proc.stderr and "statically linked" not in proc.stdout:
        raise RunnerError(f"{path} is dynamically linked: apt-get install busybox-static")


def _copy(src, staging, dest):
    target = os.path.join(staging, dest.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy(os.path.realpath(src), target)
    return target


def _write(staging, dest, text, mode=0o644):
    target = os.path.join(staging, dest.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(target, mode)


def stage_payload(staging, payload, bin_dir=GUEST_BIN_DIR, part=None):
    """Copies payload binaries to bin_dir and tools to /usr/bin, with every shared library.
    part: (index, count), 0-based, when the guest runs one part of the payload (--shard)."""
    libs = []
    for name, src in payload.binaries.items():
        os.chmod(_copy(src, staging, f"{bin_dir}/{name}"), 0o755)
        libs += payload_mod.shared_libraries(src)
    for name, src in payload.tools.items():
        os.chmod(_copy(src, staging, f"/usr/bin/{name}"), 0o755)
        libs += payload_mod.shared_libraries(src)
    for lib in dict.fromkeys(libs):
        _copy(lib, staging, lib)
    _write(staging, "/etc/ovlab/steps.sh", payload.steps_script(part))
    if os.path.isfile("/etc/mke2fs.conf"):
        _copy("/etc/mke2fs.conf", staging, "/etc/mke2fs.conf")


def stage_modules(staging, tree, order, index):
    """Decompressed modules under /lib/modules/<release>, a modules.dep and the load order.
    tree None: a kernel with everything built in (--kernel without --modules)."""
    if tree is None:
        _write(staging, "/etc/ovlab/modules.order", "")
        return
    base = f"/lib/modules/{tree.release}"
    plain = {}
    for name in order:
        rel = index[name][0]
        for suffix in (".xz", ".zst", ".gz"):
            if rel.endswith(suffix):
                rel = rel[: -len(suffix)]
        plain[name] = (rel, index[name][1])
        target = os.path.join(staging, base.lstrip("/"), rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(kmodules.read_module_bytes(os.path.join(tree.moddir, index[name][0])))
    _write(staging, f"{base}/modules.dep", kmodules.format_modules_dep(plain, order))
    _write(staging, "/etc/ovlab/modules.order", "".join(f"{n} {plain[n][0]}\n" for n in order))


def stage_base(staging):
    check_busybox()
    _copy(BUSYBOX, staging, "/bin/busybox")
    os.chmod(os.path.join(staging, "bin/busybox"), 0o755)
    _copy(os.path.join(payload_mod.GUEST_DIR, "init.sh"), staging, "/init")
    os.chmod(os.path.join(staging, "init"), 0o755)
    _copy(os.path.join(payload_mod.GUEST_DIR, "run-payload.sh"), staging, "/ovlab/run-payload.sh")
    for d in ("proc", "sys", "dev", "tmp", "var/tmp", "run", "results", "root", "sbin", "usr/sbin", "mnt"):
        os.makedirs(os.path.join(staging, d), exist_ok=True)
    _write(staging, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    _write(staging, "/etc/group", "root:x:0:\nnogroup:x:65534:\n")


def pack(staging, output):
    """newc cpio of `staging`, owned by root, gzip'd (every Debian kernel has RD_GZIP)."""
    names = subprocess.run(["find", ".", "-print0"], cwd=staging, capture_output=True, check=True).stdout
    with open(output, "wb") as out:
        cpio = subprocess.Popen(
            ["cpio", "--null", "-o", "-H", "newc", "-R", "0:0", "--quiet"],
            cwd=staging,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        gz = subprocess.Popen(["gzip", "-1"], stdin=cpio.stdout, stdout=out)
        cpio.stdout.close()
        cpio.communicate(names)
        gz.wait()
    if cpio.returncode != 0 or gz.returncode != 0:
        raise RunnerError(f"packing {output} failed (is cpio installed? apt-get install cpio)")


def build(staging, output, payload, tree, order, index, env, part=None):
    """env: variables the payload sees (e.g. OVLAB_EMULATED=1 so timings can be labelled)."""
    stage_base(staging)
    _write(staging, "/etc/ovlab/env.sh", "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
    stage_payload(staging, payload, part=part)
    stage_modules(staging, tree, order, index)
    pack(staging, output)
