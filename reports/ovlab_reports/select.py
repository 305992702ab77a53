"""Picks the data points each plot and table needs out of benchmark runs."""

from .load import BenchRun
from .names import WHERE_ORDER, target_order

# Copy-up variants that are not "first write to a dense file"; the size plot leaves them out.
_COPY_UP_VARIANTS = {"sparse", "second", "chmod", "chown"}
BACKING_ORDER = ("ext4", "xfs", "xfs-reflink", "btrfs", "tmpfs")


def family(run: BenchRun, name: str) -> list:
    return [b for b in run.valid() if b.name.family == name]


def backings(runs, family_name: str) -> list:
    found = {b.name.backing for run in runs for b in family(run, family_name)}
    return [x for x in BACKING_ORDER if x in found] + sorted(found - set(BACKING_ORDER))


def targets(runs, family_name: str) -> list:
    return target_order({b.name.target for run in runs for b in family(run, family_name)})


def copy_bandwidth(run: BenchRun, backing: str):
    """Bytes per second of a plain copy on the backing, measured in the same run."""
    bench = run.benches.get(f"bound/copy/{backing}")
    if bench is None or bench.error is not None:
        return None
    return bench.counter("bytes_per_second")


def copy_up_sizes(run: BenchRun, target: str, backing: str) -> list:
    """(bytes, median ns) of dense first-write copy-ups, by size."""
    points = []
    for b in family(run, "copy_up"):
        if (b.name.target, b.name.backing) != (target, backing):
            continue
        if _COPY_UP_VARIANTS & set(b.name.flags) or b.name.int_param("bytes") is None:
            continue
        points.append((b.name.int_param("bytes"), b.median_ns))
    return sorted(points)


def per_op_ns(bench) -> float:
    """Time of one operation: families that batch operations report 'ops' per iteration."""
    ops = bench.counter("ops")
    return bench.median_ns / ops if ops else bench.median_ns


def lookup_wheres(runs) -> list:
    found = {b.name.param("where") for run in runs for b in family(run, "lookup")}
    found.discard(None)
    return [w for w in WHERE_ORDER if w in found] + sorted(found - set(WHERE_ORDER))


def lookup_depths(run, target, backing, where, temperature) -> list:
    """(depth, ns per lookup) for one target, position of the name and cache state."""
    points = []
    for b in family(run, "lookup"):
        n = b.name
        if (n.target, n.backing) != (target, backing) or n.param("where") != where:
            continue
        if not n.has(temperature) or n.int_param("depth") is None:
            continue
        points.append((n.int_param("depth"), per_op_ns(b)))
    return sorted(points)


def throughput(bench):
    """Bytes per second of a write-heavy run: the counter, else bytes over the median time."""
    rate = bench.counter("bytes_per_second")
    if rate:
        return rate
    size = bench.counter("bytes")
    return size / (bench.median_ns / 1e9) if size and bench.median_ns else None


def params_of(runs, family_name: str, key: str) -> list:
    """Values of one parameter in first-seen order (profiles, ops)."""
    seen = []
    for run in runs:
        for b in family(run, family_name):
            value = b.name.param(key)
            if value is not None and value not in seen:
                seen.append(value)
    return seen


def find(run, family_name, target, backing, key, value):
    for b in family(run, family_name):
        n = b.name
        if (n.target, n.backing) == (target, backing) and n.param(key) == value:
            return b
    return None
