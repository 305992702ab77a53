"""Which kernels the runner knows: Debian series and pinned package versions, kernels built by the
user (--kernel PATH), the host; and an unpacked kernel package (vmlinuz + modules)."""

import dataclasses
import glob
import os
import re
import shutil
import struct
import subprocess
import tempfile

from .errors import RunnerError

# Label -> Debian suite whose linux-image-amd64 provides that kernel series.
DEBIAN_KERNELS = {"5.10": "bullseye", "6.1": "bookworm", "6.12": "trixie"}
HOST = "host"
# A pinned Debian kernel: an ABI (6.1.0-28, 6.12.57+deb13) or package version (6.1.119-1) prefix.
PIN_RE = re.compile(r"(\d+)\.(\d+)[.+~-][0-9A-Za-z.+~-]*")
# What a kernel's label (its results directory) may hold.
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]*")

# bzImage setup header (Documentation/arch/x86/boot.rst): "HdrS" at 0x202, the protocol version
# at 0x206, and at 0x20E kernel_version: the offset of the version string, less 0x200.
SETUP_MAGIC_OFFSET, SETUP_VERSION_OFFSET, KERNEL_VERSION_OFFSET = 0x202, 0x206, 0x20E


@dataclasses.dataclass
class KernelRequest:
    label: str  # results directory: "5.10", "6.1.0-28", "host", or a built kernel's uname -r
    suite: str = ""  # Debian suite ("" for the host and built kernels)
    pin: str = ""  # Debian version prefix asked for ("" = the suite's current kernel)
    package: str = ""  # resolved pin: linux-image-6.1.0-28-amd64
    package_version: str = ""  # resolved pin: 6.1.119-1
    image: str = ""  # --kernel PATH (a bzImage)
    modules: str = ""  # --modules DIR of that kernel: its lib/modules/<release> ("" = all built in)
    image_version: str = ""  # the version string in the bzImage header
    source_tree: str = ""  # the git tree the image was built from, when found
    git_describe: str = ""  # `git describe` of that tree

    @property
    def kind(self):
        return "host" if self.label == HOST else ("debian" if self.suite else "built")


def series_suite(version):
    """The Debian suite that ships kernels of `version`'s major.minor, or None."""
    m = re.match(r"(\d+)\.(\d+)", version)
    return DEBIAN_KERNELS.get(f"{m.group(1)}.{m.group(2)}") if m else None


def parse_kernel_list(text):
    """`5.10,6.1.0-28,host` (suite names accepted too) -> [KernelRequest], duplicates dropped."""
    by_suite = {suite: label for label, suite in DEBIAN_KERNELS.items()}
    choices = ", ".join(f"{k} ({v})" for k, v in DEBIAN_KERNELS.items())
    requests, seen = [], set()
    for word in [w.strip() for w in text.split(",")]:
        if not word or word in seen:
            continue
        if word in DEBIAN_KERNELS or word in by_suite:
            label = by_suite.get(word, word)
            request = KernelRequest(label, DEBIAN_KERNELS[label])
        elif word == HOST:
            request = KernelRequest(HOST)
        elif PIN_RE.fullmatch(word):
            suite = series_suite(word)
            if not suite:
                raise RunnerError(f"no Debian suite ships kernel {word} in --kernels: pin a version of {choices}")
            request = KernelRequest(word, suite, pin=word)
        else:
            raise RunnerError(
                f"unknown kernel '{word}' in --kernels: choose from {choices}, host, "
                "or a Debian version of one of them (e.g. 6.1.0-28)"
            )
        if request.label not in seen:
            seen.update((word, request.label))
            requests.append(request)
    if not requests:
        raise RunnerError(f"--kernels is empty: name at least one of {', '.join(DEBIAN_KERNELS)}, host")
    return requests


def bzimage_version(path):
    """The version string of a bzImage (`6.1.0-28-amd64 (debian-kernel@…) #1 SMP …`)."""
    try:
        with open(path, "rb") as f:
            head = f.read(0x400)
            if len(head) < 0x210 or head[SETUP_MAGIC_OFFSET : SETUP_MAGIC_OFFSET + 4] != b"HdrS":
                raise RunnerError(f"{path} is not a bzImage (no setup header): pass arch/x86/boot/bzImage")
            protocol, = struct.unpack_from("<H", head, SETUP_VERSION_OFFSET)
            pointer, = struct.unpack_from("<H", head, KERNEL_VERSION_OFFSET)
            if protocol < 0x200 or pointer == 0:
                raise RunnerError(f"{path}'s setup header (protocol {protocol:#x}) names no kernel version string")
            f.seek(pointer + 0x200)
            text = f.read(256).split(b"\0", 1)[0].decode("ascii", "replace").strip()
    except OSError as e:
        raise RunnerError(f"cannot read the kernel image {path}: {e.strerror}") from None
    if not text:
        raise RunnerError(f"{path}'s version string is empty: is it a complete bzImage?")
    return text


def release_label(release):
    """A results directory name for a uname -r (which may hold any printable characters)."""
    label = re.sub(r"[^A-Za-z0-9._+~-]", "_", release)
    return label if LABEL_RE.fullmatch(label) else "k" + label


def find_modules_dir(install_dir, release):
    """lib/modules/<release> of a `make modules_install INSTALL_MOD_PATH=install_dir` (or that
    directory itself). Raises RunnerError naming what is there when it does not fit."""
    candidates = [
        os.path.join(install_dir, "lib", "modules", release),
        os.path.join(install_dir, "usr", "lib", "modules", release),
    ]
    if os.path.basename(os.path.normpath(install_dir)) == release:
        candidates.insert(0, install_dir)
    for path in candidates:
        if os.path.isdir(path):
            return os.path.abspath(path)
    found = sorted(
        os.path.basename(p)
        for p in glob.glob(os.path.join(install_dir, "lib", "modules", "*"))
        + glob.glob(os.path.join(install_dir, "usr", "lib", "modules", "*"))
        if os.path.isdir(p)
    )
    if not os.path.isdir(install_dir):
        raise RunnerError(f"--modules {install_dir} is not a directory: pass the INSTALL_MOD_PATH of the build")
    has = f"it holds lib/modules/{', '.join(found)}" if found else "it holds no lib/modules/*"
    raise RunnerError(
        f"--modules {install_dir} has no lib/modules/{release} ({has}): pass the INSTALL_MOD_PATH "
        f"of the build that made this image (make modules_install INSTALL_MOD_PATH=DIR)"
    )


def kernel_source_tree(image):
    """The kernel source tree an image was built in: the nearest directory above it that is one
    (Kbuild, Kconfig and arch/ at its top), or that an O= build directory's `source` link names."""
    d = os.path.dirname(os.path.abspath(image))
    while True:
        if all(os.path.exists(os.path.join(d, n)) for n in ("Makefile", "Kbuild", "Kconfig", "arch")):
            return d
        source = os.path.join(d, "source")
        if os.path.isfile(os.path.join(d, "Makefile")) and os.path.islink(source) and os.path.isdir(source):
            return os.path.realpath(source)
        parent = os.path.dirname(d)
        if parent == d:
            return ""
        d = parent


def git_describe(tree):
    """`git describe --tags --always --dirty` of a tree, "" when it is not a git checkout."""
    if not tree or not shutil.which("git"):
        return ""
    try:
        proc = subprocess.run(
            ["git", "-C", tree, "describe", "--tags", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=120,
        )
    except subprocess.TimeoutExpired:
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def built_kernel(image, modules_dir=None):
    """A KernelRequest for --kernel IMAGE [--modules DIR], named by the image's uname -r."""
    if not os.path.isfile(image):
        raise RunnerError(f"--kernel {image} is not a file: pass a bzImage (arch/x86/boot/bzImage)")
    version = bzimage_version(image)
    release = version.split()[0]
    request = KernelRequest(release_label(release), image=os.path.abspath(image), image_version=version)
    if modules_dir:
        request.modules = find_modules_dir(modules_dir, release)
    request.source_tree = kernel_source_tree(image)
    request.git_describe = git_describe(request.source_tree)
    return request


def check_unique_labels(requests):
    seen = {}
    for r in requests:
        if r.label in seen:
            what = f"--kernel {r.image}" if r.image else r.label
            first = f"--kernel {seen[r.label].image}" if seen[r.label].image else seen[r.label].label
            raise RunnerError(f"{what} and {first} are both named {r.label} in the results: pass each kernel once")
        seen[r.label] = r


def version_key(text):
    """Sort key of a kernel label or release: its numbers, in order (5.10 < 6.1.0-28 < 6.12)."""
    return tuple(int(n) for n in re.findall(r"\d+", text))


def sort_key(label, release=""):
    """Oldest kernel first, the host last."""
    if label == HOST:
        return (1, (), label)
    return (0, version_key(release or label), label)


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
