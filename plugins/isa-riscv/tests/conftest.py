"""The official riscv-tests are opt-in: they need a checkout the repository never holds
(``RISCV_TESTS=/path/to/riscv-tests``), so without one the module is not collected at all
rather than reported as skipped."""

import os

# Engines that tier on hotness (jit) run translated code from the first block here: these
# tests are short, and with the default threshold a "jit" run would be an interp run.
os.environ.setdefault("VMCORE_JIT_THRESHOLD", "0")

collect_ignore = [] if os.environ.get("RISCV_TESTS") else ["test_riscv_tests.py"]
