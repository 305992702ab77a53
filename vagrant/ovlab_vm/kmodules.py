"""Kernel modules of an unpacked Debian kernel package: dependency index and load order.

Debian's linux-image packages ship no modules.dep (depmod runs at install time), so the index is
built like depmod does it: from each module's own .modinfo section (`depends=`, `softdep=`,
`alias=`). It is written and read in modules.dep syntax, so a tree that has one is read directly.
"""

import lzma
import os
import struct
import subprocess

from .errors import RunnerError

# What the payload needs, by module name. Missing optional modules are reported, not fatal.
REQUIRED_MODULES = ["overlay"]
OPTIONAL_MODULES = ["fuse", "loop", "ext4", "xfs", "btrfs", "dm-thin-pool"]
# Crypto the filesystems ask for through softdeps/request_module (crc32c, btrfs checksums).
HELPER_MODULES = ["crc32c_generic", "crc32c-intel", "xxhash_generic", "sha256_generic", "blake2b_generic"]
# The results disk (without them the guest falls back to the serial port).
TRANSPORT_MODULES = ["virtio_pci", "virtio_blk"]

MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


def module_name(path):
    """`kernel/fs/dm-thin-pool.ko.xz` -> `dm_thin_pool` (the kernel's canonical spelling)."""
    base = os.path.basename(path)
    for suffix in MODULE_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def read_module_bytes(path):
    """The ELF image of a module, decompressed if the file is .xz/.zst/.gz."""
    if path.endswith(".xz"):
        with lzma.open(path) as f:
            return f.read()
    if path.endswith(".zst"):
        proc = subprocess.run(["zstd", "-dcq", path], capture_output=True)
        if proc.returncode != 0:
            raise RunnerError(f"cannot decompress {path}: install zstd (apt-get install zstd)")
        return proc.stdout
    if path.endswith(".gz"):
        import gzip

        with gzip.open(path) as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def elf_section(image, wanted):
    """Bytes of the named section of a 64-bit little-endian ELF image, or None."""
    if image[:4] != b"\x7fELF" or image[4] != 2 or image[5] != 1:
        return None
    shoff = struct.unpack_from("<Q", image, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", image, 0x3A)

    def header(i):
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", image, shoff + i * shentsize)
        return name, offset, size

    _, str_off, _ = header(shstrndx)
    for i in range(shnum):
        name, offset, size = header(i)
        end = image.index(b"\0", str_off + name)
        if image[str_off + name : end].decode() == wanted:
            return image[offset : offset + size]
    return None


def parse_modinfo(section):
    """`.modinfo` bytes -> {key: [values]} (a key such as alias may repeat)."""
    info = {}
    for item in section.split(b"\0"):
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep:
            info.setdefault(key, []).append(value)
    return info


def parse_softdep(value):
    """`pre: crc32c sha256 post: foo` -> pre-dependencies ['crc32c', 'sha256'] (post ignored)."""
    pre, mode = [], None
    for word in value.split():
        if word.endswith(":"):
            mode = word[:-1]
        elif mode == "pre":
            pre.append(word.replace("-", "_"))
    return pre


def parse_modules_dep(text):
    """modules.dep text -> {name: (relpath, [dependency names])}."""
    index = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        path, _, deps = line.partition(":")
        index[module_name(path.strip())] = (path.strip(), [module_name(d) for d in deps.split()])
    return index


def format_modules_dep(index, names):
    """modules.dep lines for `names` (deps listed transitively, deepest last, as depmod does)."""
    lines = []
    for name in names:
        path, _ = index[name]
        chain = [d for d in load_order(index, [name]) if d != name]
        lines.append(f"{path}: " + " ".join(index[d][0] for d in reversed(chain)))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def load_order(index, names):
    """Modules to insmod, dependencies first, each once. Raises on a dependency cycle."""
    order, state = [], {}

    def visit(name, chain):
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            raise RunnerError(f"module dependency cycle: {' -> '.join(chain + [name])}")
        state[name] = "active"
        for dep in index[name][1]:
            if dep in index:
                visit(dep, chain + [name])
        state[name] = "done"
        order.append(name)

    for name in names:
        visit(name, [])
    return order


class ModuleTree:
    """The /lib/modules/<release> directory of an unpacked kernel package."""

    def __init__(self, moddir):
        self.moddir = moddir
        self.release = os.path.basename(moddir.rstrip("/"))
        self.paths = {}
        for dirpath, _, files in os.walk(os.path.join(moddir, "kernel")):
            for f in files:
                if f.endswith(MODULE_SUFFIXES):
                    rel = os.path.relpath(os.path.join(dirpath, f), moddir)
                    self.paths[module_name(rel)] = rel
        self.builtin = set()
        builtin = os.path.join(moddir, "modules.builtin")
        if os.path.isfile(builtin):
            with open(builtin, encoding="utf-8") as f:
                self.builtin = {module_name(line.strip()) for line in f if line.strip()}
        self._info = {}
        self._aliases = None

    def info(self, name):
        if name not in self._info:
            image = read_module_bytes(os.path.join(self.moddir, self.paths[name]))
            section = elf_section(image, ".modinfo")
            self._info[name] = parse_modinfo(section) if section else {}
        return self._info[name]

    def dependencies(self, name):
        """Hard dependencies plus softdep pre-modules (resolved through aliases) that exist."""
        info = self.info(name)
        deps = [d.replace("-", "_") for v in info.get("depends", []) for d in v.split(",") if d]
        for value in info.get("softdep", []):
            for soft in parse_softdep(value):
                deps += [m for m in self.resolve_alias(soft) if m not in deps]
        return [d for d in deps if d in self.paths]

    def resolve_alias(self, alias):
        """A softdep names a module or an alias (`crc32c` is an alias of crc32c_generic)."""
        if alias in self.paths:
            return [alias]
        if self._aliases is None:
            # Only the helper modules are searched: reading every module's modinfo is slow (xz).
            self._aliases = {}
            for helper in HELPER_MODULES:
                name = module_name(helper)
                if name in self.paths:
                    for a in self.info(name).get("alias", []):
                        self._aliases.setdefault(a.replace("-", "_"), []).append(name)
        return self._aliases.get(alias, []) + self._aliases.get("crypto_" + alias, [])

    def index_for(self, wanted):
        """{name: (relpath, deps)} for the closure of `wanted` modules present in this tree."""
        index, todo = {}, [module_name(w) for w in wanted if module_name(w) in self.paths]
        while todo:
            name = todo.pop()
            if name in index:
                continue
            deps = self.dependencies(name)
            index[name] = (self.paths[name], deps)
            todo += deps
        return index

    def plan(self, required=REQUIRED_MODULES, optional=OPTIONAL_MODULES):
        """What to load for the payload: (index, load order, builtin names, missing names).

        A required module that is neither a file nor built in raises RunnerError."""
        wanted = [module_name(m) for m in HELPER_MODULES + TRANSPORT_MODULES + list(required) + list(optional)]
        builtin = [m for m in wanted if m in self.builtin]
        missing = [m for m in wanted if m not in self.builtin and m not in self.paths]
        for m in required:
            if module_name(m) in missing:
                raise RunnerError(f"kernel {self.release} has no {m} module (neither built in nor in {self.moddir})")
        index = self.index_for([m for m in wanted if m in self.paths])
        order = load_order(index, [m for m in wanted if m in index])
        helpers = {module_name(h) for h in HELPER_MODULES + TRANSPORT_MODULES}
        missing = [m for m in missing if m not in helpers]
        return index, order, builtin, missing
