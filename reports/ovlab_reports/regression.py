"""Regression verdicts between two benchmark runs: median change and Mann–Whitney U per
benchmark over the per-repetition rows."""

import math
import re
import statistics
from dataclasses import asdict, dataclass

from scipy.stats import mannwhitneyu

from . import load, names
from .errors import InputError

VERDICT_SLOWER, VERDICT_FASTER = "SLOWER", "faster"
VERDICT_SAME, VERDICT_UNSURE = "same", "unsure"  # unsure: beyond threshold, not significant
DEFAULT_THRESHOLD_PCT, DEFAULT_ALPHA = 10.0, 0.05


@dataclass
class Change:
    name: str
    baseline_median_ns: float
    candidate_median_ns: float
    change_pct: float
    p_value: float
    verdict: str
    baseline_repetitions: int
    candidate_repetitions: int


@dataclass
class TargetSummary:
    """One target's changes together: a slowdown of the target under test moves most of its
    benchmarks one way, while drift between two runs on a shared machine scatters every
    target's both ways."""
    target: str
    benchmarks: int
    slower: int
    faster: int
    median_change_pct: float


@dataclass
class Comparison:
    changes: list
    only_in_baseline: list
    only_in_candidate: list
    not_run: list  # (name, side, reason)
    unreachable: list  # names whose repetitions are too few to ever reach alpha

    def count(self, verdict):
        return sum(1 for c in self.changes if c.verdict == verdict)

    def by_target(self) -> list:
        groups = {}
        for c in self.changes:
            parsed = names.parse(c.name)
            groups.setdefault(parsed.target if parsed else "?", []).append(c)
        return [TargetSummary(t, len(groups[t]),
                              sum(1 for c in groups[t] if c.verdict == VERDICT_SLOWER),
                              sum(1 for c in groups[t] if c.verdict == VERDICT_FASTER),
                              statistics.median(c.change_pct for c in groups[t]))
                for t in names.target_order(groups)]

    def as_dict(self):
        return {"changes": [asdict(c) for c in self.changes],
                "by_target": [asdict(t) for t in self.by_target()],
                "only_in_baseline": self.only_in_baseline,
                "only_in_candidate": self.only_in_candidate,
                "not_run": [{"name": n, "side": s, "reason": r} for n, s, r in self.not_run],
                "too_few_repetitions_for_alpha": self.unreachable}


def load_run(path: str) -> load.BenchRun:
    """Exactly one benchmark run from a file (or a directory holding one)."""
    inputs = load.load([path])
    if len(inputs.runs) != 1:
        found = f"{len(inputs.runs)} benchmark runs" if inputs.runs else "a conformance matrix"
        raise InputError(f"{path}: holds {found}; compare needs exactly one benchmark JSON "
                         "per side")
    return inputs.runs[0]


def _check_repetitions(path, benches):
    """Google Benchmark must have written per-repetition rows for every compared benchmark."""
    lacking = [b for b in benches if len(b.times_ns) < load.MIN_REPETITIONS]
    if not lacking:
        return
    what = ("no per-repetition rows" if all(not b.times_ns for b in lacking)
            else f"fewer than {load.MIN_REPETITIONS} repetitions")
    raise InputError(f"{path}: {len(lacking)} of {len(benches)} compared benchmarks have {what} "
                     f"(e.g. {lacking[0].name.key}); rerun with --benchmark_repetitions=5 and "
                     "without --benchmark_report_aggregates_only")


def p_value(baseline, candidate, slower: bool) -> float:
    """One-sided Mann–Whitney U in the direction the medians moved."""
    alternative = "greater" if slower else "less"
    try:
        p = mannwhitneyu(candidate, baseline, alternative=alternative).pvalue
    except ValueError:
        return 1.0
    return 1.0 if math.isnan(p) else float(p)


def smallest_p(n1: int, n2: int) -> float:
    """The smallest one-sided p the exact test can give: complete separation of the samples."""
    return 1.0 / math.comb(n1 + n2, n1)


def compare(base: load.BenchRun, cand: load.BenchRun, threshold_pct: float,
            alpha: float, name_filter: str = None) -> Comparison:
    """name_filter: a regular expression; only benchmarks whose name it matches are compared."""
    wanted = _name_matcher(name_filter)
    base_ok = {b.name.key: b for b in base.valid() if wanted(b.name.key)}
    cand_ok = {b.name.key: b for b in cand.valid() if wanted(b.name.key)}
    common = [k for k in base_ok if k in cand_ok]
    not_run = [n for n in _not_run(base, cand) if wanted(n[0])]
    if not common:
        matching = f" matching --filter {name_filter!r}" if name_filter else ""
        raise InputError(f"{base.path} and {cand.path} have no benchmark name{matching} in "
                         f"common (baseline has {len(base_ok)}, candidate {len(cand_ok)}); "
                         "compare runs of the same suite and profile")
    _check_repetitions(base.path, [base_ok[k] for k in common])
    _check_repetitions(cand.path, [cand_ok[k] for k in common])
    changes, unreachable = [], []
    for key in common:
        b, c = base_ok[key], cand_ok[key]
        changes.append(change(key, b, c, threshold_pct, alpha))
        if smallest_p(len(b.times_ns), len(c.times_ns)) > alpha:
            unreachable.append(key)
    errored = {n for n, _, _ in not_run}
    return Comparison(changes,
                      [k for k in base_ok if k not in cand_ok and k not in errored],
                      [k for k in cand_ok if k not in base_ok and k not in errored],
                      not_run, unreachable)


def _name_matcher(pattern):
    if not pattern:
        return lambda name: True
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise InputError(f"--filter {pattern!r}: not a regular expression ({e})") from None
    return lambda name: regex.search(name) is not None


def _not_run(base, cand) -> list:
    """(name, side, reason) of benchmarks that errored or were skipped; side is baseline,
    candidate or both (then the candidate's reason)."""
    failed = {b.name.key: ("baseline", b.error) for b in base.errors()}
    for b in cand.errors():
        failed[b.name.key] = ("both" if b.name.key in failed else "candidate", b.error)
    return [(name, side, reason) for name, (side, reason) in failed.items()]


def change(key, b, c, threshold_pct, alpha) -> Change:
    """Verdict for one benchmark measured in two runs (b = baseline, c = candidate)."""
    bm, cm = b.median_ns, c.median_ns
    pct = (cm / bm - 1) * 100 if bm else (0.0 if cm == bm else math.inf)
    p = p_value(b.times_ns, c.times_ns, slower=cm > bm)
    if abs(pct) <= threshold_pct:
        verdict = VERDICT_SAME
    elif p > alpha:
        verdict = VERDICT_UNSURE
    else:
        verdict = VERDICT_SLOWER if pct > 0 else VERDICT_FASTER
    return Change(key, bm, cm, pct, p, verdict, len(b.times_ns), len(c.times_ns))
