"""Writes a report directory all at once: built in a temporary sibling, then renamed into place,
so an error or an interruption never leaves a half-made report."""

import contextlib
import os
import shutil
import tempfile

from .errors import InputError

REPORT_FILE = "report.html"


def _check_replaceable(out: str):
    if not os.path.exists(out):
        return
    if not os.path.isdir(out):
        raise InputError(f"--out {out}: exists and is not a directory; choose another --out")
    if os.listdir(out) and not os.path.exists(os.path.join(out, REPORT_FILE)):
        raise InputError(f"--out {out}: directory is not empty and holds no earlier report; "
                         "choose another --out")


@contextlib.contextmanager
def staged(out: str):
    """Yields a temporary directory; on success it becomes `out` (replacing an earlier report)."""
    out = os.path.abspath(out)
    _check_replaceable(out)
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.tmp-", dir=parent)
    except OSError as e:
        raise InputError(f"--out {out}: cannot create it ({e.strerror})") from None
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if os.path.exists(out):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old-", dir=parent)
            os.rename(out, os.path.join(old, "report"))
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def point_link(link: str, target_dir: str):
    """Atomically (re)points the symlink `link` at target_dir, relative when they are siblings."""
    link = os.path.abspath(link)
    target_dir = os.path.abspath(target_dir)
    if os.path.exists(link) and not os.path.islink(link):
        raise InputError(f"{link}: exists and is not a symlink; remove it or pass "
                         "--latest-link elsewhere")
    target = os.path.relpath(target_dir, os.path.dirname(link))
    tmp = f"{link}.tmp-{os.getpid()}"
    os.symlink(target, tmp)
    os.replace(tmp, link)
