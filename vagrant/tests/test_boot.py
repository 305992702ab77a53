"""Real runs: a Debian kernel booted under QEMU (bookworm 6.1, the cheapest), the host row, and the
per-kernel failure paths (timeout, panic) that must not stop the runner."""
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


def test_panic_is_reported(tmp_path):
    need_qemu()
    mirror = aptmirror.find_debian_mirror()
    package = aptmirror.PrivateApt(os.path.join(CACHE, "apt", "bookworm"), mirror, "bookworm").fetch_kernel()
    kernel = kernels.unpack_deb(package.deb_path, os.path.join(CACHE, "kernels"))
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
