"""The IR conformance suite (vmcore.testing.ir_conformance) on the reference engine."""

from __future__ import annotations

import pytest

from vmcore.engines.interp import InterpEngine
from vmcore.testing.ir_conformance import IRConformance


class TestInterpConformance(IRConformance):
    @pytest.fixture
    def engine_factory(self):
        return InterpEngine
