import lzma
import struct

import pytest

from ovlab_vm import kmodules
from ovlab_vm.errors import RunnerError


def fake_module(modinfo):
    """A minimal ELF64 LE object with a .modinfo section holding `modinfo` (key=value pairs)."""
    info = b"".join(f"{k}={v}".encode() + b"\0" for k, v in modinfo)
    shstr = b"\0.modinfo\0.shstrtab\0"
    info_off = 64
    shstr_off = info_off + len(info)
    shoff = shstr_off + len(shstr)
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 3, 2)
    sections = bytes(64)
    sections += struct.pack("<IIQQQQIIQQ", 1, 1, 0, 0, info_off, len(info), 0, 0, 1, 0)
    sections += struct.pack("<IIQQQQIIQQ", 10, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)
    return header + info + shstr + sections


def write_tree(tmp_path, modules, builtin=()):
    """modules: {relpath: [(key, value)]}; .xz paths are written compressed."""
    moddir = tmp_path / "lib" / "modules" / "6.9.0-test"
    for rel, info in modules.items():
        path = moddir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = fake_module(info)
        path.write_bytes(lzma.compress(data) if rel.endswith(".xz") else data)
    moddir.mkdir(parents=True, exist_ok=True)
    (moddir / "modules.builtin").write_text("".join(f"{b}\n" for b in builtin))
    return str(moddir)


def test_module_name_canonical():
    assert kmodules.module_name("kernel/drivers/md/dm-thin-pool.ko.xz") == "dm_thin_pool"
    assert kmodules.module_name("overlay.ko") == "overlay"


def test_modinfo_from_elf():
    image = fake_module([("depends", "jbd2,mbcache"), ("alias", "fs-ext4"), ("alias", "ext3")])
    info = kmodules.parse_modinfo(kmodules.elf_section(image, ".modinfo"))
    assert info == {"depends": ["jbd2,mbcache"], "alias": ["fs-ext4", "ext3"]}
    assert kmodules.elf_section(b"not an elf", ".modinfo") is None


def test_softdep_pre_only():
    assert kmodules.parse_softdep("pre: crc32c sha-256 post: foo") == ["crc32c", "sha_256"]


def test_modules_dep_round_trip_and_order():
    text = (
        "kernel/fs/ext4/ext4.ko: kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko\n"
        "kernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\nkernel/lib/crc16.ko:\n"
    )
    index = kmodules.parse_modules_dep(text)
    assert index["ext4"] == ("kernel/fs/ext4/ext4.ko", ["mbcache", "jbd2", "crc16"])
    order = kmodules.load_order(index, ["ext4"])
    assert order[-1] == "ext4" and set(order) == {"ext4", "jbd2", "mbcache", "crc16"}
    again = kmodules.parse_modules_dep(kmodules.format_modules_dep(index, order))
    assert {k: set(v[1]) for k, v in again.items()} == {k: set(v[1]) for k, v in index.items()}


def test_transitive_dependencies_listed():
    index = {"a": ("a.ko", ["b"]), "b": ("b.ko", ["c"]), "c": ("c.ko", [])}
    line = kmodules.format_modules_dep(index, ["a"]).splitlines()[0]
    assert line.startswith("a.ko:") and "b.ko" in line and "c.ko" in line


def test_cycle_is_an_error():
    index = {"a": ("a.ko", ["b"]), "b": ("b.ko", ["a"])}
    with pytest.raises(RunnerError, match="cycle: a -> b -> a"):
        kmodules.load_order(index, ["a"])


def test_plan_from_tree_with_compressed_modules_and_softdeps(tmp_path):
    moddir = write_tree(
        tmp_path,
        {
            "kernel/fs/overlayfs/overlay.ko.xz": [("name", "overlay")],
            "kernel/fs/ext4/ext4.ko.xz": [("depends", "jbd2,mbcache"), ("softdep", "pre: crc32c")],
            "kernel/fs/jbd2/jbd2.ko.xz": [("depends", "")],
            "kernel/fs/mbcache.ko.xz": [("depends", "")],
            "kernel/crypto/crc32c_generic.ko.xz": [("alias", "crypto-crc32c"), ("alias", "crc32c")],
            "kernel/drivers/md/dm-thin-pool.ko.xz": [("depends", "dm-mod")],
            "kernel/drivers/md/dm-mod.ko.xz": [("depends", "")],
        },
        builtin=["kernel/fs/fuse/fuse.ko", "kernel/drivers/block/loop.ko"],
    )
    tree = kmodules.ModuleTree(moddir)
    index, order, builtin, missing = tree.plan()
    assert sorted(builtin) == ["fuse", "loop"]
    assert missing == ["xfs", "btrfs"]
    assert order.index("crc32c_generic") < order.index("ext4")
    assert order.index("jbd2") < order.index("ext4") and order.index("dm_mod") < order.index("dm_thin_pool")
    assert index["dm_thin_pool"][0] == "kernel/drivers/md/dm-thin-pool.ko.xz"


def test_plan_without_overlay_names_the_kernel(tmp_path):
    tree = kmodules.ModuleTree(write_tree(tmp_path, {"kernel/fs/ext4/ext4.ko": []}))
    with pytest.raises(RunnerError, match="kernel 6.9.0-test has no overlay module"):
        tree.plan()


def test_builtin_overlay_is_fine(tmp_path):
    tree = kmodules.ModuleTree(write_tree(tmp_path, {}, builtin=["kernel/fs/overlayfs/overlay.ko"]))
    index, order, builtin, _ = tree.plan()
    assert "overlay" in builtin and order == []
