from ovlab_reports import names


def test_parses_family_target_backing_params_and_flags():
    n = names.parse("lookup/fuse/xfs-reflink/depth:128/where:bottom/cold/manual_time")
    assert (n.family, n.target, n.backing) == ("lookup", "fuse", "xfs-reflink")
    assert n.params == (("depth", "128"), ("where", "bottom"))
    assert n.flags == ("cold",)
    assert n.key == "lookup/fuse/xfs-reflink/depth:128/where:bottom/cold"
    assert n.case == "lookup/xfs-reflink/depth:128/where:bottom/cold"
    assert n.int_param("depth") == 128


def test_strips_google_benchmark_suffixes_and_aggregates():
    a = names.parse("copy_up/overlay2/ext4/bytes:4096/dense/manual_time_median")
    b = names.parse("copy_up/overlay2/ext4/bytes:4096/dense/iterations:10/repeats:5/real_time")
    assert a.key == b.key == "copy_up/overlay2/ext4/bytes:4096/dense"


def test_same_case_for_different_targets():
    a = names.parse("write_heavy/overlay2/btrfs/op:random4k")
    b = names.parse("write_heavy/fuse-overlayfs/btrfs/op:random4k")
    assert a.case == b.case and a.key != b.key
    assert a.with_target("fuse-overlayfs") == b.key


def test_rejects_names_outside_the_contract():
    assert names.parse("BM_memcpy/8") is None
    assert names.parse("copy_up/bytes:1/ext4") is None


def test_target_order_follows_contract_then_alphabet():
    assert names.target_order({"zeta", "fuse", "overlay2", "alpha"}) == [
        "overlay2", "fuse", "alpha", "zeta"]


def test_drops_the_bare_argument_google_benchmark_appends():
    n = names.parse("copy_up/overlay2/ext4/bytes:4096/dense/4096/manual_time")
    assert n.key == "copy_up/overlay2/ext4/bytes:4096/dense" and n.flags == ("dense",)
