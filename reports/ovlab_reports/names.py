"""Benchmark names as defined in bench/README.md: FAMILY/TARGET/BACKING/KEY:VALUE/.../FLAG."""

from dataclasses import dataclass

# Suffixes Google Benchmark itself appends to a name; they say how it ran, not what it measured.
_RUNNER_FLAGS = {"manual_time", "real_time", "process_time"}
_RUNNER_KEYS = {"iterations", "repeats", "threads", "min_time", "min_warmup_time"}
_AGGREGATE_SUFFIXES = ("_mean", "_median", "_stddev", "_cv")

# The order the contract lists them in; reports use it so colours and columns stay stable.
KNOWN_TARGETS = ("overlay2", "overlay", "vfs", "fuse", "engine", "fuse-overlayfs",
                 "unionfs-fuse", "btrfs", "devicemapper")
REFERENCE_TARGET = "overlay2"
# Drivers whose layers are whole trees: their first write changes a file the layer already
# holds, so their copy_up rows measure a plain write, not a copy-up.
NO_COPY_UP_TARGETS = ("vfs", "btrfs")
WHERE_ORDER = ("top", "middle", "bottom", "missing")


@dataclass(frozen=True)
class BenchName:
    family: str
    target: str
    backing: str
    params: tuple = ()  # ((key, value), ...) in name order
    flags: tuple = ()

    @property
    def key(self) -> str:
        """The canonical name: the benchmark name without Google Benchmark's own suffixes."""
        return "/".join(self._parts(self.target))

    @property
    def case(self) -> str:
        """What was measured, without the target: rows of a ratio table compare targets per case."""
        return "/".join([self.family, self.backing] + self._parts(None)[3:])

    def with_target(self, target: str) -> str:
        return "/".join(self._parts(target))

    def param(self, key: str, default=None):
        for k, v in self.params:
            if k == key:
                return v
        return default

    def int_param(self, key: str):
        value = self.param(key)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def detail(self) -> str:
        """Parameters and flags only, for table cells: 'bytes:4096/dense'."""
        return "/".join(self._parts(None)[3:])

    def _parts(self, target):
        parts = [self.family, target, self.backing]
        parts += [f"{k}:{v}" for k, v in self.params]
        parts += list(self.flags)
        return parts


def strip_aggregate(name: str) -> str:
    for suffix in _AGGREGATE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def parse(name: str):
    """Parses a benchmark name (or run_name); None when it does not follow the contract."""
    parts = [p for p in strip_aggregate(name).split("/") if p]
    kept = []
    for i, part in enumerate(parts):
        key = part.split(":", 1)[0]
        if part in _RUNNER_FLAGS or (":" in part and key in _RUNNER_KEYS):
            continue
        if i >= 3 and part.lstrip("-").isdigit():  # ->Arg(n) appends a bare "/n"
            continue
        kept.append(part)
    if len(kept) < 3 or any(":" in p for p in kept[:3]):
        return None
    params, flags = [], []
    for part in kept[3:]:
        if ":" in part:
            k, v = part.split(":", 1)
            params.append((k, v))
        else:
            flags.append(part)
    return BenchName(kept[0], kept[1], kept[2], tuple(params), tuple(flags))


def target_order(targets) -> list:
    """Known targets in contract order, then unknown ones alphabetically."""
    targets = set(targets)
    known = [t for t in KNOWN_TARGETS if t in targets]
    return known + sorted(targets - set(known))
