"""vmcore's IR conformance suite on the jit engine.

Eager mode (threshold 0) compiles every block before its first run, so the suite checks
the native code; the tiered default checks the hand-over between interp and native code.
"""

from __future__ import annotations

import pytest

from vmcore.testing.ir_conformance import IRConformance
from vmcore_jit_llvm.engine import JitEngine, JitOptions


class TestJitEagerConformance(IRConformance):
    @pytest.fixture
    def engine_factory(self):
        def factory(machine):
            return JitEngine(machine, JitOptions(threshold=0))

        return factory


class TestJitTieredConformance(IRConformance):
    @pytest.fixture
    def engine_factory(self):
        def factory(machine):
            return JitEngine(machine, JitOptions(threshold=20, batch=4, superblock=8))

        return factory
