"""Real runs: a Debian kernel booted under QEMU (bookworm 6.1, the cheapest), the host row, the
per-kernel failure paths (timeout, panic) that must not stop the runner, a kernel given as
--kernel/--modules run in two shards and merged, and pinned versions against the real lists."""
import json
import os
import shutil
import subprocess

import pytest

from ovlab_vm import aptmirror, initramfs, kernels, qemu

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(HERE, "run-kernels")
CACHE = os.environ.get("OVLAB_VM_CACHE", os.path.join(HERE, "cache"))


def need_qemu():
    if not shutil.which(qemu.QEMU):
        pytest.skip(f"{qemu.QEMU} not installed (apt-get install qemu-system-x86)")
    if not os.path.isfile(initramfs.BUSYBOX):
        pytest.skip("busybox-static not installed")


def run(out, *args):
    cmd = [RUNNER, "--payload", "selftest", "--cache-dir", CACHE, "--out", str(out), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def test_bookworm_kernel_and_host(tmp_path):
    need_qemu()
    proc = run(tmp_path, "--kernels", "6.1,host", "--timeout", "300")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = json.loads((tmp_path / "index.json").read_text())
    rows = {k["kernel"]: k for k in index["kernels"]}
    assert rows["6.1"]["release"].startswith("6.1.") and rows["6.1"]["status"] == "ok"
    assert rows["6.1"]["emulated"] == (rows["6.1"]["accel"] == "tcg")
    assert rows["host"]["release"] == os.uname().release
    for kernel in ("6.1", "host"):
        matrix = json.loads((tmp_path / kernel / "matrix.json").read_text())
        assert matrix["schema"] == "ovlab.conformance.matrix/1" and len(matrix["cases"]) >= 7
        assert matrix["kernel"]["release"] == rows[kernel]["release"]
        assert all(c["results"]["kernel"]["verdict"] == "pass" for c in matrix["cases"])
        status = json.loads((tmp_path / kernel / "status.json").read_text())
        assert status["exit_code"] == 0 and status["steps"][0]["name"] == "selftest"
    status = json.loads((tmp_path / "6.1" / "status.json").read_text())
    assert status["package"].startswith("linux-image-6.1.") and rows["6.1"]["package_version"] == status["package_version"]
    assert (status["disk"]["role"], status["disk"]["fs"], status["disk"]["mount"]) == ("scratch", "ext4", "/var/tmp/ovlab")
    assert rows["6.1"]["disk"] == status["disk"]["describe"] and "16 GiB" in rows["6.1"]["disk"]
    assert "overlay" in status["modules_loaded"] + status["modules_builtin"]
    assert not status["modules_failed"], status["modules_failed"]
    assert "ovlab: guest done, exit 0" in (tmp_path / "6.1" / "console.log").read_text()
    assert "cases whose result differs between kernels: 0" in proc.stdout
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")], "staging dirs left behind"


def test_timeout_is_per_kernel_and_the_run_goes_on(tmp_path):
    need_qemu()
    proc = run(tmp_path, "--kernels", "6.1,host", "--timeout", "2")
    assert proc.returncode == 1
    rows = {k["kernel"]: k for k in json.loads((tmp_path / "index.json").read_text())["kernels"]}
    assert rows["6.1"]["status"] == "timeout" and "2s timeout" in rows["6.1"]["error"]
    assert rows["host"]["status"] == "ok"


def bookworm_kernel():
    """The current bookworm kernel, fetched and unpacked into the cache (as the runner does)."""
    mirror = aptmirror.find_debian_mirror()
    package = aptmirror.PrivateApt(os.path.join(CACHE, "apt", "bookworm"), mirror, "bookworm").fetch_kernel()
    return kernels.unpack_deb(package.deb_path, os.path.join(CACHE, "kernels"))


SELFTEST_CASES = ["lower_visible", "upper_wins", "read_no_copy_up", "append_copies_up", "unlink_makes_whiteout",
                  "merged_listing", "rmdir_mkdir_is_opaque"]


def test_built_kernel_in_two_shards_merged(tmp_path):
    """--kernel/--modules (a Debian vmlinuz and its unpacked package as INSTALL_MOD_PATH: nothing is
    built here), split in two parts by --shard, each on the scratch disk; then --merge and cross-kernel."""
    need_qemu()
    kernel = bookworm_kernel()
    dirs = []
    for i in (1, 2):
        out = tmp_path / f"shard{i}"
        proc = run(out, "--kernel", kernel.vmlinuz, "--modules", kernel.root, "--shard", f"{i}/2", "--timeout", "300")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        index = json.loads((out / "index.json").read_text())
        assert index["shard"] == {"index": i, "count": 2, "kernels": [kernel.release]} and index["complete"]
        (entry,) = index["kernels"]
        assert (entry["kernel"], entry["release"], entry["part"]) == (kernel.release, kernel.release, {"part": i, "parts": 2})
        assert entry["image"] == kernel.vmlinuz and "ext4 on /dev/vd" in entry["disk"]
        status = json.loads((out / kernel.release / "status.json").read_text())
        assert status["modules_dir"] == kernel.moddir and status["image_version"].startswith(kernel.release + " ")
        assert "overlay" in status["modules_loaded"] and status["disk"]["mount"] == "/var/tmp/ovlab"
        cases = json.loads((out / kernel.release / "matrix.json").read_text())["cases"]
        assert [c["id"] for c in cases] == [f"Selftest.{n}" for n in SELFTEST_CASES[i - 1 :: 2]]
        dirs.append(str(out))
    merged = tmp_path / "merged"
    proc = subprocess.run([RUNNER, "--merge", *dirs, "--out", str(merged)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    matrix = json.loads((merged / kernel.release / "matrix.json").read_text())
    assert [c["id"] for c in matrix["cases"]] == [f"Selftest.{n}" for n in SELFTEST_CASES]
    assert matrix["summary"]["by_target"]["kernel"]["pass"] == len(SELFTEST_CASES)
    status = json.loads((merged / kernel.release / "status.json").read_text())
    assert status["status"] == "ok" and [m["part"] for m in status["merged"]] == [1, 2]
    proc = subprocess.run([os.path.join(HERE, "cross-kernel"), str(merged)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("kernel ") and kernel.release in proc.stdout


def test_pinned_versions_against_the_mirror(tmp_path):
    """No boot: a pin the mirror has resolves to its exact package; one it lacks is a one-line error."""
    from ovlab_vm import cli

    need_qemu()
    kernel = bookworm_kernel()  # the current ABI, e.g. 6.1.0-50
    abi = kernel.release[: -len("-amd64")]
    args = cli.parse_args(["--payload", "selftest", "--cache-dir", CACHE, "--out", str(tmp_path / "o"), "--kernels", abi])
    work, _, _ = cli.prepare(args)
    assert work[0][0].package == f"linux-image-{kernel.release}"
    assert os.path.basename(kernel.root).startswith(f"{work[0][0].package}_{work[0][0].package_version}_")
    proc = run(tmp_path / "p", "--kernels", "6.1.0-1")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "bookworm on " in line and " has no kernel matching 6.1.0-1; the mirror has: " in line and abi in line
    assert not (tmp_path / "p").exists() and not (tmp_path / "o").exists()


def test_panic_is_reported(tmp_path):
    need_qemu()
    kernel = bookworm_kernel()
    staging = tmp_path / "root"
    staging.mkdir()
    (staging / "not-init").write_text("no /init here, so the kernel panics\n")
    initrd = str(tmp_path / "initrd.gz")
    initramfs.pack(str(staging), initrd)
    console, data = str(tmp_path / "console.log"), str(tmp_path / "data.log")
    code, wall, _ = qemu.boot(qemu.command(kernel.vmlinuz, initrd, console, data, "tcg", 256, 1), 120)
    assert code is not None, "the panicking guest should reboot at once (panic=-1, -no-reboot)"
    assert qemu.classify_console(open(console).read()) == "panic"
    with pytest.raises(Exception, match="sent no results"):
        qemu.decode_results(open(data).read())


def test_sigterm_stops_qemu_and_leaves_nothing(tmp_path):
    need_qemu()
    import signal
    import time

    cmd = [RUNNER, "--payload", "selftest", "--cache-dir", CACHE, "--out", str(tmp_path), "--kernels", "6.1"]
    work = os.path.join(CACHE, "work")
    before = set(os.listdir(work)) if os.path.isdir(work) else set()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _qemu_pids(str(tmp_path)):
        time.sleep(0.2)
    assert _qemu_pids(str(tmp_path)), "QEMU never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    # The runner exits only after QEMU's process group has died (bounded.run).
    assert not _qemu_pids(str(tmp_path)), "QEMU survived the runner"
    assert os.listdir(tmp_path) == ["index.json"], os.listdir(tmp_path)
    assert set(os.listdir(work)) <= before, "work directories left in the cache"


def _qemu_pids(marker):
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if qemu.QEMU in cmdline and marker in cmdline:
            pids.append(int(pid))
    return pids
