"""The official riscv-tests on the spike board, one test per ELF: the ``p`` environment
(bare, M mode) for every suite and the ``v`` environment (U mode under Sv39 paging with
demand-mapped pages) for the suites that have it.

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
KNOWN: dict[str, str] = {}


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
                None,
                marks=pytest.mark.skip(
                    reason="set RISCV_TESTS to a riscv-tests checkout with env/"
                ),
            )
        ]
    tool = _tool()
    out = []
    for env in ("p", "v"):
        for suite in SUITES:
            if not tool.has_env(SRC, suite, env):
                continue
            for name in tool.suite_tests(SRC, suite):
                full = f"{suite}-{env}-{name}"
                known = KNOWN.get(full)
                marks = [pytest.mark.xfail(reason=known, strict=True)] if known else []
                out.append(pytest.param(suite, name, env, marks=marks, id=full))
    return out


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    if shutil.which(_tool().CC) is None:
        pytest.skip(f"{_tool().CC} not installed")
    env = os.environ.get("RISCV_TESTS_BUILD")
    return Path(env) if env else tmp_path_factory.mktemp("riscv-tests")


@pytest.mark.slow
@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize(("suite", "name", "env"), _cases())
def test_riscv_test(suite, name, env, engine, build_dir):
    tool = _tool()
    elf = tool.build(SRC, build_dir, suite, name, env)
    reason, status, _ = tool.run(elf, engine)
    assert reason == "halt", f"{elf.name} did not exit: {reason}"
    assert status == 0, f"{elf.name} failed test case {status}"
