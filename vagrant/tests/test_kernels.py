"""Kernel requests: series, pinned versions, built kernels (bzImage header, modules, git tree)."""
import glob
import os
import shutil
import struct
import subprocess

import pytest

from ovlab_vm import kernels
from ovlab_vm.errors import RunnerError

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("OVLAB_VM_CACHE", os.path.join(HERE, "cache"))


def fake_bzimage(path, version, protocol=0x20F):
    """A file with a bzImage setup header whose kernel_version points at `version`."""
    image = bytearray(0x4000)
    image[0x1FE:0x200] = b"\x55\xaa"
    image[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", image, 0x206, protocol)
    struct.pack_into("<H", image, 0x20E, 0x3000 - 0x200)
    text = version.encode() + b"\0"
    image[0x3000 : 0x3000 + len(text)] = text
    path.write_bytes(bytes(image))
    return str(path)


def test_series_suites_and_pins():
    requests = kernels.parse_kernel_list("5.10,bookworm,6.1.0-28,6.12.57+deb13,6.1.119-1,host,6.1")
    assert [(r.label, r.suite, r.pin, r.kind) for r in requests] == [
        ("5.10", "bullseye", "", "debian"),
        ("6.1", "bookworm", "", "debian"),
        ("6.1.0-28", "bookworm", "6.1.0-28", "debian"),
        ("6.12.57+deb13", "trixie", "6.12.57+deb13", "debian"),
        ("6.1.119-1", "bookworm", "6.1.119-1", "debian"),
        ("host", "", "", "host"),
    ]


@pytest.mark.parametrize("word, message", [
    ("6.2.0-1", "no Debian suite ships kernel 6.2.0-1"),
    ("4.19", "unknown kernel '4.19'"),
    ("linux", "or a Debian version of one of them (e.g. 6.1.0-28)"),
])
def test_bad_kernel_words(word, message):
    with pytest.raises(RunnerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kernels.parse_kernel_list(word)


def test_bzimage_version_from_the_setup_header(tmp_path):
    text = "6.9.0-rc3-ovlab+ (me@box) #7 SMP PREEMPT_DYNAMIC Tue Apr  9 10:00:00 UTC 2024"
    assert kernels.bzimage_version(fake_bzimage(tmp_path / "bzImage", text)) == text
    (tmp_path / "vmlinux").write_bytes(b"\x7fELF" + bytes(0x400))
    with pytest.raises(RunnerError, match="is not a bzImage .*arch/x86/boot/bzImage"):
        kernels.bzimage_version(str(tmp_path / "vmlinux"))
    with pytest.raises(RunnerError, match="protocol 0x1ff"):
        kernels.bzimage_version(fake_bzimage(tmp_path / "old", text, protocol=0x1FF))


def test_bzimage_version_of_a_debian_kernel():
    images = glob.glob(os.path.join(CACHE, "kernels", "*", "boot", "vmlinuz-*"))
    if not images:
        pytest.skip("no Debian kernel unpacked in the cache yet (the boot tests fetch one)")
    for image in images:
        release = os.path.basename(image)[len("vmlinuz-"):]
        assert kernels.bzimage_version(image).split()[0] == release


def test_modules_dir_of_an_install_mod_path(tmp_path):
    (tmp_path / "mods" / "lib" / "modules" / "6.9.0").mkdir(parents=True)
    assert kernels.find_modules_dir(str(tmp_path / "mods"), "6.9.0") == str(tmp_path / "mods/lib/modules/6.9.0")
    assert kernels.find_modules_dir(str(tmp_path / "mods/lib/modules/6.9.0"), "6.9.0").endswith("modules/6.9.0")
    with pytest.raises(RunnerError, match=r"has no lib/modules/6.10.0 \(it holds lib/modules/6.9.0\)"):
        kernels.find_modules_dir(str(tmp_path / "mods"), "6.10.0")
    with pytest.raises(RunnerError, match="is not a directory"):
        kernels.find_modules_dir(str(tmp_path / "none"), "6.9.0")


def _git(tree, *args):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(tree), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t", GIT_AUTHOR_DATE="2024-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2024-01-01T00:00:00Z")
    subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True, env=env)


def fake_kernel_tree(root):
    """A git tree that looks like a kernel source tree, tagged v6.9."""
    if not shutil.which("git"):
        pytest.skip("git not installed")
    root.mkdir()
    for name in ("Makefile", "Kbuild", "Kconfig", ".gitignore"):
        (root / name).write_text("bzImage\n" if name == ".gitignore" else f"# {name}\n")
    (root / "arch" / "x86" / "boot").mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "v6.9")
    _git(root, "tag", "v6.9")
    return root


def test_built_kernel_in_tree_names_release_and_git(tmp_path):
    tree = fake_kernel_tree(tmp_path / "linux")
    image = fake_bzimage(tree / "arch/x86/boot/bzImage", "6.9.0 (t@t) #1 SMP")
    (tmp_path / "mods" / "lib" / "modules" / "6.9.0" / "kernel").mkdir(parents=True)
    r = kernels.built_kernel(image, str(tmp_path / "mods"))
    assert (r.label, r.kind, r.image, r.image_version) == ("6.9.0", "built", image, "6.9.0 (t@t) #1 SMP")
    assert r.modules == str(tmp_path / "mods/lib/modules/6.9.0")
    assert (r.source_tree, r.git_describe) == (str(tree), "v6.9")
    (tree / "Kconfig").write_text("# changed\n")
    assert kernels.built_kernel(image).git_describe == "v6.9-dirty"


def test_built_kernel_out_of_tree_follows_source_link(tmp_path):
    tree = fake_kernel_tree(tmp_path / "linux")
    build = tmp_path / "build"
    (build / "arch" / "x86" / "boot").mkdir(parents=True)
    (build / "Makefile").write_text("# generated by the kernel's O= build\n")
    os.symlink(tree, build / "source")
    r = kernels.built_kernel(fake_bzimage(build / "arch/x86/boot/bzImage", "6.9.0 #1"))
    assert (r.source_tree, r.git_describe, r.modules) == (str(tree), "v6.9", "")


def test_built_kernel_outside_a_kernel_tree(tmp_path):
    r = kernels.built_kernel(fake_bzimage(tmp_path / "vmlinuz", "6.9.0/x #1"))
    assert (r.label, r.source_tree, r.git_describe) == ("6.9.0_x", "", "")
    with pytest.raises(RunnerError, match="--kernel .*/nope is not a file"):
        kernels.built_kernel(str(tmp_path / "nope"))


def test_labels_must_be_unique(tmp_path):
    a = kernels.built_kernel(fake_bzimage(tmp_path / "a", "6.9.0 #1"))
    b = kernels.built_kernel(fake_bzimage(tmp_path / "b", "6.9.0 #2"))
    with pytest.raises(RunnerError, match="are both named 6.9.0 in the results"):
        kernels.check_unique_labels([a, b])


def test_sort_oldest_first_host_last():
    labels = ["host", "6.12", "6.1.0-28", "6.1", "5.10", "6.13.0-rc1+"]
    assert sorted(labels, key=kernels.sort_key) == ["5.10", "6.1", "6.1.0-28", "6.12", "6.13.0-rc1+", "host"]
