"""The official riscv-tests (``p`` environment) on the spike board, one test per ELF.

Needs a checkout of riscv-software-src/riscv-tests with its ``env`` submodule, named by the
environment variable ``RISCV_TESTS`` (never vendored here); skipped otherwise. ELFs are
built by ``tools/riscv_tests.py`` into ``RISCV_TESTS_BUILD`` (default: a pytest temp dir)
and run on every installed engine.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from baremetal_util import engines

TOOL = Path(__file__).resolve().parents[1] / "tools" / "riscv_tests.py"
SRC = Path(os.environ["RISCV_TESTS"]) if os.environ.get("RISCV_TESTS") else None
SUITES = (
    "rv64ui",
    "rv64um",
    "rv64ua",
    "rv64uf",
    "rv64ud",
    "rv64uc",
    "rv64mi",
    "rv64si",
    "rv64uzba",
    "rv64uzbb",
    "rv64uzbs",
)
#: tests that cannot pass yet, and why
KNOWN = {
    "rv64si-p-dirty": "needs Sv39 paging (S mode is bare so far)",
    "rv64si-p-icache-alias": "needs Sv39 paging (S mode is bare so far)",
}


def _tool():
    spec = importlib.util.spec_from_file_location("riscv_tests_tool", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cases() -> list:
    if SRC is None or not (SRC / "env" / "p" / "riscv_test.h").exists():
        return [
            pytest.param(
                None,
                None,
                marks=pytest.mark.skip(
                    reason="set RISCV_TESTS to a riscv-tests checkout with env/"
                ),
            )
        ]
    tool = _tool()
    out = []
    for suite in SUITES:
        for name in tool.suite_tests(SRC, suite):
            full = f"{suite}-p-{name}"
            marks = [pytest.mark.xfail(reason=KNOWN[full], strict=True)] if full in KNOWN else []
            out.append(pytest.param(suite, name, marks=marks, id=full))
    return out


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    if shutil.which(_tool().CC) is None:
        pytest.skip(f"{_tool().CC} not installed")
    env = os.environ.get("RISCV_TESTS_BUILD")
    return Path(env) if env else tmp_path_factory.mktemp("riscv-tests")


@pytest.mark.slow
@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize(("suite", "name"), _cases())
def test_riscv_test(suite, name, engine, build_dir):
    tool = _tool()
    elf = tool.build(SRC, build_dir, suite, name)
    reason, status, _ = tool.run(elf, engine)
    assert reason == "halt", f"{elf.name} did not exit: {reason}"
    assert status == 0, f"{elf.name} failed test case {status}"
