"""Test-wide settings: every IR block built during the tests is verified."""

import os

os.environ.setdefault("VMCORE_VERIFY_IR", "1")
