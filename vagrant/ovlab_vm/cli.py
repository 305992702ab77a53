"""Command line of vagrant/run-kernels."""

import argparse
import datetime
import os
import re
import signal
import sys

from . import aptmirror, initramfs, kernels, merge, payload, qemu, results, runner, shards
from .errors import RunnerError

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # vagrant/
REPO = os.path.dirname(HERE)
DEFAULT_KERNELS = "5.10,6.1,6.12,host"
DEFAULT_DISK_SIZE = "16G"
MIN_DISK_BYTES = 256 << 20
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise RunnerError(f"{message} (see --help)")


class _KernelImage(argparse.Action):
    """--kernel PATH: one more built kernel; its --modules DIR may follow."""

    def __call__(self, parser, namespace, value, option_string=None):
        namespace.built = (namespace.built or []) + [[value, None]]


class _KernelModules(argparse.Action):
    def __call__(self, parser, namespace, value, option_string=None):
        built = namespace.built or []
        if not built or built[-1][1] is not None:
            raise RunnerError(f"--modules {value} must follow the --kernel PATH it belongs to (--kernel P --modules D)")
        built[-1][1] = value


def parse_size(text):
    """`16G`, `512M`, `1.5T`, `0` (bytes without a unit; K/M/G/T are powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text or "", re.IGNORECASE)
    if not m:
        raise RunnerError(f"--disk-size '{text}' is not a size: pass e.g. 16G, 512M or 0 (no disk)")
    return int(float(m.group(1)) * SIZE_UNITS[m.group(2).upper()])


def parse_args(argv):
    p = _ArgumentParser(
        prog="run-kernels",
        description="Run the ovlab conformance suite (and optionally a benchmark profile) under "
        "Debian kernels and kernels you built, in QEMU, plus the host kernel; or merge the "
        "directories of a run split into shards (--merge).",
    )
    p.add_argument("--kernels", default=None,
                   help=f"comma list of 5.10, 6.1, 6.12 (the suites' current kernels), Debian versions of them "
                   f"(6.1.0-28, 6.1.119-1), host (default: {DEFAULT_KERNELS}, none when --kernel is given)")
    p.add_argument("--kernel", dest="built", action=_KernelImage, metavar="PATH", default=[],
                   help="also boot this bzImage (arch/x86/boot/bzImage), named by its uname -r; repeatable")
    p.add_argument("--modules", action=_KernelModules, metavar="DIR",
                   help="the INSTALL_MOD_PATH of the --kernel before it (make modules_install "
                   "INSTALL_MOD_PATH=DIR); without it the kernel must have what it needs built in")
    p.add_argument("--out", required=True, help="output directory: DIR/<kernel>/{matrix,bench,status}.json, console.log")
    p.add_argument("--bench", metavar="PROFILE", help="also run ovlab-bench --profile PROFILE")
    p.add_argument("--bench-filter", metavar="REGEX", help="only the benchmarks matching REGEX (--benchmark_filter)")
    p.add_argument("--payload", default="conformance", choices=["conformance", "selftest"],
                   help="conformance (ovlab-conformance from --build-dir) or selftest (the runner's own overlay checks)")
    p.add_argument("--targets", default="kernel,engine", help="conformance targets (default kernel,engine)")
    p.add_argument("--cases", metavar="FILTER",
                   help="only the conformance cases matching a GoogleTest filter (e.g. 'Metacopy*:Layers*')")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build", "release"), help="where the payload binaries are built")
    p.add_argument("--cache-dir", default=os.path.join(HERE, "cache"), help="apt state, kernel packages, work dirs")
    p.add_argument("--mirror", help="Debian mirror URI (default: read from the machine's apt sources)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per kernel before the guest is killed (default 900)")
    p.add_argument("--memory", type=int, default=2048, help="guest memory in MiB (default 2048)")
    p.add_argument("--smp", type=int, default=1, help="guest CPUs (default 1)")
    p.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto", help="auto: KVM when usable, else TCG")
    p.add_argument("--refresh", action="store_true", help="refresh the apt lists (default: reuse cached lists)")
    p.add_argument("--disk-size", default=DEFAULT_DISK_SIZE, metavar="SIZE",
                   help=f"the guest's sparse virtio scratch disk (default {DEFAULT_DISK_SIZE}; 0: none, scratch on tmpfs)")
    p.add_argument("--disk-role", choices=["scratch", "raw"], default="scratch",
                   help="scratch: ext4 on /var/tmp/ovlab for the payload's scratch images (default); "
                   "raw: left unformatted, named by OVLAB_DISK in the guest")
    p.add_argument("--shard", metavar="I/N", help="run shard I of N of the kernels x cases (and benchmarks) matrix")
    p.add_argument("--merge", nargs="+", metavar="DIR",
                   help="merge the --out directories of the shards of a run into --out (which must not exist)")
    args = p.parse_args(argv)
    if args.merge:
        given = [f"--{d.replace('_', '-')}" for d in ("kernels", "bench", "bench_filter", "cases", "shard")
                 if getattr(args, d) is not None] + (["--kernel"] if args.built else [])
        if given:
            raise RunnerError(f"--merge takes only --out (and the directories), not {' '.join(given)}")
        return args
    if args.timeout <= 0:
        raise RunnerError(f"--timeout {args.timeout:g} must be a positive number of seconds")
    if args.memory < 256:
        raise RunnerError(f"--memory {args.memory} is too small: the guest needs at least 256 MiB")
    if args.smp < 1:
        raise RunnerError(f"--smp {args.smp} must be at least 1")
    args.disk_bytes = parse_size(args.disk_size)
    if 0 < args.disk_bytes < MIN_DISK_BYTES:
        raise RunnerError(f"--disk-size {args.disk_size} is too small: at least 256M (or 0 for no disk)")
    args.shard_spec = shards.parse_shard(args.shard) if args.shard else (1, 1)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise RunnerError(f"--out {args.out} exists and is not a directory: pass a directory path")
    return args


def prepare(args):
    """Checks everything before anything is created in --out; returns ([(request, unit)], config,
    run) where run is what index.json records about the run (spec, shard)."""
    requests = []
    if args.kernels is not None or not args.built:
        requests += kernels.parse_kernel_list(DEFAULT_KERNELS if args.kernels is None else args.kernels)
    for image, modules in args.built:
        requests.append(kernels.built_kernel(image, modules))
    kernels.check_unique_labels(requests)
    index, count = args.shard_spec
    by_label = {r.label: r for r in requests}
    work = [(by_label[u.label], u) for u in shards.units_of([r.label for r in requests], index, count)]
    build_dir = os.path.abspath(args.build_dir)
    chosen = payload.build_payload(args.payload, build_dir, args.targets, args.bench, args.bench_filter,
                                    cases=args.cases)
    mine = [r for r, _ in work]
    needs_qemu = any(r.kind != kernels.HOST for r in mine) or kernels.host_kernel_image()
    mirror, accel = "", "host"
    if needs_qemu:
        qemu.check_qemu()
        initramfs.check_busybox()
        accel = args.accel if args.accel != "auto" else ("kvm" if qemu.kvm_usable() else "tcg")
    config = runner.RunConfig(
        out_dir=os.path.abspath(args.out),
        cache_dir=os.path.abspath(args.cache_dir),
        payload=chosen,
        mirror=mirror,
        accel=accel,
        timeout=args.timeout,
        memory_mb=args.memory,
        smp=args.smp,
        refresh=args.refresh,
        disk_size=args.disk_bytes,
        disk_role=args.disk_role,
    )
    if any(r.suite for r in mine):
        config.mirror = args.mirror or aptmirror.find_debian_mirror()
    for r in mine:
        if r.pin:  # a pin the mirror does not have is an argument error: one line, nothing made
            apt = aptmirror.PrivateApt(os.path.join(config.cache_dir, "apt", r.suite), config.mirror, r.suite)
            refresh = args.refresh and r.suite not in config.refreshed
            r.package, r.package_version = apt.resolve_pin(r.pin, refresh=refresh)
            if refresh:
                config.refreshed.add(r.suite)
    run = {
        "spec": {
            "payload": chosen.spec(),
            "build": payload.build_identity(chosen.binaries),
            "disk": {"size_bytes": args.disk_bytes, "role": args.disk_role},
        },
        "shard": {"index": index, "count": count, "kernels": [r.label for r in requests]},
    }
    return work, config, run


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.merge:
            signal.signal(signal.SIGTERM, _terminate)
            return merge.run(args.merge, args.out)
        work, config, run = prepare(args)
    except RunnerError as e:
        print(f"run-kernels: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run-kernels: interrupted", file=sys.stderr)
        return 130
    signal.signal(signal.SIGTERM, _terminate)
    os.makedirs(config.out_dir, exist_ok=True)
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    shard = run["shard"]
    split = f", shard {shard['index']}/{shard['count']}" if shard["count"] > 1 else ""
    print(f"run-kernels: payload {config.payload.name}, accel {config.accel}{split}, out {config.out_dir}", flush=True)
    done = []
    try:
        for request, unit in work:
            what = f" part {unit.part}/{unit.parts}" if unit.parts > 1 else ""
            print(f"run-kernels: {request.label}{what}: starting", flush=True)
            result = runner.run_kernel(request, config, unit)
            done.append(result)
            wall = f" in {result.wall_seconds:.1f}s" if result.wall_seconds is not None else ""
            detail = f": {result.error}" if result.error else ""
            print(f"run-kernels: {request.label}: {result.status}{wall}{detail}", flush=True)
            if result.disk.get("cache_note"):
                print(f"run-kernels: {request.label}: note: {result.disk['cache_note']}", flush=True)
            if result.disk.get("error"):
                print(f"run-kernels: {request.label}: note: scratch disk unused: {result.disk['error']}", flush=True)
    except KeyboardInterrupt:
        print("run-kernels: interrupted; results so far are in index.json", file=sys.stderr)
        results.write_index(config.out_dir, done, config.payload.name, created, dict(run, complete=False))
        return 130
    results.write_index(config.out_dir, done, config.payload.name, created, dict(run, complete=True))
    print()
    print(results.summary(config.out_dir, done))
    return 0 if all(r.status == "ok" for r in done) else 1
