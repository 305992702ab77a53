"""Writes a report's files all at once: built in a temporary sibling directory, then moved into
place, so an error or an interruption never leaves a half-made report.

The output directory may already exist and hold other files (run.sh keeps the benchmark JSON
and the conformance matrix there); only the report's own files are replaced. The steps that
create, commit and remove the staging directory hold signals back (signals.deferred), so a
signal at any moment either stops the run with the output directory as it was, or comes
after the commit point and is ignored: exit status 0 means a whole report, anything else
means nothing changed."""

import contextlib
import os
import shutil
import sys
import tempfile

from . import signals
from .errors import InputError

REPORT_FILE = "report.html"


@contextlib.contextmanager
def staged(out: str, owned_names=(), latest_link=None):
    """Yields a temporary directory; on success its files move into `out`, the report last,
    and `latest_link` (if given) is pointed at `out`.

    owned_names: files an earlier report may have left in `out` that this one did not write
    (a plot without data this time); they are removed so the directory shows one report."""
    out = os.path.abspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out}: exists and is not a directory; choose another --out")
    if latest_link:
        _check_link(latest_link)
    tmp = created = None
    try:
        with signals.deferred():
            tmp, created = _make_staging_dir(out)
        yield tmp
        with signals.deferred():
            _commit(tmp, out, owned_names)
            signals.past_commit_point()
    except BaseException:
        # Also reached when the signal held back by deferred() is delivered as it ends.
        with signals.deferred():
            if tmp:
                _remove_staging(tmp, created)
        raise
    if latest_link:
        try:
            point_link(latest_link, out)
        except OSError as e:  # the report is whole; only the convenience link is missing
            print(f"warning: {out} written, but {latest_link} could not point at it ({e})",
                  file=sys.stderr)


def _make_staging_dir(out):
    parent = os.path.dirname(out)
    created = _missing_ancestors(parent)
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.tmp-", dir=parent), created
    except OSError as e:
        _remove_dirs(created)
        raise InputError(f"--out {out}: cannot create it ({e.strerror})") from None


def _commit(tmp, out, owned_names):
    try:
        _move_into_place(tmp, out, owned_names)
    except OSError as e:
        raise InputError(f"--out {out}: cannot move the report into place ({e})") from None


def _move_into_place(tmp, out, owned_names):
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
    os.rmdir(tmp)


def _remove_staging(tmp, created):
    shutil.rmtree(tmp, ignore_errors=True)
    _remove_dirs(created)


def _remove_dirs(created):
    for path in created:  # deepest first; only the folders this run made
        with contextlib.suppress(OSError):
            os.rmdir(path)


def _missing_ancestors(path: str) -> list:
    missing = []
    while path and not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def _check_link(link: str):
    if os.path.lexists(link) and not os.path.islink(link):
        raise InputError(f"{os.path.abspath(link)}: exists and is not a symlink; remove it or "
                         "pass --latest-link elsewhere")


def point_link(link: str, target_dir: str):
    """Atomically (re)points the symlink `link` at target_dir, relative to the link's folder."""
    link = os.path.abspath(link)
    _check_link(link)
    target = os.path.relpath(os.path.abspath(target_dir), os.path.dirname(link))
    tmp = f"{link}.tmp-{os.getpid()}"
    os.symlink(target, tmp)
    os.replace(tmp, link)
