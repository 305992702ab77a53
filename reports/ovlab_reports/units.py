"""Human-readable numbers for tables and axis ticks."""

import math

_TIME_UNITS_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def to_ns(value: float, unit: str) -> float:
    if unit not in _TIME_UNITS_NS:
        raise ValueError(f"unknown time_unit {unit!r}")
    return value * _TIME_UNITS_NS[unit]


TIME_UNITS_NS = (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0))
BYTE_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1))


def pick_unit(value, units):
    """The largest (name, scale) of `units` (largest first) that keeps value >= 1."""
    for unit, scale in units:
        if abs(value) >= scale:
            return unit, scale
    return units[-1]


def fmt_time_ns(ns) -> str:
    if ns is None or not math.isfinite(ns):
        return "–"
    unit, scale = pick_unit(ns, TIME_UNITS_NS)
    return f"{ns / scale:.3g} {unit}"


def fmt_bytes(n) -> str:
    if n is None:
        return "–"
    unit, scale = pick_unit(n, BYTE_UNITS)
    return f"{n / scale:.4g} {unit}"


def fmt_rate(bytes_per_second) -> str:
    if bytes_per_second is None:
        return "–"
    return fmt_bytes(bytes_per_second) + "/s"


def fmt_count(n) -> str:
    if n is None:
        return "–"
    return f"{n:,.0f}" if abs(n) >= 100 else f"{n:.3g}"


def fmt_ratio(r) -> str:
    if r is None or not math.isfinite(r):
        return "–"
    if r >= 100:
        return f"{r:.0f}×"
    if 0 < r < 0.1:  # keep two significant digits: 0.00× would read as "free"
        return f"{r:.2g}×"
    return f"{r:.2f}×"
