"""Merging the --out directories of a run split into shards: `run-kernels --merge DIR... --out OUT`.

OUT gets the layout of an unsplit run (vagrant/README.md): per kernel matrix.json (the parts'
cases, in the order the unsplit run has them: GoogleTest gives case i to part i mod S, so taking
the parts' cases in turn restores it), bench.json (the parts' rows in the order of the profile's
listing, which every part keeps in guest/bench-list.txt), console.log (the parts' consoles one
after the other), status.json (the parts' statuses combined: `merged` lists them), guest/part-P/
(each part's logs); and index.json for all kernels. A kernel that was not cut into parts is copied.

Refused, with one line saying what to do: inputs of different runs (build, payload, disk), a
shard given twice or overlapping another, a missing shard, an interrupted shard, a kernel whose
parts booted different kernels, case ids or benchmark rows present in two parts.
"""

import datetime
import json
import os
import shutil
import sys
import tempfile

from . import results, shards
from .errors import RunnerError

MATRIX, BENCH, CONSOLE, STATUS = (results.RESULT_FILES[k] for k in ("matrix", "bench", "console", "status"))
BENCH_LIST = "bench-list.txt"  # written by guest/bench-part.sh beside bench.json, kept in guest/
# bench.json context keys that must agree between the parts of one kernel.
BENCH_IDENTITY = ("kernel", "ovlab_version", "profile", "emulated", "vm_accel", "vm_disk")


class MergeError(RunnerError):
    pass


def _load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise MergeError(f"{path} not found: {what}") from None
    except (OSError, ValueError) as e:
        raise MergeError(f"{path} cannot be read ({e}): rerun the run that wrote it") from None


def load_shard(d):
    """The index.json of one input directory, checked to be a whole shard of a split run."""
    index = _load_json(os.path.join(d, "index.json"), "pass run-kernels --out directories")
    if index.get("schema") != results.INDEX_SCHEMA:
        raise MergeError(f"{d}/index.json is not a run-kernels index ({index.get('schema')!r})")
    if "spec" not in index or "shard" not in index:
        raise MergeError(f"{d}/index.json has no run spec or shard (made by an older run-kernels): rerun it")
    shard = index["shard"]
    if not index.get("complete"):
        raise MergeError(f"{d} is an interrupted run (index.json: complete false): rerun shard "
                         f"{shard['index']}/{shard['count']} into a fresh directory")
    expected = [(u.label, u.part, u.parts) for u in shards.units_of(shard["kernels"], shard["index"], shard["count"])]
    have = [(e["kernel"], e.get("part", {}).get("part", 1), e.get("part", {}).get("parts", 1)) for e in index["kernels"]]
    if have != expected:
        raise MergeError(f"{d} does not hold what shard {shard['index']}/{shard['count']} of "
                         f"{','.join(shard['kernels'])} runs (expected {_units(expected)}, has {_units(have)})")
    return index


def _units(units):
    return ", ".join(f"{k}" + (f" part {p}/{n}" if n > 1 else "") for k, p, n in units) or "nothing"


def _spec_difference(a, b):
    """What differs between two run specs, in words; "" when they are equal."""
    if a == b:
        return ""
    if a.get("build") != b.get("build"):
        names = sorted(set(a.get("build", {})) | set(b.get("build", {})))
        diff = [n for n in names if a.get("build", {}).get(n) != b.get("build", {}).get(n)]
        return f"different builds ({', '.join(diff)} differ)"
    if a.get("payload") != b.get("payload"):
        return f"different payloads ({a.get('payload')} vs {b.get('payload')})"
    return f"different disks ({a.get('disk')} vs {b.get('disk')})"


def check_inputs(dirs):
    """{label: [(dir, index entry)] in part order}, the kernel order, and the common spec/payload;
    raises MergeError on anything inconsistent."""
    if len(set(os.path.realpath(d) for d in dirs)) != len(dirs):
        raise MergeError("a directory is given twice: pass each shard's directory once")
    loaded = [(d, load_shard(d)) for d in dirs]
    first_dir, first = loaded[0]
    for d, index in loaded[1:]:
        why = _spec_difference(first["spec"], index["spec"]) or (
            "" if index["payload"] == first["payload"] else "different payloads")
        if why:
            raise MergeError(f"{first_dir} and {d} are not shards of one run: {why}; merge only the shards of one run")
    splits = {}  # (kernels, count) -> {shard index: dir}
    for d, index in loaded:
        s = index["shard"]
        got = splits.setdefault((tuple(s["kernels"]), s["count"]), {})
        if s["index"] in got:
            raise MergeError(f"{got[s['index']]} and {d} are both shard {s['index']}/{s['count']}: pass each shard once")
        got[s["index"]] = d
    for (names, count), got in splits.items():
        missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in got]
        if missing:
            raise MergeError(f"shard {', '.join(missing)} of the split of {','.join(names)} is missing: "
                             f"pass its directory too (or rerun it with --shard {missing[0]})")
    by_kernel = {}
    for d, index in loaded:
        for entry in index["kernels"]:
            by_kernel.setdefault(entry["kernel"], []).append((d, entry))
    order = list(dict.fromkeys(label for names, _ in splits for label in names))
    for label, parts in by_kernel.items():
        counts = {e.get("part", {}).get("parts", 1) for _, e in parts}
        numbers = sorted(e.get("part", {}).get("part", 1) for _, e in parts)
        if len(counts) != 1 or numbers != list(range(1, len(parts) + 1)) or len(parts) != counts.pop():
            where = ", ".join(d for d, _ in parts)
            raise MergeError(f"kernel {label} is in overlapping runs ({where}): merge one split per kernel")
        parts.sort(key=lambda p: p[1].get("part", {}).get("part", 1))
    return by_kernel, order, loaded


def merge_matrices(parts):
    """One matrix of the parts' matrices [(part label, matrix)], cases taken in turn (GoogleTest's
    sharding order), summary recounted."""
    (_, base), rest = parts[0], parts[1:]
    for what, m in rest:
        for key in ("schema", "ovlab_version", "backing"):
            if m.get(key) != base.get(key):
                raise MergeError(f"the matrices of {parts[0][0]} and {what} differ in {key} "
                                 f"({base.get(key)!r} vs {m.get(key)!r}): rerun them with one build")
        if (m.get("kernel") or {}).get("release") != (base.get("kernel") or {}).get("release"):
            raise MergeError(f"the matrices of {parts[0][0]} and {what} come from different kernels: rerun them")
        if [t.get("name") for t in m.get("targets", [])] != [t.get("name") for t in base.get("targets", [])]:
            raise MergeError(f"the matrices of {parts[0][0]} and {what} have different targets: rerun them with one --targets")
    seen, cases = {}, []
    lists = [(what, m.get("cases", [])) for what, m in parts]
    for i in range(max(len(c) for _, c in lists)):
        for what, c in lists:
            if i < len(c):
                cid = c[i].get("id")
                if cid in seen:
                    raise MergeError(f"case {cid} is in {seen[cid]} and {what}: the parts overlap; rerun them")
                seen[cid] = what
                cases.append(c[i])
    targets = [dict(t) for t in base.get("targets", [])]
    for t_index, t in enumerate(targets):
        for _, m in rest:
            other = m["targets"][t_index]
            for key in ("version", "options"):
                if not t.get(key) and other.get(key):
                    t[key] = other[key]
    families, by_target = {}, {t["name"]: {v: 0 for v in ("pass", "fail", "skip", "known-deviation")} for t in targets}
    for c in cases:
        families[c.get("family")] = families.get(c.get("family"), 0) + 1
        for target, r in (c.get("results") or {}).items():
            verdict = (r or {}).get("verdict", (r or {}).get("status"))
            by_target.setdefault(target, {}).setdefault(verdict, 0)
            by_target[target][verdict] += 1
    merged = dict(base)
    merged["generated_utc"] = max(str(m.get("generated_utc", "")) for _, m in parts)
    merged["targets"] = targets
    merged["summary"] = {"cases": len(cases), "families": dict(sorted(families.items(), key=lambda kv: str(kv[0]))),
                         "by_target": by_target}
    merged["cases"] = cases
    return merged


def merge_bench(parts, count_parts=True):
    """One Google Benchmark JSON of the parts' [(part label, bench json, listing or None)]: rows in
    the listed order (the unsplit run's), context of the first part plus keys only others have.
    count_parts: record vm_parts (False when joining the runs of one part, guest/bench-part.sh)."""
    (first_what, base, _), rest = parts[0], parts[1:]
    ctx = dict(base.get("context") or {})
    for what, data, _ in rest:
        other = data.get("context") or {}
        for key in BENCH_IDENTITY:
            if other.get(key) != ctx.get(key):
                raise MergeError(f"the benchmarks of {first_what} and {what} differ in {key} "
                                 f"({ctx.get(key)!r} vs {other.get(key)!r}): rerun them alike")
        for key, value in other.items():
            ctx.setdefault(key, value)
    listings = [lst for _, _, lst in parts if lst]
    if any(lst != listings[0] for lst in listings):
        raise MergeError("the parts listed different benchmark instances: rerun them with one build and profile")
    position = {name: i for i, name in enumerate(listings[0])} if listings else {}
    owner, rows = {}, []
    for p_index, (what, data, _) in enumerate(parts):
        for r_index, row in enumerate(data.get("benchmarks") or []):
            name = row.get("run_name", row.get("name"))
            if owner.setdefault(name, what) != what:
                raise MergeError(f"benchmark {name} is in {owner[name]} and {what}: the parts overlap; rerun them")
            rows.append(((position.get(name, len(position)), p_index, r_index), row))
    rows.sort(key=lambda r: r[0])
    if count_parts:
        ctx.pop("vm_part", None)
        ctx["vm_parts"] = str(len(parts))
    merged = dict(base)
    merged["context"] = ctx
    merged["benchmarks"] = [row for _, row in rows]
    return merged


def join_bench_runs(guest):
    """bench-part.sh ran one part as several ovlab-bench runs (bench.1.json, bench.2.json, …, its
    filter too long for one): joins them into guest/bench.json, in the listed order."""
    runs = sorted((f for f in os.listdir(guest) if f.startswith("bench.") and f[6:-5].isdigit() and f.endswith(".json")),
                  key=lambda f: int(f[6:-5]))
    if not runs or os.path.exists(os.path.join(guest, BENCH)):
        return
    listing = (_read(os.path.join(guest, BENCH_LIST)) or "").split() or None
    parts = [(f"run {f[6:-5]}", _load_json(os.path.join(guest, f), "rerun the kernel"), listing) for f in runs]
    results.write_json(os.path.join(guest, BENCH), merge_bench(parts, count_parts=False))
    for f in runs:
        os.unlink(os.path.join(guest, f))


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def merge_kernel(label, parts, staging):
    """Writes staging/<label>/ from the parts [(dir, index entry)]; returns the KernelResult."""
    dest = os.path.join(staging, label)
    statuses = []
    for d, entry in parts:
        status = _load_json(os.path.join(d, entry.get("dir", label), STATUS), f"rerun the shard in {d}")
        statuses.append(results.KernelResult.from_json(status))
    for key, what in (("release", "uname -r"), ("package_version", "package version"), ("image_version", "image")):
        values = {getattr(s, key) for s in statuses if getattr(s, key)}
        if len(values) > 1:
            raise MergeError(f"the parts of kernel {label} booted different kernels ({what}: {', '.join(sorted(values))}): "
                             "rerun them with one pinned version (--kernels X.Y.Z-N)")
    if len(parts) == 1:
        d, entry = parts[0]
        shutil.copytree(os.path.join(d, entry.get("dir", label)), dest, symlinks=True)
        return statuses[0]
    count = len(parts)
    names = [f"part {i}/{count} ({d})" for i, (d, _) in enumerate(parts, 1)]
    os.makedirs(dest)
    srcs = [os.path.join(d, entry.get("dir", label)) for d, entry in parts]

    matrices = []
    for what, src in zip(names, srcs):
        m = _read(os.path.join(src, MATRIX))
        if m is not None:
            matrices.append((what, json.loads(m)))
    if matrices:
        results.write_json(os.path.join(dest, MATRIX), merge_matrices(matrices))
    benches = []
    for what, src in zip(names, srcs):
        b = _read(os.path.join(src, BENCH))
        if b is not None:
            listing = _read(os.path.join(src, "guest", BENCH_LIST))
            benches.append((what, json.loads(b), listing.split() if listing is not None else None))
    if benches:
        results.write_json(os.path.join(dest, BENCH), merge_bench(benches))
    with open(os.path.join(dest, CONSOLE), "w", encoding="utf-8") as out:
        for what, src in zip(names, srcs):
            out.write(f"==== run-kernels --merge: {label} {what} ====\n")
            out.write(_read(os.path.join(src, CONSOLE)) or "(no console.log)\n")
    for i, src in enumerate(srcs, 1):
        if os.path.isdir(os.path.join(src, "guest")):
            shutil.copytree(os.path.join(src, "guest"), os.path.join(dest, "guest", f"part-{i}"), symlinks=True)

    merged = results.KernelResult.from_json(statuses[0].to_json())
    bad = [s for s in statuses if s.status != "ok"]
    merged.status = bad[0].status if bad else "ok"
    merged.error = "; ".join(f"part {i}/{count}: {s.error}" for i, s in enumerate(statuses, 1) if s.error)
    codes = [s.exit_code for s in statuses]
    merged.exit_code = next((c for c in codes if c not in (0, None)), None if None in codes else 0)
    walls = [s.wall_seconds for s in statuses if isinstance(s.wall_seconds, (int, float))]
    merged.wall_seconds = round(sum(walls), 2) if walls else None
    accels = sorted({s.accel for s in statuses if s.accel})
    merged.accel = "+".join(accels)
    merged.emulated = any(s.emulated for s in statuses)
    for s in statuses:
        merged.release = merged.release or s.release
        merged.package = merged.package or s.package
        merged.package_version = merged.package_version or s.package_version
    merged.steps = [dict(step, part=i) for i, s in enumerate(statuses, 1) for step in s.steps]
    merged.part = {"part": 1, "parts": 1}
    status = merged.to_json()
    status["merged"] = [{"part": i, "dir": os.path.abspath(d), "status": s.status, "error": s.error,
                         "exit_code": s.exit_code, "wall_seconds": s.wall_seconds, "accel": s.accel}
                        for i, ((d, _), s) in enumerate(zip(parts, statuses), 1)]
    results.write_json(os.path.join(dest, STATUS), status)
    return merged


def merge(dirs, out):
    """Merges the shard directories `dirs` into `out` (created whole, or not at all)."""
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise MergeError(f"--out {out} exists and is not empty: pass a new directory for the merged run")
    by_kernel, order, loaded = check_inputs(dirs)
    first = loaded[0][1]
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".merge-", dir=parent)
    try:
        done = [merge_kernel(label, by_kernel[label], staging) for label in order]
        created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        run = {
            "spec": first["spec"],
            "shard": {"index": 1, "count": 1, "kernels": order},
            "complete": True,
            "merged_from": [{"dir": os.path.abspath(d), "shard": f"{i['shard']['index']}/{i['shard']['count']}",
                             "kernels": i["shard"]["kernels"]} for d, i in loaded],
        }
        results.write_index(staging, done, first["payload"], created, run)
        if os.path.isdir(out):
            os.rmdir(out)
        os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done


def run(dirs, out):
    """`run-kernels --merge`: exit 0 when every kernel is ok, 1 otherwise, 2 when refused."""
    try:
        done = merge(dirs, out)
    except RunnerError as e:
        print(f"run-kernels: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run-kernels: interrupted; nothing was written", file=sys.stderr)
        return 130
    print(f"run-kernels: merged {len(dirs)} directories into {os.path.abspath(out)}: "
          f"{', '.join(r.kernel for r in done)}")
    print()
    print(results.summary(os.path.abspath(out), done))
    return 0 if all(r.status == "ok" for r in done) else 1

