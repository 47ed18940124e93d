"""The interp engine's code generator: values read from a register before the same
instruction overwrites it (inlined expressions must not see the new value)."""

from __future__ import annotations

import functools

import pytest

from vmcore.engines.interp import InterpEngine
from vmcore.machine import StopReason
from vmcore.testing.ir_conformance import IRHarness

#: the compiled code (what these tests are about) and tier 0, which must agree
ENGINES = {"compiled": 0, "tier0": 1 << 40}


@pytest.fixture(params=list(ENGINES.values()), ids=list(ENGINES))
def engine(request):
    return functools.partial(InterpEngine, tier0=request.param)


@pytest.mark.parametrize("via_trunc", [False, True])
def test_value_read_before_overwrite_keeps_the_old_value(engine, via_trunc):
    """Like ``jalr t0, t0``: the target is computed from r5, then r5 gets the link."""
    h = IRHarness(engine)

    def jalr_like(b, pc):
        old = b.get(5)
        if via_trunc:
            old = b.zext(b.trunc(old, 32), 64)
        target = b.and_(b.add(old, 8), ~1)
        b.set(5, pc + 4)
        b.set(6, target)

    pc = h.program(jalr_like)
    assert h.run(pc, {5: 0x1001, 6: 0}) == StopReason.HALT
    assert h.s[6] == 0x1008
    assert h.s[5] == pc + 4


def test_chain_of_inlined_values_across_two_writes(engine):
    h = IRHarness(engine)

    def swap(b, pc):
        a, c = b.get(1), b.get(2)
        s = b.add(a, c)
        b.set(1, c)
        b.set(2, b.sub(s, c))
        b.set(3, s)

    pc = h.program(swap)
    assert h.run(pc, {1: 5, 2: 7, 3: 0}) == StopReason.HALT
    assert (h.s[1], h.s[2], h.s[3]) == (7, 5, 12)
