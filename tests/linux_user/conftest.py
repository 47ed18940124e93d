from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

# a low jit threshold: the programs here are short, and their loops should run native
os.environ.setdefault("VMCORE_JIT_THRESHOLD", "200")

from linux_toy import Sys, Toy  # noqa: E402


@pytest.fixture
def toy(tmp_path):
    return Toy(tmp_path)


@pytest.fixture
def proc(toy):
    return toy.process()


@pytest.fixture
def sc(proc):
    return Sys(proc)
