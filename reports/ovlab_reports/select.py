"""Picks the data points each plot and table needs out of benchmark runs."""

from .load import BenchRun
from .names import WHERE_ORDER, target_order

# Copy-up variants that are not "first write to a dense file, after sync"; the size plot leaves
# them out, and the rows with a forced copy strategy (strategy:NAME; the plain rows are auto).
_COPY_UP_VARIANTS = {"sparse", "second", "chmod", "chown", "truncate", "warm", "cold"}
BACKING_ORDER = ("ext4", "xfs", "xfs-reflink", "btrfs", "tmpfs")


def family(run: BenchRun, name: str) -> list:
    return run.family(name)


def backings(runs, family_name: str) -> list:
    found = {b.name.backing for run in runs for b in family(run, family_name)}
    return [x for x in BACKING_ORDER if x in found] + sorted(found - set(BACKING_ORDER))


def targets(runs, family_name: str) -> list:
    return target_order({b.name.target for run in runs for b in family(run, family_name)})


def copy_bandwidth(run: BenchRun, backing: str):
    """Bytes per second of a plain copy on the backing, measured in the same run
    (bound/copy/BACKING[/bytes:N]); of several sizes the largest, the closest to streaming."""
    best = None
    for b in family(run, "bound"):
        if (b.name.target, b.name.backing) != ("copy", backing):
            continue
        size = b.name.int_param("bytes") or 0
        rate = b.counter("bytes_per_second")
        if rate and (best is None or size > best[0]):
            best = (size, rate)
    return best[1] if best else None


def copy_up_sizes(run: BenchRun, target: str, backing: str) -> list:
    """(bytes, median ns) of dense first-write copy-ups, by size."""
    points = []
    for b in family(run, "copy_up"):
        if (b.name.target, b.name.backing) != (target, backing):
            continue
        if _COPY_UP_VARIANTS & set(b.name.flags) or b.name.int_param("bytes") is None:
            continue
        if b.name.param("strategy") is not None:
            continue
        points.append((b.name.int_param("bytes"), b.median_ns))
    return sorted(points)


def per_op_ns(bench) -> float:
    """Time of one operation: families that batch operations report 'ops' per iteration."""
    ops = bench.counter("ops")
    return bench.median_ns / ops if ops else bench.median_ns


# Where the plot looks: a name in the bottom layer and a missing name walk every layer, so they
# show how lookup scales with depth; top and middle are in the tables.
PLOTTED_WHERES = ("bottom", "missing")


def lookup_wheres(runs, plotted_only=False) -> list:
    found = {b.name.param("where") for run in runs for b in family(run, "lookup")}
    found.discard(None)
    ordered = [w for w in WHERE_ORDER if w in found] + sorted(found - set(WHERE_ORDER))
    plotted = [w for w in ordered if w in PLOTTED_WHERES]
    return plotted or ordered if plotted_only else ordered


LOOKUP_OP = "stat"  # the lookup measured warm and cold alike; op:open is warm only


def lookup_depths(run, target, backing, where, temperature) -> list:
    """(depth, ns per lookup) for one target, position of the name and cache state."""
    points = []
    for b in family(run, "lookup"):
        n = b.name
        if (n.target, n.backing) != (target, backing) or n.param("where") != where:
            continue
        if n.param("op", LOOKUP_OP) != LOOKUP_OP:
            continue
        if not n.has(temperature) or n.int_param("depth") is None:
            continue
        points.append((n.int_param("depth"), per_op_ns(b)))
    return sorted(points)


def ops_per_second(bench):
    """Operations per second: the 'ops' counter over the median time of one iteration."""
    ops = bench.counter("ops")
    return ops / (bench.median_ns / 1e9) if ops and bench.median_ns else None


def details(runs, family_name: str) -> list:
    """The parameter-and-flag parts of a family's names (profile:app/container), first-seen."""
    seen = []
    for run in runs:
        for b in family(run, family_name):
            if b.name.detail() not in seen:
                seen.append(b.name.detail())
    return seen


def find(run, family_name, target, backing, detail):
    for b in family(run, family_name):
        n = b.name
        if (n.target, n.backing) == (target, backing) and n.detail() == detail:
            return b
    return None
