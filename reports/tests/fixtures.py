"""Realistic fixture inputs, generated from the contracts (bench/README.md, conformance/README.md).

The model behind the numbers is rough but has the shape real runs have: copy-up grows with N
at the backing's bandwidth (constant on reflink backings for kernel overlay), FUSE adds a
per-call cost, cold lookups are slower than warm ones and grow with depth.
"""

import json
import random

TARGETS = ("overlay2", "overlay", "vfs", "engine", "fuse", "fuse-overlayfs", "unionfs-fuse")
BACKINGS = ("ext4", "xfs-reflink")
BANDWIDTH = {"ext4": 1.2e9, "xfs-reflink": 1.6e9, "xfs": 1.5e9, "btrfs": 1.0e9, "tmpfs": 4e9}
COPY_SIZES = (4096, 65536, 1 << 20, 16 << 20, 64 << 20)
DEPTHS = (1, 2, 4, 8, 16, 32, 64, 128)
PER_CALL_NS = {"overlay2": 9e3, "overlay": 9e3, "vfs": 6e3, "engine": 14e3, "fuse": 60e3,
               "fuse-overlayfs": 80e3, "unionfs-fuse": 110e3}
DATA_FACTOR = {"fuse": 1.3, "fuse-overlayfs": 1.5, "unionfs-fuse": 1.8}
REFLINKS = {"overlay2", "overlay", "engine", "fuse"}
DAEMONS = {"fuse", "fuse-overlayfs", "unionfs-fuse"}  # no cpu_us on their warm lookups
STRATEGY_TARGETS = {"engine", "fuse"}  # copy_up/.../strategy:NAME rows
STRATEGIES = ("clone", "copy_file_range", "io_uring", "io_uring_splice", "read_write")
LOOKUP_OPS = 1000


def _time_unit(family):
    return {"copy_up": "us", "mount": "ms"}.get(family, "ns")


def _rows(name, times_ns, unit, counters, reps_index, family_index):
    """Google Benchmark 1.7 rows for one instance: iterations, then mean/median/stddev/cv."""
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
    run_name = name + "/manual_time"
    common = {"family_index": family_index, "per_family_instance_index": reps_index,
              "run_name": run_name, "repetitions": len(times_ns), "threads": 1}
    rows = []
    for i, t in enumerate(times_ns):
        row = {"name": run_name, **common, "run_type": "iteration", "repetition_index": i,
               "iterations": 10, "real_time": t / scale, "cpu_time": t / scale * 0.3,
               "time_unit": unit}
        row.update({k: v[i] if isinstance(v, list) else v for k, v in counters.items()})
        rows.append(row)
    n = len(times_ns)
    mean = sum(times_ns) / n
    var = sum((t - mean) ** 2 for t in times_ns) / (n - 1) if n > 1 else 0.0
    median = sorted(times_ns)[n // 2] if n % 2 else sum(sorted(times_ns)[n // 2 - 1:n // 2 + 1]) / 2
    for agg, value, unit_kind in (("mean", mean, "time"), ("median", median, "time"),
                                  ("stddev", var ** 0.5, "time"),
                                  ("cv", (var ** 0.5) / mean if mean else 0, "percentage")):
        row = {"name": f"{run_name}_{agg}", **common, "run_type": "aggregate",
               "aggregate_name": agg, "aggregate_unit": unit_kind, "iterations": n,
               "real_time": value if unit_kind == "percentage" else value / scale,
               "cpu_time": 0.0, "time_unit": unit}
        row.update({k: (sum(v) / n if isinstance(v, list) else v) for k, v in counters.items()})
        rows.append(row)
    return rows


class BenchBuilder:
    def __init__(self, kernel="6.18.44", reps=5, seed=1, slow=None, noise=0.02,
                 targets=TARGETS, backings=BACKINGS, profile="default"):
        self.kernel, self.reps, self.noise = kernel, reps, noise
        self.rng = random.Random(seed)
        self.slow = slow or {}
        self.targets, self.backings, self.profile = targets, backings, profile
        self.rows = []
        self.family_index = 0

    def add(self, name, ns, counters=None, exact=None):
        """One instance; exact=list of per-repetition ns overrides the model and the noise."""
        family, target = name.split("/")[:2]
        factor = self.slow.get(target, 1.0)
        times = exact or [ns * factor * (1 + self.rng.uniform(-self.noise, self.noise))
                          for _ in range(self.reps)]
        self.rows += _rows(name, times, _time_unit(family), counters or {}, 0, self.family_index)
        self.family_index += 1

    def add_error(self, name, message):
        self.rows.append({"name": name + "/manual_time", "run_name": name + "/manual_time",
                          "run_type": "iteration", "repetitions": self.reps,
                          "repetition_index": 0, "threads": 1, "iterations": 0,
                          "real_time": 0, "cpu_time": 0, "time_unit": "ns",
                          "error_occurred": True, "error_message": message})

    def default_suite(self):
        for backing in self.backings:
            bw = BANDWIDTH[backing]
            for size in (1 << 20, 64 << 20):  # bound/copy/BACKING/bytes:N, N >= 1 MiB
                self.add(f"bound/copy/{backing}/bytes:{size}", size / bw * 1e9,
                         {"bytes": size, "bytes_per_second": bw})
            for target in self.targets:
                self._copy_up(target, backing, bw)
                self._lookup(target, backing)
                self._inodes(target, backing)
                self._write_heavy(target, backing, bw)
                for temp, mult in (("warm", 1), ("cold", 10)):
                    self.add(f"readdir/{target}/{backing}/layers:16/entries:1000/{temp}",
                             (200e3 + PER_CALL_NS[target] * 20) * mult,
                             {"ops": 1, "entries": 1000})
                for layers in (1, 16, 128):
                    self.add(f"mount/{target}/{backing}/layers:{layers}",
                             2e6 + layers * 1e5 + PER_CALL_NS[target] * 50)
                self.add(f"mount/{target}/{backing}/layers:16/op:create_container", 5e6)
        self.add_error("copy_up/devicemapper/ext4/bytes:4096/dense",
                       "devicemapper: kernel has no dm-thin target")
        return self

    def _copy_up(self, target, backing, bw):
        reflink = backing in ("xfs-reflink", "btrfs") and target in REFLINKS
        for size in COPY_SIZES:
            data_ns = 0 if reflink else size / bw * 1e9 * DATA_FACTOR.get(target, 1.0)
            if target == "vfs":  # no copy-up: writes land in the full copy
                data_ns = 0
            self.add(f"copy_up/{target}/{backing}/bytes:{size}/dense",
                     PER_CALL_NS[target] * 3 + data_ns,
                     {"bytes_copied": 0 if reflink else size, "bytes": 1})
        for variant in ("second", "chmod"):
            self.add(f"copy_up/{target}/{backing}/bytes:{1 << 20}/dense/{variant}",
                     PER_CALL_NS[target] * 2, {"bytes_copied": 0, "bytes": 0})
        self.add(f"copy_up/{target}/{backing}/bytes:{1 << 20}/sparse",
                 PER_CALL_NS[target] * 4, {"bytes_copied": 4096, "bytes": 1})
        size = 64 << 20
        data_ns = 0 if reflink or target == "vfs" else size / bw * 1e9
        # cold: the lower file read from the device too; warm: the name looked up already.
        self.add(f"copy_up/{target}/{backing}/bytes:{size}/dense/cold",
                 PER_CALL_NS[target] * 20 + data_ns * 2,
                 {"bytes_copied": 0 if reflink else size, "bytes": 1})
        self.add(f"copy_up/{target}/{backing}/bytes:{size}/dense/warm",
                 PER_CALL_NS[target] * 2 + data_ns,
                 {"bytes_copied": 0 if reflink else size, "bytes": 1})
        if target in STRATEGY_TARGETS:
            for strategy in STRATEGIES:
                if strategy == "clone" and backing not in ("xfs-reflink", "btrfs"):
                    continue
                clones = strategy == "clone" or (strategy == "copy_file_range" and reflink)
                # 10x the auto row's time: a size plot that took these in would show it.
                self.add(f"copy_up/{target}/{backing}/bytes:{size}/strategy:{strategy}/dense",
                         (PER_CALL_NS[target] * 3 + (0 if clones else size / bw * 1e9)) * 10,
                         {"bytes_copied": 0 if clones else size, "bytes": 1})

    def _lookup(self, target, backing):
        for depth in DEPTHS:
            for where in ("top", "middle", "bottom", "missing"):
                levels = {"top": 1, "middle": depth // 2 + 1}.get(where, depth)
                per_op = PER_CALL_NS[target] / 10 + 300 * levels
                for op, temp, mult, ops in (("stat", "warm", 1, LOOKUP_OPS),
                                            ("open", "warm", 1.6, LOOKUP_OPS),
                                            ("stat", "cold", 25, 1)):
                    counters = {"ops": ops}
                    if temp == "warm" and target not in DAEMONS:
                        counters["cpu_us"] = per_op * mult * 0.9 / 1e3
                    self.add(f"lookup/{target}/{backing}/depth:{depth}/where:{where}/op:{op}/"
                             f"{temp}", per_op * mult * ops, counters)

    def _inodes(self, target, backing):
        per_layer = {"vfs": 4000, "overlay": 900}.get(target, 60)
        for profile, layers in (("distro", 1), ("app", 5)):
            for container in (False, True):
                expected = 4000 + per_layer * (layers - 1) + (12 if container else 0)
                self.add(f"inode_usage/{target}/{backing}/profile:{profile}"
                         + ("/container" if container else ""), 5e8,
                         {"inodes": expected + 3, "inodes_expected": expected,
                          "bytes_used": expected * 4096.0, "bytes_expected": expected * 4096.0})

    def _write_heavy(self, target, backing, bw):
        size = 64 << 20
        ns = size / (bw * 0.3) * 1e9 + PER_CALL_NS[target] * 200
        self.add(f"write_heavy/{target}/{backing}/op:random4k/bytes:{size}", ns,
                 {"bytes": size, "ops": size // 4096, "bytes_per_second": size / ns * 1e9})
        for op, ops, per_op in (("create/files:2000", 2000, 20e3), ("append/files:500/depth:14",
                                                                     500, 60e3),
                                ("fsync/writes:64", 64, 2e6)):
            self.add(f"write_heavy/{target}/{backing}/op:{op}",
                     ops * (per_op + PER_CALL_NS[target]), {"ops": ops})
        self.add(f"write_heavy/{target}/{backing}/op:create_unlink/files:1000",
                 2000 * (15e3 + PER_CALL_NS[target]), {"ops": 2000})
        for op, rate in (("seqwrite", bw), ("seqread", bw * 4), ("seqread_direct", bw * 2)):
            if op == "seqread_direct" and target == "unionfs-fuse":
                continue  # its O_DIRECT reads fail (EINVAL): ovlab-bench has no such row
            ns = size / rate * 1e9 + PER_CALL_NS[target] * 64
            self.add(f"write_heavy/{target}/{backing}/op:{op}/bytes:{size}", ns,
                     {"ops": 64, "bytes": size, "bytes_per_second": size / ns * 1e9})

    def json(self):
        context = {
            "date": "2026-11-28T06:00:00+00:00", "host_name": "ovlab-test", "executable":
            "./ovlab-bench", "num_cpus": 2, "mhz_per_cpu": 2400, "cpu_scaling_enabled": False,
            "caches": [{"type": "Data", "level": 1, "size": 32768, "num_sharing": 1}],
            "load_avg": [0.5, 0.4, 0.3], "library_build_type": "release",
            "ovlab_version": "0.1.0", "kernel": self.kernel,
            "distribution": "Debian GNU/Linux 12 (bookworm)", "cpu": "Test CPU @ 2.40GHz",
            "profile": self.profile, "emulated": "false",
            "backing.ext4": "mkfs.ext4 -F -q (2 GiB loop)",
            "backing.xfs-reflink": "mkfs.xfs -f -m reflink=1 -n ftype=1 (2 GiB loop)",
            "target.overlay2": "kernel overlay, redirect_dir=off, index=off",
            "target.fuse": "fuse driver (ovlab-fuse); options: defaults",
            "target.fuse-overlayfs": "fuse-overlayfs 1.10",
            "target.unionfs-fuse": "unionfs-fuse 3.3",
        }
        return {"context": context, "benchmarks": self.rows}

    def write(self, path):
        path.write_text(json.dumps(self.json(), indent=1))
        return path


def matrix(kernel="6.18.44", deviate="fuse-overlayfs"):
    """A conformance matrix as conformance/README.md documents it (ovlab.conformance.matrix/1).

    engine fails the whiteout case; the peer `deviate` has a known deviation on a rename case;
    ovlab-fuse is not built, so all its cases are skipped."""
    targets = [
        {"name": "kernel", "role": "oracle", "version": kernel,
         "options": "redirect_dir=off,index=off,metacopy=off", "available": True,
         "skip_reason": ""},
        {"name": "engine", "role": "must-match", "version": "0.1.0", "options": "",
         "available": True, "skip_reason": ""},
        {"name": "fuse", "role": "must-match", "version": "", "options": "", "available": False,
         "skip_reason": "ovlab-fuse was not built in this build"},
        {"name": deviate, "role": "peer", "version": "1.10", "options": "allow_other",
         "available": True, "skip_reason": ""},
    ]
    cases = []
    for family, ids, checklist in (("lookup", ("upper_wins", "lowerdir_order"), ["LK1", "LK2"]),
                                   ("whiteout", ("char_whiteout",), ["WO1"]),
                                   ("rename", ("dir_rename_exdev",), ["RN1"]),
                                   ("open", ("chmod_copies_up",), ["CU1"])):
        for case_id in ids:
            results = {}
            for t in (x["name"] for x in targets):
                line = f"stat /{case_id} = ok"
                result = {"verdict": "pass", "reason": "", "options": "",
                          "observed": [line], "expected": [line]}
                if t == "fuse":
                    result = {"verdict": "skip", "reason": "ovlab-fuse was not built",
                              "options": "", "observed": [], "expected": []}
                elif t == deviate and case_id == "dir_rename_exdev":
                    result.update(verdict="known-deviation", observed=["rename /d /e = ok"],
                                  reason="copies the whole tree: kernel: rename /d /e = EXDEV"
                                         " | target: rename /d /e = ok")
                elif t == "engine" and case_id == "char_whiteout":
                    result.update(verdict="fail", observed=["view /wh = file"],
                                  reason="kernel: view /wh = ENOENT | target: view /wh = file")
                results[t] = result
            cases.append({"id": f"{family.title()}/{case_id}", "family": family,
                          "checklist": checklist, "description": f"{case_id} on every target",
                          "results": results})
    return {"schema": "ovlab.conformance.matrix/1", "generated_utc": "2026-11-28T07:00:00Z",
            "ovlab_version": "0.1.0",
            "kernel": {"release": kernel, "version": "#1 SMP", "machine": "x86_64"},
            "backing": "tmpfs", "targets": targets, "summary": {}, "cases": cases}


def write_json(path, data):
    path.write_text(json.dumps(data, indent=1))
    return path


def quick(**kw):
    """A small suite (three targets, one backing) for tests that do not need every target."""
    kw.setdefault("targets", ("overlay2", "engine", "fuse-overlayfs"))
    kw.setdefault("backings", ("ext4",))
    return BenchBuilder(**kw).default_suite()
