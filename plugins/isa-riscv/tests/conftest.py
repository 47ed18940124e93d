"""The official riscv-tests are opt-in: they need a checkout the repository never holds
(``RISCV_TESTS=/path/to/riscv-tests``), so without one the module is not collected at all
rather than reported as skipped."""

import os

import pytest

collect_ignore = [] if os.environ.get("RISCV_TESTS") else ["test_riscv_tests.py"]


@pytest.fixture(autouse=True)
def _native_from_the_first_block(monkeypatch):
    """Engines that tier on hotness (jit) run translated code from the first block here:
    these tests are short, and with the default threshold a "jit" run would be interp's."""
    if "VMCORE_JIT_THRESHOLD" not in os.environ:
        monkeypatch.setenv("VMCORE_JIT_THRESHOLD", "0")
