"""One kernel run: fetch (or take the built image), build the initramfs, boot, collect; or run on
the host directly."""

import dataclasses
import json
import os
import shutil
import tempfile

from . import aptmirror, bounded, initramfs, kernels, kmodules, merge, qemu, results
from .errors import RunnerError
from .payload import GUEST_DIR

# Exit status /init reports when the overlay filesystem is unavailable after loading modules.
GUEST_NO_OVERLAY = 125
# Sparse: costs only what the guest writes.
RESULTS_DISK_MB = 1024
# Guest files kept beside the results (logs of each step, module report, dmesg).
GUEST_LOGS_DIR = "guest"


@dataclasses.dataclass
class RunConfig:
    out_dir: str
    cache_dir: str
    payload: object  # payload.Payload
    mirror: str  # "" when no Debian kernel is requested
    accel: str  # kvm | tcg
    timeout: float
    memory_mb: int
    smp: int
    refresh: bool = False  # refresh the apt lists of a suite before its first fetch
    disk_size: int = 0  # bytes of the guest's second (scratch) disk; 0: none
    disk_role: str = "scratch"  # scratch (ext4 on /var/tmp/ovlab) | raw (OVLAB_DISK for the payload)
    refreshed: set = dataclasses.field(default_factory=set)  # suites whose lists this run refreshed


def run_kernel(request, config, unit=None):
    """Runs one requested kernel (or one part of its payload: unit, a shards.Unit); never raises
    RunnerError (it becomes the result's error)."""
    result = results.KernelResult(kernel=request.label, suite=request.suite, pin=request.pin,
                                  image=request.image, image_version=request.image_version,
                                  source_tree=request.source_tree, git_describe=request.git_describe)
    if unit:
        result.part = {"part": unit.part, "parts": unit.parts}
    part = unit.gtest() if unit and unit.parts > 1 else None
    final = os.path.join(config.out_dir, request.label)
    staging_out = tempfile.mkdtemp(prefix=f".{request.label}.", dir=config.out_dir)
    try:
        try:
            if request.kind == "host":
                _run_host(result, config, staging_out, part)
            elif request.kind == "built":
                _boot(result, config, staging_out, request.image, request.modules or None, part)
            else:
                _run_debian(result, request, config, staging_out, part)
        except RunnerError as e:
            result.error = str(e)
        _finish_outputs(result, config, staging_out)
        results.write_json(os.path.join(staging_out, "status.json"), result.to_json())
        shutil.rmtree(final, ignore_errors=True)
        os.rename(staging_out, final)
    finally:
        shutil.rmtree(staging_out, ignore_errors=True)
    return result


def _run_debian(result, request, config, out, part):
    apt = aptmirror.PrivateApt(os.path.join(config.cache_dir, "apt", request.suite), config.mirror, request.suite)
    refresh = config.refresh and request.suite not in config.refreshed
    pinned = (request.package, request.package_version) if request.pin else None
    try:
        package = apt.fetch_kernel(refresh=refresh, package=pinned)
    except RunnerError as e:
        result.status = "fetch-error"
        raise RunnerError(f"fetching the {request.suite} kernel: {e}") from None
    config.refreshed.add(request.suite)
    result.package, result.package_version = package.name, package.version
    unpacked = kernels.unpack_deb(package.deb_path, os.path.join(config.cache_dir, "kernels"))
    _boot(result, config, out, unpacked.vmlinuz, unpacked.moddir, part)


def _run_host(result, config, out, part):
    image = kernels.host_kernel_image()
    if image:
        _boot(result, config, out, image, f"/lib/modules/{os.uname().release}", part)
    else:
        _run_directly(result, config, out, part)


def _plan_modules(result, moddir):
    """(tree, index, order) of the modules to load; tree None when the kernel has no modules
    directory (--kernel without --modules: /init then finds out what is built in)."""
    if moddir is None:
        return None, {}, []
    result.modules_dir = moddir
    tree = kmodules.ModuleTree(moddir)
    try:
        index, order, builtin, missing = tree.plan()
    except RunnerError:
        result.status = "missing-module"
        raise
    result.modules_builtin, result.modules_missing = builtin, missing
    return tree, index, order


def _scratch_disk(result, config, work, env):
    """Creates the guest's sparse scratch disk in `work`; returns (path, QEMU cache mode)."""
    if not config.disk_size:
        return None, "none"
    path = os.path.join(work, "scratch.img")
    qemu.make_scratch_disk(path, config.disk_size)
    cache, note = qemu.direct_io_cache_mode(path)
    result.disk = {"size_bytes": config.disk_size, "cache": cache, "cache_note": note, "role": config.disk_role}
    env.update(OVLAB_DISK_SERIAL=qemu.SCRATCH_SERIAL, OVLAB_DISK_ROLE=config.disk_role)
    return path, cache


def _boot(result, config, out, vmlinuz, moddir, part):
    tree, index, order = _plan_modules(result, moddir)
    result.accel, result.emulated, result.how = config.accel, config.accel != "kvm", "qemu"
    work = tempfile.mkdtemp(prefix="boot-", dir=_work_dir(config))
    try:
        initrd = os.path.join(work, "initrd.gz")
        env = {"OVLAB_EMULATED": "1" if result.emulated else "0", "OVLAB_VM_ACCEL": config.accel}
        env.update(config.payload.guest_env(initramfs.GUEST_BIN_DIR))
        scratch, cache = _scratch_disk(result, config, work, env)
        initramfs.build(os.path.join(work, "root"), initrd, config.payload, tree, order, index, env, part)
        console, data = os.path.join(out, "console.log"), os.path.join(work, "data.log")
        disk = os.path.join(work, "results.img")
        qemu.make_results_disk(disk, RESULTS_DISK_MB)
        cmd = qemu.command(vmlinuz, initrd, console, data, config.accel, config.memory_mb, config.smp, disk,
                           scratch, cache)
        code, wall, qemu_out = qemu.boot(cmd, config.timeout)
        result.wall_seconds = round(wall, 2)
        console_text = _read_text(console)
        if code is None:
            result.status = "timeout"
            raise RunnerError(f"no result within the {config.timeout:.0f}s timeout (see console.log)")
        try:
            blob = qemu.read_disk_results(disk) or qemu.decode_results(_read_text(data))
        except RunnerError as e:
            result.status = qemu.classify_console(console_text) or "no-result"
            detail = "kernel panic" if result.status == "panic" else f"qemu exit {code}"
            last = qemu_out.strip().splitlines()[-1:] or [""]
            raise RunnerError(f"{e}; {detail} {last[0]}".strip() + " (see console.log)") from None
        guest = os.path.join(work, "results")
        os.makedirs(guest)
        qemu.extract_results(blob, guest)
        _collect(result, guest, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_directly(result, config, out, part):
    """No host kernel image to boot: run the payload here, in a private mount namespace."""
    result.accel, result.emulated, result.how = "host", False, "run directly on the host (unshare -m)"
    result.release = os.uname().release
    scratch_dir = os.environ.get("OVLAB_SCRATCH_DIR") or "/var/tmp/ovlab"
    result.disk = {"how": "host", "describe": f"host: {host_fs_type(scratch_dir)} at {scratch_dir} (run directly on the host)"}
    work = tempfile.mkdtemp(prefix="host-", dir=_work_dir(config))
    try:
        bin_dir, guest = os.path.join(work, "bin"), os.path.join(work, "results")
        os.makedirs(bin_dir)
        os.makedirs(guest)
        for name, src in config.payload.binaries.items():
            os.symlink(os.path.abspath(src), os.path.join(bin_dir, name))
        steps = os.path.join(work, "steps.sh")
        with open(steps, "w", encoding="utf-8") as f:
            f.write(config.payload.steps_script(part))
        cmd = ["unshare", "-m", "--propagation", "private", "sh", os.path.join(GUEST_DIR, "run-payload.sh")]
        cmd += [steps, guest, bin_dir]
        with open(os.path.join(out, "console.log"), "wb") as log:
            code, wall, _ = bounded.run(cmd, config.timeout, stdout=log)
        result.wall_seconds = round(wall, 2)
        if code is None:
            result.status = "timeout"
            raise RunnerError(f"the payload did not finish within the {config.timeout:.0f}s timeout")
        with open(os.path.join(guest, "exit.txt"), "w") as f:
            f.write(f"{code}\n")
        with open(os.path.join(guest, "uname.txt"), "w") as f:
            f.write(result.release + "\n")
        _collect(result, guest, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _collect(result, guest, out):
    """Moves result files to out/, logs to out/guest/, and sets status from the exit code."""
    result.release = _read_text(os.path.join(guest, "uname.txt")).strip() or result.release
    if result.disk and result.disk.get("how") != "host":
        seen = results.parse_disk(_read_text(os.path.join(guest, "disk.txt")))
        result.disk.update(seen or {"error": "the guest wrote no disk.txt"})
    result.steps = results.parse_steps(_read_text(os.path.join(guest, "steps.txt")))
    result.modules_loaded, result.modules_failed = results.parse_modules(_read_text(os.path.join(guest, "modules.txt")))
    exit_text = _read_text(os.path.join(guest, "exit.txt")).strip()
    result.exit_code = int(exit_text) if exit_text.lstrip("-").isdigit() else None
    merge.join_bench_runs(guest)
    for name in (results.RESULT_FILES["matrix"], results.RESULT_FILES["bench"]):
        src = os.path.join(guest, name)
        if os.path.isfile(src):
            shutil.move(src, os.path.join(out, name))
    shutil.copytree(guest, os.path.join(out, GUEST_LOGS_DIR))
    if result.exit_code == 0:
        result.status = "ok"
    elif result.exit_code == GUEST_NO_OVERLAY:
        failed = ", ".join(f"{m['name']}: {m['error']}" for m in result.modules_failed) or "none failed"
        result.status = "missing-module"
        raise RunnerError(f"overlay is not available in the guest (module load errors: {failed})")
    else:
        result.status = "failed"
        bad = [s for s in result.steps if s["exit_code"] != 0]
        what = f"step {bad[0]['name']} exited {bad[0]['exit_code']}" if bad else f"payload exited {result.exit_code}"
        raise RunnerError(f"{what} (see {GUEST_LOGS_DIR}/{bad[0]['name'] if bad else 'steps'}.log)")


def _finish_outputs(result, config, out):
    """Describes the disk, and labels timings of the run (emulated or not, on what disk) in the
    benchmark JSON's context."""
    if result.disk or result.how == "qemu":
        result.disk["describe"] = results.describe_disk(result.disk)
    bench = os.path.join(out, results.RESULT_FILES["bench"])
    if not os.path.isfile(bench):
        return
    try:
        with open(bench, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return
    if isinstance(data, dict) and isinstance(data.get("context"), dict):
        ctx = data["context"]  # bench/README.md: context values are strings
        ctx.setdefault("kernel", result.release)
        ctx["vm_kernel"] = result.kernel
        ctx["vm_accel"] = result.accel
        ctx["vm_disk"] = result.disk.get("describe", "")
        ctx["emulated"] = "true" if result.emulated else "false"
        if result.package:
            ctx["vm_kernel_package"] = f"{result.package} {result.package_version}"
        if result.git_describe:
            ctx["vm_kernel_git"] = result.git_describe
        if result.part.get("parts", 1) > 1:
            ctx["vm_part"] = f"{result.part['part']}/{result.part['parts']}"
        if result.emulated:
            ctx["timing_note"] = "guest under QEMU software emulation (TCG): timings are not comparable to native runs"
        results.write_json(bench, data)


def host_fs_type(path):
    """The file system type of the mount holding path (the longest mount point above it)."""
    best, fstype = "", "unknown"
    try:
        with open("/proc/self/mounts", encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                mnt = fields[1].replace("\\040", " ")
                inside = path == mnt or path.startswith(mnt.rstrip("/") + "/")
                if inside and len(mnt) >= len(best):
                    best, fstype = mnt, fields[2]
    except OSError:
        pass
    return fstype


def _work_dir(config):
    path = os.path.join(config.cache_dir, "work")
    os.makedirs(path, exist_ok=True)
    return path


def _read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""
