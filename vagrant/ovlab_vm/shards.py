"""Splitting a run into shards (--shard I/N): which kernels, and which part of each, a shard runs.

The work is kernels x parts: each kernel's payload is cut into S = ceil(N / K) parts (K kernels,
N shards), and unit u = k * S + p (kernel k, part p, 0-based) goes to shard (u mod N) + 1. So
N <= K gives each shard whole kernels, N > K cuts each kernel into S parts, every shard gets at
least one unit, and no shard gets two parts of one kernel (S <= N): it boots each of its kernels
once. A part is GoogleTest's sharding of the conformance cases (GTEST_TOTAL_SHARDS=S,
GTEST_SHARD_INDEX=p; the selftest honours them too) and the stacks of a benchmark profile
(guest/bench-part.sh). The assignment depends only on the kernel list and N, so the merge
(merge.py) recomputes it to tell what each shard should hold.
"""

import dataclasses
import re

from .errors import RunnerError


@dataclasses.dataclass(frozen=True)
class Unit:
    label: str  # the kernel
    part: int  # 1-based part of that kernel's payload
    parts: int  # how many parts the kernel's payload is cut into

    def gtest(self):
        """(index, count), 0-based, as GoogleTest's sharding variables take them."""
        return (self.part - 1, self.parts)


def parse_shard(text):
    """`I/N` (1 <= I <= N) -> (I, N)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise RunnerError(f"--shard '{text}' is not I/N: pass e.g. --shard 1/4 (shard 1 of 4)")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise RunnerError(f"--shard {index}/{count}: the shard number must be 1 to {max(count, 1)}")
    return index, count


def parts_per_kernel(kernels, count):
    return -(-count // len(kernels))  # ceil


def assign(kernels, count):
    """{shard (1-based): [Unit]} for the kernel labels `kernels` (in the order given) and N."""
    if not kernels:
        raise RunnerError("no kernels to split into shards")
    parts = parts_per_kernel(kernels, count)
    shards = {i: [] for i in range(1, count + 1)}
    for k, label in enumerate(kernels):
        for p in range(parts):
            shards[(k * parts + p) % count + 1].append(Unit(label, p + 1, parts))
    return shards


def units_of(kernels, index, count):
    """The units shard `index` of `count` runs."""
    return assign(kernels, count)[index]
