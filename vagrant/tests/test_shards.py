"""--shard I/N: which kernels and parts each shard runs."""
import pytest

from ovlab_vm import shards
from ovlab_vm.errors import RunnerError


@pytest.mark.parametrize("kernels", [["6.1"], ["5.10", "6.1"], ["5.10", "6.1", "6.12"], ["a", "b", "c", "d", "e"]])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_every_unit_once_no_kernel_twice_no_empty_shard(kernels, count):
    assignment = shards.assign(kernels, count)
    assert sorted(assignment) == list(range(1, count + 1))
    units = [u for us in assignment.values() for u in us]
    parts = shards.parts_per_kernel(kernels, count)
    assert sorted((u.label, u.part) for u in units) == sorted((k, p) for k in kernels for p in range(1, parts + 1))
    for us in assignment.values():
        assert us, "a shard with nothing to do"
        assert len({u.label for u in us}) == len(us), "a shard that boots one kernel twice"
    assert shards.assign(kernels, count) == assignment  # deterministic


def test_examples():
    assert shards.assign(["5.10", "6.1", "6.12"], 3) == {
        1: [shards.Unit("5.10", 1, 1)], 2: [shards.Unit("6.1", 1, 1)], 3: [shards.Unit("6.12", 1, 1)]}
    assert shards.units_of(["6.1"], 2, 2) == [shards.Unit("6.1", 2, 2)]
    assert shards.Unit("6.1", 2, 2).gtest() == (1, 2)


@pytest.mark.parametrize("text, message", [
    ("3/2", "the shard number must be 1 to 2"), ("0/2", "must be 1 to 2"), ("1/0", "must be 1 to 1"),
    ("x", "is not I/N"), ("1/2/3", "is not I/N"),
])
def test_bad_shards(text, message):
    with pytest.raises(RunnerError, match=message):
        shards.parse_shard(text)
    assert shards.parse_shard(" 2/4 ") == (2, 4)
