"""ovlab's version for --version: the VERSION file at the top of the tree, with the git
description of the checkout when there is one (as the C++ programs print it)."""

import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def version() -> str:
    with open(os.path.join(TOP, "VERSION"), encoding="utf-8") as f:
        number = f.read().strip()
    try:
        git = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return number
    described = git.stdout.strip() if git.returncode == 0 else ""
    return f"{number} (git {described})" if described else number
