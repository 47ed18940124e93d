"""The IR conformance suite (vmcore.testing.ir_conformance) on the reference engine, on each
of its tiers: compiled at once, tier 0 only (vmcore.engines.evaluate) and tier 0 for one run
then compiled; and the tier-up itself."""

from __future__ import annotations

import functools

import pytest

from vmcore.engines import interp
from vmcore.engines.interp import InterpEngine
from vmcore.ir import GuestTrap, Helper
from vmcore.machine import StopReason
from vmcore.testing.ir_conformance import (
    CAUSE,
    CAUSE_LOAD_FAULT,
    CAUSE_MISALIGNED_LOAD,
    CAUSE_STORE_FAULT,
    CAUSE_TEST,
    DATA,
    NTRAPS,
    ROM_BASE,
    UNMAPPED,
    IRConformance,
    IRHarness,
    halt_insn,
)

#: tier-0 settings the suite runs under: runs on tier 0 before a block is compiled
TIERS = {"compiled": 0, "tier0": 1 << 40, "tier0-once": 1}


def engine(tier0: int):
    return functools.partial(InterpEngine, tier0=tier0)


class TestInterpConformance(IRConformance):
    @pytest.fixture(params=list(TIERS.values()), ids=list(TIERS))
    def engine_factory(self, request):
        return engine(request.param)


def _entry(h: IRHarness, pc: int) -> tuple:
    return h.machine.engine.cache.table(h.isa.mode_key(h.cpu))[pc]


def _is_compiled(fn) -> bool:
    return hasattr(fn, "source")


def _straight_line(h: IRHarness) -> int:
    """Five instructions, no loop: the block only ever runs when the test runs it."""
    return h.program(
        lambda b, pc: b.set(1, b.add(b.get(1), 3)),
        lambda b, pc: b.store(b.const(DATA, 64), b.get(1)),
        lambda b, pc: b.set(2, b.xor(b.load(64, b.const(DATA, 64)), b.get(2))),
        lambda b, pc: b.set(3, b.zext(b.ult(b.get(2), b.get(1)), 64)),
        lambda b, pc: b.set(4, b.add(b.get(4), 1)),
        halt=False,
    )


@pytest.mark.parametrize("n", [1, 3])
def test_block_tiers_up_after_n_runs(n):
    h = IRHarness(engine(n))
    pc = _straight_line(h)
    h.place(lambda b, pc: b.goto(pc + 4))  # ends the block; the halt follows
    h.place(halt_insn)
    eng = h.machine.engine
    results = []
    for run in range(1, n + 3):
        assert h.run(pc, {1: run, 2: 5}) == StopReason.HALT
        results.append(tuple(h.s[1:5]))
        fn = _entry(h, pc)[0]
        assert fn.origin[1] == pc
        # runs 1..n on tier 0; run n + 1 compiles the block and replaces the entry
        assert _is_compiled(fn) == (run > n), run
        assert eng.stats["tier_ups"] == (2 if run > n else 0)  # this block and the halt
    # the same results on either tier (register 4 counts the runs)
    expect = []
    for run in range(1, n + 3):
        r1 = run + 3
        r2 = r1 ^ 5
        expect.append((r1, r2, int(r2 < r1), run))
    assert results == expect


def _ran_once_on_tier0() -> tuple[IRHarness, int, object]:
    """A harness whose straight-line block at ``pc`` ran once on tier 0, and its runnable."""
    h = IRHarness(engine(1 << 40))
    pc = _straight_line(h)
    h.place(lambda b, pc: b.goto(pc + 4))
    h.place(halt_insn)
    assert h.run(pc, {1: 1, 2: 5}) == StopReason.HALT
    return h, pc, _entry(h, pc)[0]


def test_a_cold_block_keeps_no_ir_and_is_lifted_again_when_needed():
    """A tier-0 runnable keeps where its block came from, not the block: Engine.block_of
    lifts it again, and gives None once the code there is no longer what ran."""
    h, pc, fn = _ran_once_on_tier0()
    eng = h.machine.engine
    assert not hasattr(fn, "block")
    block = eng.block_of(h.cpu, fn)
    assert [ins.pc for ins in block.insns] == [pc + 4 * k for k in range(6)]
    assert [ins.bits for ins in block.insns] == list(fn.origin[2])
    h.place(lambda b, pc: b.set(1, 0), pc + 8)  # another instruction where one ran
    assert eng.block_of(h.cpu, fn) is None


def test_a_block_lifted_again_stays_until_code_is_written():
    """Asked again (tier-up, region building, the jit), block_of gives the block it
    lifted, without lifting it a third time; a write to code or a flush makes it lift
    (and check) again."""
    h, pc, fn = _ran_once_on_tier0()
    eng = h.machine.engine
    lifted = []
    lift = eng.lift
    eng.lift = lambda cpu, at, *rest: lifted.append(at) or lift(cpu, at, *rest)
    first = eng.block_of(h.cpu, fn)
    assert eng.block_of(h.cpu, fn) is first
    assert lifted == [pc]
    eng.flush()
    again = eng.block_of(h.cpu, fn)
    assert again is not first and lifted == [pc, pc]
    assert [i.bits for i in again.insns] == [i.bits for i in first.insns]
    assert eng.block_of(h.cpu, fn) is again
    h.place(lambda b, pc: b.set(1, 0), pc + 8)  # a write to code: a new generation
    assert eng.block_of(h.cpu, fn) is None


def test_tier0_off_compiles_at_once():
    h = IRHarness(engine(0))
    pc = _straight_line(h)
    h.place(lambda b, pc: b.goto(UNMAPPED))
    h.run(pc)
    assert _is_compiled(_entry(h, pc)[0])
    assert h.machine.engine.stats["tier_ups"] == 0


def test_tier0_setting_from_the_environment(monkeypatch):
    monkeypatch.setenv("VMCORE_INTERP_TIER0", "7")
    assert IRHarness(InterpEngine).machine.engine.tier0 == 7
    monkeypatch.setenv("VMCORE_INTERP_TIER0", "0")
    assert IRHarness(InterpEngine).machine.engine.tier0 == 0
    monkeypatch.delenv("VMCORE_INTERP_TIER0")
    assert IRHarness(InterpEngine).machine.engine.tier0 == interp.TIER0
    monkeypatch.setenv("VMCORE_INTERP_TIER0", "lots")
    with pytest.raises(ValueError, match="VMCORE_INTERP_TIER0"):
        IRHarness(InterpEngine).machine.engine  # noqa: B018 - created on first use


def _raiser(cpu, tval):
    raise GuestTrap(CAUSE_TEST, tval)


_RAISER = Helper(_raiser, state=True, name="raiser")

#: instructions that fault: (emit, expected cause)
FAULTS = {
    "load-unmapped": (lambda b, pc: b.set(9, b.load(32, b.const(UNMAPPED, 64))), CAUSE_LOAD_FAULT),
    "store-rom": (lambda b, pc: b.store(b.const(ROM_BASE, 64), b.get(1)), CAUSE_STORE_FAULT),
    "misaligned": (
        lambda b, pc: b.set(9, b.load(64, b.const(DATA + 3, 64), aligned=True)),
        CAUSE_MISALIGNED_LOAD,
    ),
    "trap_if": (lambda b, pc: b.trap_if(b.ne(b.get(1), 0), CAUSE_TEST, b.get(2)), CAUSE_TEST),
    "helper": (lambda b, pc: (b.set(7, 1), b.call(_RAISER, b.get(1))), CAUSE_TEST),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("at", [0, 2, 4])
@pytest.mark.parametrize("mmu", ["flat", "slow"])
def test_traps_on_tier0_match_compiled(fault, at, mmu):
    """Same pc, registers, retired count and memory after a trap in a tier-0 block as in a
    compiled one, and again once the tier-0 block has tiered up."""
    emit, cause = FAULTS[fault]

    def program(h):
        fns = [lambda b, pc, i=i: b.set(10 + i, b.add(b.get(1), i)) for i in range(6)]
        fns[at] = emit
        fns.insert(1, lambda b, pc: b.store(b.const(DATA, 64), b.get(2)))
        return h.program(*fns)

    def outcome(tier0: int, runs: int):
        h = IRHarness(engine(tier0), mmu)
        pc = program(h)
        out = []
        for run in range(runs):
            h.run(pc, {1: 0x100 + run, 2: 0x77 + run, 7: 0, 9: 0})
            out.append((list(h.s), h.cpu.retired(), h.cpu.pc, h.read(DATA, 8)))
        assert h.s[NTRAPS] == 1
        return out

    compiled = outcome(0, 3)
    assert compiled[0][0][CAUSE] == cause
    assert outcome(1 << 40, 3) == compiled
    assert outcome(1, 3) == compiled  # run 1 on tier 0, runs 2 and 3 compiled


@pytest.mark.parametrize("tier0", [0, 1 << 40])
def test_fused_steps_keep_values(tier0):
    """Tier 0 runs ``t = op; set slot, t`` as one step and two reads of state as one: the
    value stays usable afterwards and reads still see earlier writes."""
    h = IRHarness(engine(tier0))

    def emit(b, pc):
        t = b.add(b.get(1), 1)
        b.set(2, t)  # fused with the add
        b.set(3, b.add(t, 5))  # t used again after the fused set
        a, c = b.get(2), b.get(3)  # two reads in one step
        b.set(4, b.sub(c, a))
        b.set(5, b.get(5, 32))  # masked read fused with its set
        b.set(6, b.ult(a, c))  # 1-bit results are not fused
        b.set(7, b.get(1))
        b.set(1, 100)
        b.set(8, b.get(1))  # not merged with the read before the set

    assert h.run(h.program(emit), {1: 10, 5: (7 << 40) | 9}) == StopReason.HALT
    assert h.s[1:9] == [100, 11, 16, 5, 9, 1, 10, 100]
