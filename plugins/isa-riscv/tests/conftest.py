"""The official riscv-tests are opt-in: they need a checkout the repository never holds
(``RISCV_TESTS=/path/to/riscv-tests``), so without one the module is not collected at all
rather than reported as skipped."""

import os

collect_ignore = [] if os.environ.get("RISCV_TESTS") else ["test_riscv_tests.py"]
