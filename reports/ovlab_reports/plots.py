"""The report's figures, one PNG each, drawn with matplotlib's Agg backend."""

import math
import os
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator  # noqa: E402

from . import select  # noqa: E402
from .names import KNOWN_TARGETS  # noqa: E402
from .units import BYTE_UNITS, fmt_bytes, fmt_rate, fmt_time_ns, pick_unit  # noqa: E402

DPI = 110
_PALETTE = plt.get_cmap("tab10").colors
_RUN_STYLES = [("-", "o", ""), ("--", "s", "//"), (":", "^", ".."), ("-.", "D", "xx"),
               ((0, (5, 1, 1, 1)), "v", "\\\\")]
BOUND_COLOR = "0.35"
EXPECTED_COLOR = "black"


@dataclass
class Plot:
    name: str  # file name stem
    title: str
    path: str
    caption: str


def target_color(target: str):
    if target in KNOWN_TARGETS:
        return _PALETTE[KNOWN_TARGETS.index(target) % len(_PALETTE)]
    return _PALETTE[(len(KNOWN_TARGETS) + sum(map(ord, target))) % len(_PALETTE)]


def run_style(index: int):
    return _RUN_STYLES[index % len(_RUN_STYLES)]


_time_ticks = FuncFormatter(lambda y, _: fmt_time_ns(y) if y > 0 else "0")
_byte_ticks = FuncFormatter(lambda x, _: fmt_bytes(x) if x > 0 else "0")


def _grid(n_panels, max_cols=3, size=(5.6, 4.2)):
    cols = min(n_panels, max_cols)
    rows = math.ceil(n_panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols + 2.2, size[1] * rows + 0.8),
                             squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def _legend(fig, targets, runs, extra=(), bars=False):
    handles = []
    for t in targets:
        if bars:
            handles.append(Patch(facecolor=target_color(t), label=t))
        else:
            handles.append(Line2D([], [], color=target_color(t), lw=2, label=t))
    if len(runs) > 1:
        for i, run in enumerate(runs):
            ls, marker, hatch = run_style(i)
            if bars:
                handles.append(Patch(facecolor="white", edgecolor="black", hatch=hatch,
                                     label=run.label))
            else:
                handles.append(Line2D([], [], color="black", ls=ls, marker=marker,
                                      label=run.label))
    handles += list(extra)
    fig.legend(handles=handles, loc="center right", frameon=False, fontsize=9)


def _save(fig, out_dir, name, title, caption, rect_right):
    fig.suptitle(title, fontsize=13)
    # Fixed margins in inches: tight_layout costs seconds per figure on a busy machine.
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=0.95 / width, right=rect_right - 0.15 / width,
                        bottom=0.65 / height, top=1 - 0.75 / height, wspace=0.3, hspace=0.5)
    path = os.path.join(out_dir, name + ".png")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Plot(name, title, path, caption)


def _right_edge(fig):
    """Leaves about 1.9 inches on the right of the figure for the shared legend."""
    return 1 - 1.9 / fig.get_size_inches()[0]


def copy_up(runs, out_dir):
    backings = select.backings(runs, "copy_up")
    if not backings:
        return None
    targets = select.targets(runs, "copy_up")
    fig, axes = _grid(len(backings))
    drew_bound = False
    for ax, backing in zip(axes, backings):
        sizes = set()
        for ri, run in enumerate(runs):
            ls, marker, _ = run_style(ri)
            for target in targets:
                points = select.copy_up_sizes(run, target, backing)
                if not points:
                    continue
                sizes.update(x for x, _ in points)
                ax.plot([x for x, _ in points], [y for _, y in points], ls=ls, marker=marker,
                        ms=4, color=target_color(target))
        for ri, run in enumerate(runs):
            bandwidth = select.copy_bandwidth(run, backing)
            if bandwidth and sizes:
                xs = sorted(sizes)
                ax.plot(xs, [x / bandwidth * 1e9 for x in xs], color=BOUND_COLOR, lw=3,
                        alpha=0.55, ls=run_style(ri)[0], zorder=0)
                drew_bound = True
        bws = [fmt_rate(select.copy_bandwidth(r, backing)) for r in runs
               if select.copy_bandwidth(r, backing)]
        ax.set_title(f"{backing}" + (f"  (copy bandwidth {', '.join(bws)})" if bws else ""),
                     fontsize=10)
        if not sizes:
            _not_measured(ax)
            continue
        if backing in ("xfs-reflink", "btrfs"):
            ax.text(0.02, 0.97, "reflink copy-up is O(1) in N", transform=ax.transAxes,
                    va="top", fontsize=8, color=BOUND_COLOR)
        _log_axes(ax, _byte_ticks, _time_ticks)
        ax.set_xticks(sorted(sizes))
        ax.xaxis.set_minor_locator(NullLocator())
        _dense_time_ticks(ax)
        ax.set_xlabel("file size N (log)")
        ax.set_ylabel("copy-up latency (median, log)")
    extra = [Line2D([], [], color=BOUND_COLOR, lw=3, alpha=0.55,
                    label="physical bound\nN / copy bandwidth")] if drew_bound else []
    _legend(fig, targets, runs, extra)
    caption = ("Median latency of the first write to a dense lower file of size N, which "
               "copies it up. The grey line is N divided by the backing device's copy "
               "bandwidth measured in the same run (copy and fsync): a durable data copy-up "
               "cannot beat it; one that skips the fsync (fuse-overlayfs) can, and a reflinked "
               "one does not grow with N.")
    return _save(fig, out_dir, "copy_up", "Copy-up latency vs file size", caption,
                 _right_edge(fig))


def lookup(runs, out_dir):
    backings = select.backings(runs, "lookup")
    wheres = select.lookup_wheres(runs, plotted_only=True)
    if not backings or not wheres:
        return None
    targets = select.targets(runs, "lookup")
    temps = ("warm", "cold")
    panels = [(t, w, b) for b in backings for t in temps for w in wheres]
    fig, axes = _grid(len(panels), max_cols=len(wheres), size=(4.6, 3.6))
    for ax, (temp, where, backing) in zip(axes, panels):
        depths = set()
        for ri, run in enumerate(runs):
            ls, marker, _ = run_style(ri)
            for target in targets:
                points = select.lookup_depths(run, target, backing, where, temp)
                if points:
                    depths.update(x for x, _ in points)
                    ax.plot([x for x, _ in points], [y for _, y in points], ls=ls,
                            marker=marker, ms=4, color=target_color(target))
        place = "missing" if where == "missing" else f"at {where}"
        ax.set_title(f"{temp} cache, name {place} — {backing}", fontsize=10)
        if not depths:
            _not_measured(ax)
            continue
        ax.set_xscale("log", base=2)
        if depths:
            ax.set_xticks(sorted(depths))
            ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_time_ticks)
        _dense_time_ticks(ax)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlabel("lower layers (depth, log₂)")
        ax.set_ylabel("latency per lookup (median)")
    _legend(fig, targets, runs)
    caption = ("Median time of one stat() path lookup against the number of lower layers, for "
               "a name in the bottom layer and for a name missing from every layer (both walk "
               "all layers; names in the top and middle layers are in the tables); warm = "
               "dentry cache hot, cold = caches dropped before the timed lookup.")
    return _save(fig, out_dir, "lookup", "Lookup latency vs layer depth", caption,
                 _right_edge(fig))


def _not_measured(ax):
    ax.text(0.5, 0.5, "not measured in this run", transform=ax.transAxes, ha="center",
            va="center", color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _dense_time_ticks(ax):
    """A log axis spanning less than ~2 decades gets 1-2-5 ticks so it carries several labels."""
    low, high = ax.get_ylim()
    if low > 0 and high / low < 300:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(_time_ticks)


def _log_axes(ax, xfmt, yfmt):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(xfmt)
    ax.yaxis.set_major_formatter(yfmt)
    ax.grid(True, which="major", alpha=0.3)


def _bar_setup(runs, family):
    """Backings (one panel each), targets, x groups (name details) and bar series."""
    targets = select.targets(runs, family)
    series = [(ri, run, t) for t in targets for ri, run in enumerate(runs)]
    return select.backings(runs, family), targets, select.details(runs, family), series


def _group_label(detail: str) -> str:
    """'op:append/files:64/depth:14' -> 'append\nfiles:64 depth:14'; 'profile:app' -> 'app'."""
    parts = [_human_param(p) for p in detail.split("/")]
    head = parts[0].split(":", 1)[-1]
    return head + ("\n" + " ".join(parts[1:]) if len(parts) > 1 else "")


def _human_param(part: str) -> str:
    key, _, value = part.partition(":")
    return f"{key}:{fmt_bytes(int(value))}" if key == "bytes" and value.isdigit() else part


def _bars(ax, groups, series, value_of, expected_of=None):
    """Grouped bars: one group per x label, one bar per (run, target); expectation as a tick."""
    width = 0.8 / max(len(series), 1)
    values = []
    for gi, group in enumerate(groups):
        for si, (ri, run, target) in enumerate(series):
            value = value_of(run, target, group)
            if value is None:
                continue
            x = gi - 0.4 + width * (si + 0.5)
            ax.bar(x, value, width * 0.92, color=target_color(target),
                   hatch=run_style(ri)[2] if len(set(s[0] for s in series)) > 1 else "",
                   edgecolor="white" if len(series) < 2 else "0.2", lw=0.4)
            values.append(value)
            expected = expected_of(run, target, group) if expected_of else None
            if expected:
                ax.hlines(expected, x - width / 2, x + width / 2, color=EXPECTED_COLOR, lw=2.2)
                values.append(expected)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([_group_label(g) for g in groups], fontsize=8)
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_yscale("log")
    ax.grid(True, axis="y", alpha=0.3)
    return bool(values)


def _byte_unit(values):
    """The binary unit that keeps the largest value between 1 and 1024."""
    return pick_unit(max([v for v in values if v] or [0]), BYTE_UNITS)


def _scaled(value, scale):
    return value / scale if value is not None else None


def inode_usage(runs, out_dir):
    backings, targets, profiles, series = _bar_setup(runs, "inode_usage")
    if not backings:
        return None
    metrics = (("inodes", "inodes_expected", "inodes consumed", False),
               ("bytes_used", "bytes_expected", "bytes consumed", True))
    fig, axes = _grid(len(backings) * 2, max_cols=2, size=(6.2, 4.0))
    for bi, backing in enumerate(backings):
        for mi, (counter, expected, label, is_bytes) in enumerate(metrics):
            ax = axes[bi * 2 + mi]

            def counter_of(run, target, profile, name):
                b = select.find(run, "inode_usage", target, backing, profile)
                return b.counter(name) if b else None

            unit, scale = "", 1
            if is_bytes:
                unit, scale = _byte_unit([counter_of(r, t, p, counter) for _, r, t in series
                                          for p in profiles])
            _bars(ax, profiles, series,
                  lambda r, t, p, c=counter, s=scale: _scaled(counter_of(r, t, p, c), s),
                  lambda r, t, p, e=expected, s=scale: _scaled(counter_of(r, t, p, e), s))
            ax.set_title(f"{label} — {backing}", fontsize=10)
            ax.set_xlabel("image profile")
            ax.set_ylabel(f"{label} ({unit})" if unit else label)
    extra = [Line2D([], [], color=EXPECTED_COLOR, lw=2.2, label="analytic expectation")]
    _legend(fig, targets, runs, extra, bars=True)
    caption = ("Inodes and bytes the backing filesystem lost to one image of each profile "
               "(statfs delta), per driver; the black tick on each bar is the analytic "
               "expectation from the driver's layout rules.")
    return _save(fig, out_dir, "inode_usage", "Inodes and bytes per driver and profile",
                 caption, _right_edge(fig))


def write_heavy(runs, out_dir):
    backings, targets, ops, series = _bar_setup(runs, "write_heavy")
    if not backings:
        return None
    fig, axes = _grid(len(backings), max_cols=2, size=(6.2, 4.2))
    for ax, backing in zip(axes, backings):

        def value_of(run, target, op):
            b = select.find(run, "write_heavy", target, backing, op)
            return select.ops_per_second(b) if b else None

        _bars(ax, ops, series, value_of)
        ax.set_title(f"write-heavy throughput — {backing}", fontsize=10)
        ax.set_xlabel("workload")
        ax.set_ylabel("operations per second (median)")
    _legend(fig, targets, runs, bars=True)
    caption = ("Operations per second of write-heavy workloads through each driver: 4 KiB "
               "random writes into a copied-up file, file creation, creation and unlinking "
               "(create_unlink: both count), appends to many lower files (each a copy-up), "
               "fsync'd writes, and sequential writes and reads (seqread_direct: O_DIRECT) in "
               "1 MiB requests, so their rate is MiB/s; the 'ops' counter over the median "
               "time of one iteration. Higher is better.")
    return _save(fig, out_dir, "write_heavy", "Write-heavy throughput per driver", caption,
                 _right_edge(fig))


ALL = (copy_up, lookup, inode_usage, write_heavy)


def draw_all(runs, out_dir) -> list:
    plots = []
    for draw in ALL:
        plot = draw(runs, out_dir)
        if plot is not None:
            plots.append(plot)
    return plots
