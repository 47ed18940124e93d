from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


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


@pytest.fixture(autouse=True)
def _low_jit_threshold(monkeypatch):
    """A low jit threshold: the programs here are short, and their loops should run native."""
    if "VMCORE_JIT_THRESHOLD" not in os.environ:
        monkeypatch.setenv("VMCORE_JIT_THRESHOLD", "200")
