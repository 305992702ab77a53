"""Writes a report's files all at once: built in a temporary sibling directory, then moved into
place, so an error or an interruption never leaves a half-made report.

The output directory may already exist and hold other files (run.sh keeps the benchmark JSON
and the conformance matrix there); only the report's own files are replaced."""

import contextlib
import os
import shutil
import tempfile

from .errors import InputError

REPORT_FILE = "report.html"


@contextlib.contextmanager
def staged(out: str, owned_names=()):
    """Yields a temporary directory; on success its files move into `out`, the report last.

    owned_names: files an earlier report may have left in `out` that this one did not write
    (a plot without data this time); they are removed so the directory shows one report."""
    out = os.path.abspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out}: exists and is not a directory; choose another --out")
    parent = os.path.dirname(out)
    created = _missing_ancestors(parent)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.tmp-", dir=parent)
    except OSError as e:
        raise InputError(f"--out {out}: cannot create it ({e.strerror})") from None
    done = False
    try:
        yield tmp
        done = True
        os.chmod(tmp, 0o755)
        if not os.path.exists(out):
            os.rename(tmp, out)
            return
        written = sorted(os.listdir(tmp), key=lambda name: name == REPORT_FILE)
        for name in written:
            os.replace(os.path.join(tmp, name), os.path.join(out, name))
        for name in set(owned_names) - set(written):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(out, name))
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        if not done:
            for path in created:  # deepest first; only the folders this call made
                with contextlib.suppress(OSError):
                    os.rmdir(path)


def _missing_ancestors(path: str) -> list:
    missing = []
    while path and not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def point_link(link: str, target_dir: str):
    """Atomically (re)points the symlink `link` at target_dir, relative to the link's folder."""
    link = os.path.abspath(link)
    target_dir = os.path.abspath(target_dir)
    if os.path.exists(link) and not os.path.islink(link):
        raise InputError(f"{link}: exists and is not a symlink; remove it or pass "
                         "--latest-link elsewhere")
    target = os.path.relpath(target_dir, os.path.dirname(link))
    tmp = f"{link}.tmp-{os.getpid()}"
    os.symlink(target, tmp)
    os.replace(tmp, link)
