"""Per-kernel status, DIR/index.json for reports/, and the summary printed at the end."""

import dataclasses
import json
import os
import re

INDEX_SCHEMA = "ovlab-kernels/1"
MAX_DIFF_LINES = 30  # the summary is for a terminal; the report has the full matrix
# Files a kernel run may leave in DIR/<kernel>/, by role (index.json lists those that exist).
RESULT_FILES = {"matrix": "matrix.json", "bench": "bench.json", "console": "console.log", "status": "status.json"}


@dataclasses.dataclass
class KernelResult:
    kernel: str  # the label: 5.10, 6.1, 6.12, a pinned version (6.1.0-28), host, a built kernel's uname -r
    status: str = "error"  # ok | failed | timeout | panic | missing-module | no-result | fetch-error | error
    error: str = ""
    suite: str = ""
    pin: str = ""  # the Debian version prefix asked for (--kernels 6.1.0-28)
    package: str = ""
    package_version: str = ""  # the exact Debian package version booted
    image: str = ""  # --kernel PATH
    image_version: str = ""  # its bzImage version string
    modules_dir: str = ""  # lib/modules/<release> the guest's modules came from
    source_tree: str = ""  # the git tree a --kernel image was built in
    git_describe: str = ""  # its `git describe --tags --always --dirty`
    release: str = ""  # uname -r seen by the payload
    exit_code: object = None
    wall_seconds: object = None
    accel: str = ""  # kvm | tcg | host
    emulated: bool = False
    how: str = ""  # "qemu" or "run directly on the host (unshare -m)"
    modules_loaded: list = dataclasses.field(default_factory=list)
    modules_failed: list = dataclasses.field(default_factory=list)
    modules_builtin: list = dataclasses.field(default_factory=list)
    modules_missing: list = dataclasses.field(default_factory=list)
    steps: list = dataclasses.field(default_factory=list)
    # The guest's second disk: size_bytes, cache, cache_note, role, device, fs, mount, error, describe.
    disk: dict = dataclasses.field(default_factory=dict)
    # Which part of this kernel's payload ran: {"part": p, "parts": S} (1-based; 1 of 1 = all).
    part: dict = dataclasses.field(default_factory=lambda: {"part": 1, "parts": 1})

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data):
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def parse_disk(text):
    """The guest's disk.txt, `role=scratch device=/dev/vdb fs=ext4 mount=/var/tmp/ovlab` or
    `role=… device=… error=MESSAGE…` (error runs to the end of the line) -> dict."""
    line = (text.strip().splitlines() or [""])[0]
    m = re.search(r"(?:^| )error=(.*)$", line)
    out = dict(w.split("=", 1) for w in (line[: m.start()] if m else line).split() if "=" in w)
    if m:
        out["error"] = m.group(1).strip()
    return out


def describe_disk(disk):
    """One line for bench.json's vm_disk and index.json: what the guest's scratch and disk were."""
    if not disk:
        return "none: the guest's scratch is tmpfs (--disk-size 0)"
    if disk.get("how") == "host":
        return disk.get("describe", "host")
    size = disk.get("size_bytes", 0)
    human = f"{size / (1 << 30):g} GiB" if size >= 1 << 30 else f"{size / (1 << 20):g} MiB"
    what = f"virtio-blk {human} sparse raw image, cache={disk.get('cache', '?')}"
    if disk.get("error"):
        return f"{what}; unused ({disk['error']}); the guest's scratch is tmpfs"
    if disk.get("role") == "raw":
        return f"{what}; raw {disk.get('device', '?')} (OVLAB_DISK); the guest's scratch is tmpfs"
    if disk.get("mount"):
        return f"{what}; {disk.get('fs', '?')} on {disk.get('device', '?')} at {disk['mount']}"
    return what


def parse_steps(text):
    """steps.txt lines `NAME EXIT SECONDS` -> [{name, exit_code, seconds}]."""
    steps = []
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3:
            steps.append({"name": words[0], "exit_code": int(words[1]), "seconds": float(words[2])})
    return steps


def parse_modules(text):
    """modules.txt lines `NAME loaded` / `NAME failed MESSAGE` -> (loaded, [{name, error}])."""
    loaded, failed = [], []
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if rest == "loaded":
            loaded.append(name)
        elif rest.startswith("failed"):
            failed.append({"name": name, "error": rest[len("failed") :].strip()})
    return loaded, failed


def case_statuses(matrix):
    """{(case id, target): verdict} of a conformance matrix (conformance/README.md)."""
    out = {}
    for case in matrix.get("cases", []):
        for target, result in (case.get("results") or {}).items():
            result = result or {}
            out[(case.get("id"), target)] = result.get("verdict", result.get("status"))
    return out


def differing_cases(matrices):
    """[(case, target, {kernel: status})] where kernels disagree; matrices: {kernel: matrix}."""
    table = {}
    for kernel, matrix in matrices.items():
        for key, status in case_statuses(matrix).items():
            table.setdefault(key, {})[kernel] = status
    diffs = []
    for (case, target), by_kernel in sorted(table.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        complete = {k: by_kernel.get(k, "absent") for k in matrices}
        if len(set(complete.values())) > 1:
            diffs.append((case, target, complete))
    return diffs


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def index_entry(out_dir, r):
    files = {}
    for role, name in RESULT_FILES.items():
        if os.path.isfile(os.path.join(out_dir, r.kernel, name)):
            files[role] = f"{r.kernel}/{name}"
    entry = {
        "kernel": r.kernel,
        "dir": r.kernel,
        "release": r.release,
        "status": r.status,
        "error": r.error,
        "wall_seconds": r.wall_seconds,
        "accel": r.accel,
        "emulated": r.emulated,
        "disk": r.disk.get("describe", ""),
        "part": r.part,
        "files": files,
    }
    if r.suite:
        entry.update(suite=r.suite, package=r.package, package_version=r.package_version)
    if r.pin:
        entry["pin"] = r.pin
    if r.image:
        entry.update(image=r.image, git_describe=r.git_describe)
    return entry


def write_index(out_dir, results, payload_name, created, run=None):
    """DIR/index.json. run: what identifies the run (spec, shard, complete: see README)."""
    kernels = [index_entry(out_dir, r) for r in results]
    index = {"schema": INDEX_SCHEMA, "created": created, "payload": payload_name}
    index.update(run or {})
    index["kernels"] = kernels
    write_json(os.path.join(out_dir, "index.json"), index)
    return index


def load_matrices(out_dir, results):
    matrices = {}
    for r in results:
        path = os.path.join(out_dir, r.kernel, RESULT_FILES["matrix"])
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as f:
                    matrices[r.kernel] = json.load(f)
            except (OSError, ValueError):
                pass
    return matrices


def common_failure(matrix):
    """(count, reason) of the most frequent failure reason, paths elided; None when none failed."""
    reasons = {}
    for case in matrix.get("cases", []):
        for result in (case.get("results") or {}).values():
            result = result or {}
            if result.get("verdict", result.get("status")) == "fail":
                reason = re.sub(r"/\S+", "<path>", str(result.get("reason", "")))[:160]
                reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return None
    reason = max(reasons, key=reasons.get)
    return reasons[reason], reason


def count_statuses(matrix):
    counts = {}
    for status in case_statuses(matrix).values():
        counts[status] = counts.get(status, 0) + 1
    return counts


def summary(out_dir, results):
    """The table printed at the end: one row per kernel, then the cases that differ."""
    matrices = load_matrices(out_dir, results)
    header = ("kernel", "release", "status", "exit", "wall s", "accel", "results", "error")
    rows = []
    for r in results:
        counts = count_statuses(matrices[r.kernel]) if r.kernel in matrices else {}
        tally = " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "-"
        wall = f"{r.wall_seconds:.1f}" if isinstance(r.wall_seconds, (int, float)) else "-"
        exit_code = "-" if r.exit_code is None else str(r.exit_code)
        rows.append((r.kernel, r.release or "-", r.status, exit_code, wall, r.accel or "-", tally, r.error))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header) - 1)]
    lines = []
    for row in [header] + rows:
        cells = [str(c).ljust(w) for c, w in zip(row, widths)]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    failures = [(k, common_failure(m)) for k, m in matrices.items()]
    failures = [(k, f) for k, f in failures if f]
    if failures:
        lines.append("")
        lines.append("most common failure per kernel:")
        for kernel, (count, reason) in failures:
            lines.append(f"  {kernel}: {count}× {reason}")
    diffs = differing_cases(matrices) if len(matrices) > 1 else []
    if len(matrices) > 1:
        lines.append("")
        lines.append(f"cases whose result differs between kernels: {len(diffs)}")
        for case, target, by_kernel in diffs[:MAX_DIFF_LINES]:
            lines.append(f"  {case} [{target}]: " + ", ".join(f"{k}={v}" for k, v in by_kernel.items()))
        if len(diffs) > MAX_DIFF_LINES:
            lines.append(f"  … {len(diffs) - MAX_DIFF_LINES} more: the cross-kernel report (reports/) lists them all")
    if any(r.emulated for r in results):
        lines.append("")
        lines.append("note: guests ran under software emulation (TCG); their timings are not comparable to the host's")
    return "\n".join(lines)
