"""
conftest.py — shared fixtures of the Python tests: the package on the path,
a seeded data generator for fusion tasks, the repository root and the CLI.

The tests run from any directory; tests/python_test.sh sets PYTHONPATH and
LATEFUSE_LIB, and without them the package falls back to build/ of the repo.
"""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))


def make_task(n=300, c=3, seed=0, quality=(2.0, 1.0)):
    """Two (or more) models' softmax outputs for labels y: model k's logits
    are quality[k] * onehot(y) + standard normal noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, size=n)
    ps = []
    for q in quality:
        z = q * np.eye(c)[y] + rng.standard_normal((n, c))
        e = np.exp(z - z.max(axis=1, keepdims=True))
        ps.append((e / e.sum(axis=1, keepdims=True)).astype(np.float32))
    return ps, y


@pytest.fixture
def task():
    return make_task()


def cli_path():
    env = os.environ.get("LATEFUSE_CLI")
    if env:
        return env
    lib = os.environ.get("LATEFUSE_LIB")
    if lib:
        return os.path.join(os.path.dirname(os.path.abspath(lib)), "latefuse")
    return os.path.join(REPO, "build", "latefuse")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
