#!/usr/bin/python3
"""Regression verdict between two ovlab benchmark runs, for CI.

usage: compare.py BASELINE.json CANDIDATE.json [--threshold PCT] [--alpha A] [--filter RE]
                  [--json OUT]

For every benchmark in both runs: the change of the median real time and a one-sided
Mann–Whitney U test over the per-repetition rows in the direction of that change. A benchmark
is SLOWER when its median grew by more than PCT percent and p <= A. A summary per target
follows the table: two runs on a shared machine drift apart by more than the spread within
each run, which scatters every target's changes both ways, while a slowed target moves most of
its benchmarks one way. --filter gates on the benchmarks under test only.
Exit status: 1 if any benchmark is SLOWER, 0 otherwise, 2 on unusable input.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ovlab_reports import cli, regression, version  # noqa: E402
from ovlab_reports.errors import InputError  # noqa: E402
from ovlab_reports.units import fmt_time_ns  # noqa: E402

PROG = "compare.py"
SCHEMA = "ovlab-compare/1"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # bad options are unusable input too: exit 2, one line
        raise InputError(message + f" (see {PROG} --help)")


def parse_args(argv):
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version",
                        version=f"{PROG} {version.version()}")
    parser.add_argument("baseline")
    parser.add_argument("candidate")
    parser.add_argument("--threshold", type=float, default=regression.DEFAULT_THRESHOLD_PCT,
                        metavar="PCT",
                        help="slowdown in percent of the median that counts (default 10)")
    parser.add_argument("--alpha", type=float, default=regression.DEFAULT_ALPHA, metavar="A",
                        help="significance level of the Mann-Whitney U test (default 0.05)")
    parser.add_argument("--filter", metavar="RE",
                        help="compare only benchmarks whose name matches this regular "
                             "expression (Python re.search), e.g. '^[a-z_/]+/fuse/'")
    parser.add_argument("--json", metavar="OUT", help="also write the comparison as JSON")
    args = parser.parse_args(argv)
    if not args.threshold >= 0:
        raise InputError(f"--threshold {args.threshold}: must be a percentage >= 0")
    if not 0 < args.alpha < 1:
        raise InputError(f"--alpha {args.alpha}: must be between 0 and 1")
    return args


def print_table(result, out=sys.stdout):
    width = max([len(c.name) for c in result.changes] + [9])
    print(f"{'benchmark':<{width}}  {'baseline':>10}  {'candidate':>10}  {'change':>8}  "
          f"{'p':>7}  verdict", file=out)
    for c in result.changes:
        print(f"{c.name:<{width}}  {fmt_time_ns(c.baseline_median_ns):>10}  "
              f"{fmt_time_ns(c.candidate_median_ns):>10}  {c.change_pct:>+7.1f}%  "
              f"{c.p_value:>7.4f}  {c.verdict}", file=out)


def print_targets(result, out=sys.stdout):
    print("\nby target: benchmarks, slower, faster, median change", file=out)
    for t in result.by_target():
        print(f"  {t.target:<16} {t.benchmarks:>4}  {t.slower:>4} slower  {t.faster:>4} faster  "
              f"{t.median_change_pct:>+7.1f}%", file=out)


def print_notes(result, args, runs, out=sys.stdout):
    """runs: {"baseline": BenchRun, "candidate": BenchRun}."""
    for name in result.only_in_baseline:
        print(f"note: only in baseline: {name}", file=out)
    for name in result.only_in_candidate:
        print(f"note: only in candidate: {name}", file=out)
    for name, side, reason in result.not_run:
        where = "either run" if side == "both" else f"the {side}"
        print(f"note: not run in {where}: {name}: {reason}", file=out)
    emulated = [side for side, run in runs.items()
                if str(run.context.get("emulated", "")).lower() == "true"]
    if len(emulated) == 1:
        print(f"note: only the {emulated[0]} ran in an emulated VM; its timings are not "
              "comparable with the other side", file=out)
    if result.unreachable:
        print(f"note: {len(result.unreachable)} benchmarks have too few repetitions for any "
              f"test result to reach p <= {args.alpha}; use more repetitions", file=out)


def write_json(path, result, args, status):
    data = {"schema": SCHEMA, "baseline": os.path.abspath(args.baseline),
            "candidate": os.path.abspath(args.candidate), "threshold_pct": args.threshold,
            "alpha": args.alpha, "filter": args.filter,
            "test": "one-sided Mann-Whitney U over repetitions, in the direction of the change",
            "slower": result.count(regression.VERDICT_SLOWER),
            "faster": result.count(regression.VERDICT_FASTER), "exit_status": status,
            **result.as_dict()}
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"--json {path}: cannot write ({e.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv=None):
    args = parse_args(argv)
    baseline = regression.load_run(args.baseline)
    candidate = regression.load_run(args.candidate)
    result = regression.compare(baseline, candidate, args.threshold, args.alpha, args.filter)
    print_table(result)
    print_targets(result)
    print_notes(result, args, {"baseline": baseline, "candidate": candidate})
    slower = result.count(regression.VERDICT_SLOWER)
    status = 1 if slower else 0
    if args.json:
        write_json(args.json, result, args, status)
    print(f"verdict: {slower} slower, {result.count(regression.VERDICT_FASTER)} faster, "
          f"{result.count(regression.VERDICT_UNSURE)} unsure, "
          f"{result.count(regression.VERDICT_SAME)} same of {len(result.changes)} "
          f"(threshold {args.threshold:g} %, alpha {args.alpha:g}; {baseline.label} -> "
          f"{candidate.label}): {'FAIL' if status else 'ok'}")
    return status


if __name__ == "__main__":
    sys.exit(cli.run(main, PROG))
