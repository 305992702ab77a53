"""Command line of vagrant/run-kernels."""

import argparse
import datetime
import os
import signal
import sys

from . import aptmirror, initramfs, kernels, payload, qemu, results, runner
from .errors import RunnerError

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # vagrant/
REPO = os.path.dirname(HERE)


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise RunnerError(f"{message} (see --help)")


def parse_args(argv):
    p = _ArgumentParser(
        prog="run-kernels",
        description="Run the ovlab conformance suite (and optionally a benchmark profile) under "
        "several Debian kernels in QEMU, plus the host kernel.",
    )
    p.add_argument("--kernels", default="5.10,6.1,6.12,host", help="comma list of 5.10, 6.1, 6.12, host (default: all)")
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
    args = p.parse_args(argv)
    if args.timeout <= 0:
        raise RunnerError(f"--timeout {args.timeout:g} must be a positive number of seconds")
    if args.memory < 256:
        raise RunnerError(f"--memory {args.memory} is too small: the guest needs at least 256 MiB")
    if args.smp < 1:
        raise RunnerError(f"--smp {args.smp} must be at least 1")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise RunnerError(f"--out {args.out} exists and is not a directory: pass a directory path")
    return args


def prepare(args):
    """Checks everything before anything is created; returns (requests, RunConfig)."""
    requests = kernels.parse_kernel_list(args.kernels)
    build_dir = os.path.abspath(args.build_dir)
    chosen = payload.build_payload(args.payload, build_dir, args.targets, args.bench, args.bench_filter,
                                    cases=args.cases)
    needs_qemu = any(r.label != kernels.HOST for r in requests) or kernels.host_kernel_image()
    mirror, accel = "", "host"
    if needs_qemu:
        qemu.check_qemu()
        initramfs.check_busybox()
        accel = args.accel if args.accel != "auto" else ("kvm" if qemu.kvm_usable() else "tcg")
    if any(r.suite for r in requests):
        mirror = args.mirror or aptmirror.find_debian_mirror()
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
    )
    return requests, config


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        requests, config = prepare(args)
    except RunnerError as e:
        print(f"run-kernels: {e}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    os.makedirs(config.out_dir, exist_ok=True)
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print(f"run-kernels: payload {config.payload.name}, accel {config.accel}, out {config.out_dir}", flush=True)
    done = []
    try:
        for request in requests:
            print(f"run-kernels: {request.label}: starting", flush=True)
            result = runner.run_kernel(request, config)
            done.append(result)
            wall = f" in {result.wall_seconds:.1f}s" if result.wall_seconds is not None else ""
            detail = f": {result.error}" if result.error else ""
            print(f"run-kernels: {request.label}: {result.status}{wall}{detail}", flush=True)
    except KeyboardInterrupt:
        print("run-kernels: interrupted; results so far are in index.json", file=sys.stderr)
        results.write_index(config.out_dir, done, config.payload.name, created)
        return 130
    results.write_index(config.out_dir, done, config.payload.name, created)
    print()
    print(results.summary(config.out_dir, done))
    return 0 if all(r.status == "ok" for r in done) else 1
