import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.dirname(TESTS)
sys.path[:0] = [REPORTS, TESTS]
PYTHON = "/usr/bin/python3"


def run_tool(script, *args):
    """Runs report.py or compare.py as CI would; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    return subprocess.run([PYTHON, os.path.join(REPORTS, script), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def tool():
    return run_tool
