"""Every plot is a valid, non-empty PNG that matplotlib actually drew into."""

import matplotlib.image
import numpy as np
import pytest

import fixtures
from ovlab_reports import load, plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED = {"copy_up", "lookup", "inode_usage", "write_heavy"}


def assert_drawn_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    assert head == PNG_SIGNATURE, f"{path} is not a PNG"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    rgb = (pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(rgb, axis=0)
    # A blank or failed figure has a handful of colours; lines, bars and text have many.
    assert len(colours) > 50, f"{path}: only {len(colours)} colours, nothing drawn"
    non_white = np.any(rgb < 250, axis=1).mean()
    assert non_white > 0.02, f"{path}: {non_white:.1%} of pixels drawn"


@pytest.mark.parametrize("kernels", [["6.18.44"], ["6.18.44", "6.1.0"]])
def test_every_plot_is_a_drawn_png(tmp_path, kernels):
    targets = ("overlay2", "vfs", "engine", "fuse-overlayfs")
    paths = [fixtures.quick(kernel=k, seed=i, targets=targets, backings=fixtures.BACKINGS)
             .write(tmp_path / f"{i}.json") for i, k in enumerate(kernels)]
    runs = load.load([str(p) for p in paths]).runs
    out = tmp_path / "plots"
    out.mkdir()
    drawn = plots.draw_all(runs, str(out))
    assert {p.name for p in drawn} == EXPECTED
    for plot in drawn:
        assert_drawn_png(plot.path)
        assert plot.caption and plot.title


def test_family_without_data_draws_no_plot(tmp_path):
    builder = fixtures.BenchBuilder()
    for target in ("overlay2", "fuse"):
        builder._copy_up(target, "ext4", fixtures.BANDWIDTH["ext4"])
    builder.add("bound/copy/ext4", 5e7, {"bytes_per_second": 1e9})
    runs = load.load([str(builder.write(tmp_path / "b.json"))]).runs
    drawn = plots.draw_all(runs, str(tmp_path))
    assert [p.name for p in drawn] == ["copy_up"]
    assert_drawn_png(drawn[0].path)
