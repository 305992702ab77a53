import base64
import io
import json
import tarfile

import pytest

from ovlab_vm import qemu, results
from ovlab_vm.errors import RunnerError


def tgz(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def channel(blob, announce=None):
    text = base64.encodebytes(blob).decode().replace("\n", "\r\n")
    return f"noise\r\n{qemu.BEGIN} {len(blob) if announce is None else announce}\r\n{text}{qemu.END}\r\n"


def test_results_round_trip(tmp_path):
    blob = tgz({"./matrix.json": b"{}", "./steps.txt": b"x 0 1.0\n"})
    qemu.extract_results(qemu.decode_results(channel(blob)), str(tmp_path))
    assert (tmp_path / "matrix.json").read_bytes() == b"{}"


def test_results_missing_cut_or_wrong_length():
    blob = tgz({"a": b"1"})
    with pytest.raises(RunnerError, match="sent no results"):
        qemu.decode_results("booting...\n")
    with pytest.raises(RunnerError, match="cut off"):
        qemu.decode_results(channel(blob).split(qemu.END)[0])
    with pytest.raises(RunnerError, match="announced 99"):
        qemu.decode_results(channel(blob, announce=99))


def test_results_cannot_escape_the_output(tmp_path):
    with pytest.raises(RunnerError, match="outside the output"):
        qemu.extract_results(tgz({"../evil": b"x"}), str(tmp_path / "out"))


def test_panic_detection():
    assert qemu.classify_console("[ 1.0] Kernel panic - not syncing: No working init found.") == "panic"
    assert qemu.classify_console("[ 1.0] reboot: Restarting system") is None


def test_tcg_command_has_no_kvm():
    cmd = qemu.command("/k", "/i", "/c.log", "/d.log", "tcg", 512, 1)
    assert cmd[cmd.index("-accel") + 1] == "tcg" and "-no-reboot" in cmd
    assert "file:/c.log" in cmd and "file:/d.log" in cmd


def test_parse_steps_and_modules():
    assert results.parse_steps("conformance 1 12.50\n") == [{"name": "conformance", "exit_code": 1, "seconds": 12.5}]
    loaded, failed = results.parse_modules("overlay loaded\nxfs failed insmod: bad\n")
    assert loaded == ["overlay"] and failed == [{"name": "xfs", "error": "insmod: bad"}]


def matrix(statuses):
    return {"schema": "ovlab.conformance.matrix/1", "targets": [{"name": "kernel"}],
            "cases": [{"id": cid, "results": {"kernel": {"verdict": s}}} for cid, s in statuses.items()]}


def test_differing_cases_names_each_kernel():
    diffs = results.differing_cases({
        "5.10": matrix({"rename.redirect": "fail", "lookup.a": "pass"}),
        "6.12": matrix({"rename.redirect": "pass", "lookup.a": "pass", "lowerdir_plus": "pass"}),
    })
    assert diffs == [
        ("lowerdir_plus", "kernel", {"5.10": "absent", "6.12": "pass"}),
        ("rename.redirect", "kernel", {"5.10": "fail", "6.12": "pass"}),
    ]


def test_index_lists_existing_files(tmp_path):
    (tmp_path / "6.1").mkdir()
    (tmp_path / "6.1" / "matrix.json").write_text(json.dumps(matrix({"a": "pass"})))
    (tmp_path / "6.1" / "status.json").write_text("{}")
    r = results.KernelResult(kernel="6.1", status="ok", wall_seconds=3.2, accel="tcg", emulated=True)
    index = results.write_index(str(tmp_path), [r], "selftest", "now")
    assert index["kernels"][0]["files"] == {"matrix": "6.1/matrix.json", "status": "6.1/status.json"}
    assert json.loads((tmp_path / "index.json").read_text())["schema"] == results.INDEX_SCHEMA
    assert "6.1" in results.summary(str(tmp_path), [r]) and "pass=1" in results.summary(str(tmp_path), [r])


def test_results_disk(tmp_path):
    blob = tgz({"./matrix.json": b"{}"})
    disk = tmp_path / "results.img"
    qemu.make_results_disk(str(disk), 1)
    assert qemu.read_disk_results(str(disk)) is None  # the guest wrote nothing: use the serial port
    with open(disk, "r+b") as f:
        f.write(f"{qemu.BEGIN} {len(blob)}\n".encode() + blob)
    assert qemu.read_disk_results(str(disk)) == blob
    with open(disk, "r+b") as f:
        f.write(f"{qemu.BEGIN} {2 << 20}\n".encode())
    with pytest.raises(RunnerError, match="holds .* of 2097152 bytes"):
        qemu.read_disk_results(str(disk))


def test_summary_caps_the_difference_list(tmp_path):
    many = {f"case{i:03d}": "pass" for i in range(100)}
    rows = []
    for kernel, verdict in (("5.10", "fail"), ("6.12", "pass")):
        (tmp_path / kernel).mkdir()
        (tmp_path / kernel / "matrix.json").write_text(json.dumps(matrix({k: verdict for k in many})))
        rows.append(results.KernelResult(kernel=kernel, status="ok"))
    text = results.summary(str(tmp_path), rows)
    assert "differs between kernels: 100" in text and "70 more" in text
    assert len(text.splitlines()) < 45


def test_scratch_disk_cache_none_or_writethrough(tmp_path, monkeypatch):
    import errno
    import os

    img = tmp_path / "scratch.img"
    qemu.make_scratch_disk(str(img), 16 << 30)
    assert img.stat().st_size == 16 << 30 and img.stat().st_blocks == 0  # sparse
    real_open = os.open

    def no_direct(path, flags, *args):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_direct)
    cache, note = qemu.direct_io_cache_mode(str(img))
    assert cache == "writethrough" and "refuses O_DIRECT" in note and str(tmp_path) in note


def test_command_names_disks_by_serial():
    cmd = qemu.command("/k", "/i", "/c.log", "/d.log", "tcg", 512, 1, "/r.img", "/s.img", "none")
    text = " ".join(cmd)
    assert "file=/r.img,format=raw,if=none,id=results,cache=writethrough" in text
    assert "virtio-blk-pci,drive=results,serial=ovlab-results" in text
    assert "file=/s.img,format=raw,if=none,id=scratch,cache=none" in text
    assert "virtio-blk-pci,drive=scratch,serial=ovlab-scratch" in text
    assert "scratch" not in " ".join(qemu.command("/k", "/i", "/c", "/d", "tcg", 512, 1, "/r.img"))


def test_guest_disk_report():
    assert results.parse_disk("role=scratch device=/dev/vdb fs=ext4 mount=/var/tmp/ovlab\n") == {
        "role": "scratch", "device": "/dev/vdb", "fs": "ext4", "mount": "/var/tmp/ovlab"}
    assert results.parse_disk("role=scratch device=/dev/vdb error=mount: mounting /dev/vdb failed: x=y\n") == {
        "role": "scratch", "device": "/dev/vdb", "error": "mount: mounting /dev/vdb failed: x=y"}
    assert results.parse_disk("") == {}
    disk = {"size_bytes": 16 << 30, "cache": "none", "role": "scratch", "device": "/dev/vdb", "fs": "ext4",
            "mount": "/var/tmp/ovlab"}
    assert results.describe_disk(disk) == "virtio-blk 16 GiB sparse raw image, cache=none; ext4 on /dev/vdb at /var/tmp/ovlab"
    raw = dict(disk, role="raw", size_bytes=512 << 20, cache="writethrough")
    del raw["mount"]
    assert results.describe_disk(raw) == ("virtio-blk 512 MiB sparse raw image, cache=writethrough; raw /dev/vdb "
                                          "(OVLAB_DISK); the guest's scratch is tmpfs")
    assert "unused (no virtio disk" in results.describe_disk(dict(disk, error="no virtio disk with serial x"))
    assert results.describe_disk({}).startswith("none: the guest's scratch is tmpfs")


def test_index_records_package_pin_image_disk_and_part(tmp_path):
    r = results.KernelResult(kernel="6.1.0-47", suite="bookworm", pin="6.1.0-47", package="linux-image-6.1.0-47-amd64",
                             package_version="6.1.170-3", disk={"describe": "virtio-blk …"},
                             part={"part": 2, "parts": 3})
    b = results.KernelResult(kernel="6.9.0", image="/k/bzImage", git_describe="v6.9-rc1-2-gabc")
    run = {"spec": {"x": 1}, "shard": {"index": 2, "count": 3, "kernels": ["6.1.0-47", "6.9.0"]}, "complete": True}
    index = results.write_index(str(tmp_path), [r, b], "selftest", "now", run)
    assert index["spec"] == {"x": 1} and index["complete"] and index["shard"]["index"] == 2
    e, f = index["kernels"]
    assert (e["pin"], e["package"], e["package_version"], e["suite"]) == ("6.1.0-47", "linux-image-6.1.0-47-amd64",
                                                                         "6.1.170-3", "bookworm")
    assert e["disk"] == "virtio-blk …" and e["part"] == {"part": 2, "parts": 3}
    assert (f["image"], f["git_describe"]) == ("/k/bzImage", "v6.9-rc1-2-gabc") and "package" not in f
    assert results.KernelResult.from_json(dict(r.to_json(), unknown=1)) == r
