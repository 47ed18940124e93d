"""The jit engine against interp on the toy ISA: lockstep runs compare the full state."""

from __future__ import annotations

import gc
import struct
import weakref

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toy import (
    ADD,
    ADDI,
    ALU_OPS,
    ALU_WIDTHS,
    BASE,
    BEQ,
    BNE,
    CALLS,
    ERET,
    FADD,
    FCVT,
    HALT,
    JR,
    LD,
    LD16,
    LDA,
    LDB,
    LI,
    MMIO_BASE,
    NOP,
    PURE,
    ST,
    ST16,
    ST32A,
    STB,
    TRAP,
    TRAPIF,
    TVEC,
    alu,
    enc,
    make_machine,
)  # fmt: skip

from vmcore.engines.interp import InterpEngine
from vmcore.machine import StopReason
from vmcore.memory import PAGE_SIZE
from vmcore.testing.ir_conformance import IRHarness, halt_insn
from vmcore_jit_llvm.engine import MISS_LIMIT, JitEngine, JitOptions, _Native, _Setup

DATA = 0x8000


def jit(threshold=1, batch=1000, background=False, **kw):
    """A jit factory; compiling inline (background=False) makes the native stats exact."""

    def factory(machine):
        opts = JitOptions(threshold=threshold, batch=batch, background=background, **kw)
        return JitEngine(machine, opts)

    return factory


def snapshot(m):
    cpu = m.cpus[0]
    return list(cpu.s), cpu.instret, m.bus.read_bytes(BASE, 0x10000)


CHUNKS = (1, 3, 10, 100, 1000, 10_000, 100_000, 10_000_000)


def lockstep(words, chunks=CHUNKS, data=None, engine=None):
    a = make_machine(InterpEngine, words, data)
    b = make_machine(engine or jit(), words, data)
    for chunk in chunks:
        ra, rb = a.run(limit=chunk), b.run(limit=chunk)
        sa, sb = snapshot(a), snapshot(b)
        assert sa[0] == sb[0], f"state differs after chunk {chunk}"
        assert sa[1] == sb[1], "instret differs"
        assert sa[2] == sb[2], "memory differs"
        assert ra == rb
        assert a.exit_code == b.exit_code
        assert a.dev.writes == b.dev.writes
        if ra != "limit":
            break
    return a, b


def const(rd, value):
    """Words putting ``value`` (>= 0) into ``rd`` (clobbers r7)."""
    if value < 2048:
        return [enc(LI, rd, imm=value)]
    return const(rd, value >> 11) + [
        enc(LI, 7, imm=11),
        alu("shl", 64, rd, rd, 7),
        enc(ADDI, rd, rd, imm=value & 0x7FF),
    ]


def loop_program(n=1000):
    return [
        enc(LI, 1, imm=0),
        *const(2, n),
        enc(ADD, 1, 1, 2),  # loop
        enc(ADDI, 2, 2, imm=-1),
        enc(BNE, 0, 2, 0, imm=-2),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]


def test_loop_runs_native_and_matches():
    a, b = lockstep(loop_program(100_000))
    assert b.exit_code == 0 and a.cpus[0].s[1] == sum(range(100_001))
    assert b.engine.stats["native_blocks"] >= 1
    assert b.engine.stats["native_entries"] >= 1


def test_background_compile_matches_and_goes_native():
    """Tier-2 recompiles compiled on the compiler thread, installed between slices: same
    state as interp."""
    words = indirect_loop_program(30_000)
    engine = jit(hot_entries=100, background=True)
    a, b = lockstep(words, chunks=[1000] * 5 + [10_000] * 20, engine=engine)
    assert b.exit_code == 0
    b.engine._compiler.drain()
    b.engine._collect()
    st_ = b.engine.stats
    assert st_["tier2_queued"] >= 1 and st_["background_units"] >= 1
    assert st_["units"] > st_["background_units"]  # the quick units, inline


def held_compiles(words, engine):
    """An interp machine and one on ``engine`` whose compiler thread receives no compile
    jobs: they collect in ``held`` until given to ``submit`` (the native set-up still goes
    through)."""
    a = make_machine(InterpEngine, words)
    b = make_machine(engine, words)
    held = []
    b.engine._compiler.submit = hold_jobs(b.engine._compiler.submit, held)
    return a, b, held, b.engine._compiler.submit.submit


def hold_jobs(submit, held):
    """A compiler's ``submit`` that keeps compile jobs in ``held`` (see held_compiles)."""

    def hold(job):
        if isinstance(job, _Setup):
            submit(job)
        else:
            held.append(job)

    hold.submit = submit
    return hold


def test_background_loop_runs_quick_code_until_its_optimised_code_lands():
    """A hot loop compiles twice: quickly inline, so it is native at once, and at the
    full level on the compiler thread; the optimised code replaces the quick code when it
    lands, and both match interp."""
    a, b, held, submit = held_compiles(loop_program(300_000), jit(background=True))
    eng = b.engine
    for _ in range(3):
        a.run(limit=20_000)
        b.run(limit=20_000)
    assert len(held) == 1 and held[0].promote, "the loop, at the full level, with promotion"
    assert eng.stats["native_insns"] > 0, "the quick code ran meanwhile"
    assert eng.stats["background_units"] == 0
    quick_code = dict(eng._native[held[0].names[0][1][0].mode])
    for job in held:
        submit(job)
    eng._compiler.drain()
    for _ in range(5):
        a.run(limit=100_000)
        b.run(limit=100_000)
        assert snapshot(a) == snapshot(b)
    assert eng.stats["background_units"] == 1
    assert eng._native[held[0].names[0][1][0].mode] != quick_code, "the -O2 code replaced it"
    assert a.run() == b.run() == "halt" and snapshot(a) == snapshot(b)


def test_a_miss_on_a_queued_block_compiles_the_queue():
    """Native code leaving for a block that waits in the queue (hot, but the batch is not
    full) compiles the queue at once; a miss on any other block leaves the queue be."""
    m = make_machine(jit(threshold=4000, batch=1000), loop_program(10))
    eng, cpu = m.engine, m.cpus[0]
    mode = cpu.isa.mode_key(cpu)
    assert m.run() == "halt"
    eng._native_jit()
    queued, other = BASE, BASE + 4
    eng._enqueue(cpu, [eng.lift(cpu, queued)], True)
    eng._missed(cpu, mode, other)
    assert queued in eng._queued and queued not in eng._native[mode]
    eng._missed(cpu, mode, queued)
    assert not eng._queued and queued in eng._native[mode]


def test_a_compile_forced_by_a_miss_takes_blocks_halfway_to_the_limit():
    """The blocks of an outer loop miss in step: when a miss compiles the queue, blocks
    with half of MISS_LIMIT misses join its module (each would otherwise get one of its
    own a moment later); blocks with fewer do not."""
    m = make_machine(jit(threshold=4000, batch=1000), loop_program(10))
    eng, cpu = m.engine, m.cpus[0]
    mode = cpu.isa.mode_key(cpu)
    assert m.run() == "halt"
    eng._native_jit()
    queued, near, far = BASE, BASE + 8, BASE + 20  # the three blocks of the program
    assert sorted(eng.cache.table(mode)) == [queued, near, far]
    eng._enqueue(cpu, [eng.lift(cpu, queued)], True)
    for pc, misses in ((near, MISS_LIMIT // 2), (far, MISS_LIMIT // 2 - 1)):
        for _ in range(misses):
            eng._missed(cpu, mode, pc)
    assert not eng._native[mode]
    eng._missed(cpu, mode, queued)
    assert queued in eng._native[mode] and near in eng._native[mode]
    assert far not in eng._native[mode]


def test_a_machine_done_with_is_freed_with_its_compiler_thread():
    """The compiler thread holds its engine only while it compiles: once nobody uses the
    machine, the engine, its LLVM instances and the thread go (each engine used to stay
    alive with its thread, about 16 MB of LLVM code per run)."""
    b = make_machine(jit(background=True), loop_program(300_000))
    assert b.run() == "halt"
    eng = b.engine
    eng._compiler.drain()
    thread = eng._compiler.thread
    assert thread is not None and thread.is_alive(), "the run used the compiler thread"
    engine_ref, native_ref = weakref.ref(eng), weakref.ref(eng._jit)
    del b, eng
    gc.collect()
    alive = engine_ref()
    holders = [type(r).__name__ for r in gc.get_referrers(alive)] if alive is not None else []
    del alive
    assert not holders, f"the engine is still held by: {holders}"
    assert native_ref() is None
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_an_llvm_instance_dying_in_a_cycle_is_released_engine_before_context():
    """An engine's MCJIT instances die in a cycle of garbage with it, where the collector
    runs each object's __del__ in no set order (llvmlite's context once went before the
    execution engine owning modules of it: a segfault). A finalizer that holds the LLVM
    objects disposes of them instead, the execution engine before the context."""
    n = _Native(0)
    n.add("define i64 @f() {\n  ret i64 1\n}\n")
    ee, ctx, release = n.ee, n.ctx, n._release
    n.cycle = n
    del n
    gc.collect()
    assert not release.alive
    assert ee.closed and ctx.closed


def test_background_compile_of_a_rewritten_page_is_discarded():
    words = indirect_loop_program(30_000)
    b = make_machine(jit(hot_entries=100, background=True), words)
    eng = b.engine
    held = []
    eng._compiler.submit = hold_jobs(eng._compiler.submit, held)
    submit = eng._compiler.submit.submit
    for _ in range(3):  # counted on interp; native until hot; queued, sent at a slice start
        b.run(limit=5_000)
    assert held, "the hot blocks' tier-2 recompile should have been sent to the compiler"
    eng.invalidate_page(BASE)  # its code changes while it compiles
    for job in held:
        submit(job)
    eng._compiler.drain()
    eng._collect()
    assert eng.stats["compiles_discarded"] == len(held)
    assert not eng._inflight and not eng._compiling
    assert b.run(limit=10_000_000) == "halt"


@pytest.mark.parametrize("limit", [1, 2, 5, 17, 100, 2999, 3001])
def test_budget_is_exact(limit):
    words = loop_program(5000)
    a = make_machine(InterpEngine, words)
    b = make_machine(jit(), words)
    for _ in range(5):
        a.run(limit=limit)
        b.run(limit=limit)
        assert a.cpus[0].instret == b.cpus[0].instret
        assert a.cpus[0].s == b.cpus[0].s


def test_engine_run_budget_directly():
    words = loop_program(100_000)
    b = make_machine(jit(), words)
    cpu = b.cpus[0]
    eng = b.engine
    assert eng.run(cpu, 50) == 50
    total = 50
    for budget in (7, 1000, 3, 12345):
        assert eng.run(cpu, budget) == budget
        total += budget
    assert cpu.instret == total


def memory_program():
    return [
        *const(3, DATA),
        enc(NOP),
        enc(LI, 2, imm=200),
        enc(LI, 1, imm=0),
        enc(ST, 0, 3, 2, imm=0),  # loop: [r3] = r2
        enc(LD, 5, 3, imm=0),
        enc(ADD, 1, 1, 5),
        enc(STB, 0, 3, 1, imm=9),
        enc(LDB, 6, 3, imm=9),
        enc(ST16, 0, 3, 1, imm=11),
        enc(LD16, 6, 3, imm=11),
        enc(ADD, 1, 1, 6),
        enc(ADDI, 3, 3, imm=16),
        enc(ADDI, 2, 2, imm=-1),
        enc(BNE, 0, 2, 0, imm=-10),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]


def test_memory_loop():
    a, b = lockstep(memory_program())
    assert a.exit_code == 0


def mmio_program():
    return [
        enc(LI, 3, imm=1),
        enc(LI, 4, imm=20),
        alu("shl", 64, 3, 3, 4),  # r3 = 0x100000 (MMIO)
        enc(LI, 2, imm=100),
        enc(LD, 5, 3, imm=8),  # loop
        enc(ADD, 1, 1, 5),
        enc(ST, 0, 3, 1, imm=16),
        enc(ADDI, 2, 2, imm=-1),
        enc(BNE, 0, 2, 0, imm=-4),
        enc(LI, 6, imm=0xDE),
        enc(LI, 7, imm=8),
        alu("shl", 64, 6, 6, 7),
        enc(ADDI, 6, 6, imm=0xAD),
        enc(ST, 0, 3, 6, imm=0),  # halts the machine via MMIO (exit code 7)
        enc(BEQ, 0, 0, 0, imm=1),  # ... at the end of this block
        enc(LI, 1, imm=1),
        enc(LI, 0, imm=3),
        enc(HALT),
    ]


def test_mmio_and_stop_from_device():
    assert MMIO_BASE == 0x100000
    a, b = lockstep(mmio_program())
    assert a.exit_code == 7


HANDLER = 0x100  #: the trap handler of with_handler's programs: r7 += 1, then eret


def with_handler(words):
    """``words`` padded up to HANDLER, then the handler."""
    assert 4 * len(words) <= HANDLER
    return [*words, *[enc(NOP)] * ((HANDLER - 4 * len(words)) // 4)] + [
        enc(ADDI, 7, 7, imm=1),
        enc(ERET),
    ]


def trap_machines(words, engine):
    """An interp machine and one on ``engine``, each with its trap vector at HANDLER."""
    a, b = make_machine(InterpEngine, words), make_machine(engine, words)
    for m in (a, b):
        m.cpus[0].s[TVEC] = BASE + HANDLER
    return a, b


def trap_program():
    words = [
        enc(LI, 3, imm=HANDLER),
        enc(ADDI, 4, 0, imm=0),
        # set tvec through memory? use a helper-free path: r7 = handler, stored by the test
        enc(LI, 2, imm=300),
        *const(5, DATA),
        enc(LI, 7, imm=0),
        enc(LDA, 1, 5, imm=2),  # loop: misaligned -> handler
        enc(ADDI, 1, 1, imm=1),
        enc(TRAPIF, 0, 4, 2),  # r4 == 0 -> trap 3
        enc(ST32A, 0, 5, 2, imm=1),  # misaligned store
        enc(LD, 1, 0, imm=-8),  # unmapped -> bus fault (cause 5)
        enc(ADDI, 2, 2, imm=-1),
        enc(BNE, 0, 2, 0, imm=-6),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]
    return with_handler(words)


@pytest.mark.parametrize("threshold", [1, 4000])
def test_precise_traps(threshold):
    """Traps in a loop: native (threshold 1), and (4000) on interp's region of the loop,
    which the jit runs as its blocks' own runnables chained (JitEngine._region_function)."""
    a, b = trap_machines(trap_program(), jit(threshold=threshold))
    for chunk in (1, 5, 30, 300, 3000, 30000):
        ra, rb = a.run(limit=chunk), b.run(limit=chunk)
        assert snapshot(a) == snapshot(b)
        assert ra == rb
        if ra != "limit":
            break
    assert a.exit_code == 0
    assert a.cpus[0].s[7] == 4 * 300
    if threshold == 1:
        assert b.engine.stats["exit_trap"] + b.engine.stats["exit_misaligned"] > 0
        assert b.engine.stats["exit_exception"] > 0
    else:
        assert b.engine.stats["regions"] >= 1


def test_trap_deep_in_an_interp_region():
    """A trap in the second block of a loop, many iterations into one run of interp's
    region of it (the jit chains the blocks' runnables): the retired count and state at
    the trap come out as on interp."""
    words = [*const(2, 300), *const(6, 100), enc(LI, 7, imm=0)]
    words += [
        enc(ADDI, 1, 1, imm=1),  # loop
        enc(BNE, 0, 0, 0, imm=1),  # never taken: ends the block
        alu("sub", 64, 4, 2, 6),
        enc(TRAPIF, 0, 4, 2),  # r2 == 100 -> trap
        enc(ADDI, 2, 2, imm=-1),
        enc(BNE, 0, 2, 0, imm=-5),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]
    a, b = trap_machines(with_handler(words), jit(threshold=4000))
    for chunk in (50, 1000, 100_000):
        assert a.run(limit=chunk) == b.run(limit=chunk)
        assert snapshot(a) == snapshot(b)
    assert a.exit_code == 0 and a.cpus[0].s[7] == 1 and a.cpus[0].s[1] == 300
    assert b.engine.stats["regions"] == 1 and b.engine.stats["native_insns"] == 0


def test_store_into_code_from_an_interp_region():
    """A loop on interp's region (chained runnables) stores into another page holding code
    (a routine it calls every iteration, so the page stays code) at the start of its
    block: the block stops after the store and the count of retired instructions stays
    exact (the state matches interp at every chunk)."""
    routine, dead, loop = 50, 60, 0x1000 // 4  # word indices: page 0 (code), page 1
    words = [*const(5, BASE + 4 * dead), *const(3, enc(NOP)), *const(2, 200)]
    words += [*const(4, BASE + 4 * routine), *const(6, BASE + 4 * (loop + 4))]
    words += [*const(8, BASE + 4 * loop), enc(JR, 0, 8)]
    assert len(words) < routine
    words += [enc(NOP)] * (routine - len(words))
    words += [enc(ADDI, 9, 9, imm=1), enc(JR, 0, 6)]  # routine: back to the loop
    words += [enc(NOP)] * (loop - len(words))
    words += [
        enc(ST32A, 0, 5, 3, imm=0),  # loop: into page 0
        enc(ADDI, 1, 1, imm=1),
        enc(ADDI, 2, 2, imm=-1),
        enc(JR, 0, 4),  # to the routine
        enc(BNE, 0, 2, 0, imm=-4),  # its return point
        enc(LI, 0, imm=0),
        enc(HALT),
    ]
    a, b = lockstep(words, chunks=(7, 100, 1000, 100_000), engine=jit(threshold=100_000))
    assert a.exit_code == 0 and a.cpus[0].s[1] == 200 and a.cpus[0].s[9] == 200
    assert b.engine.stats["regions"] == 1 and b.engine.stats["native_insns"] == 0


def test_unhandled_trap_and_illegal():
    words = loop_program(300)[:-2] + [enc(0xFE, 1, 2, 3)]
    lockstep(words)
    words = loop_program(300)[:-2] + [enc(TRAP, imm=9)]
    a, b = lockstep(words)
    assert a.exit_code == 109


def test_helpers_and_fp():
    one, two = struct.unpack("<Q", struct.pack("<d", 1.0))[0], 0
    words = [
        enc(LI, 2, imm=500),
        enc(LI, 3, imm=1),
        enc(LI, 4, imm=3),
        enc(CALLS, 1, 2),  # loop: state helper reads retired()
        enc(PURE, 5, 1, 2),
        enc(FADD, 6, 6, 3, imm=0),  # tiny denormal adds (inexact-free) ...
        enc(FADD, 6, 6, 4, imm=1),
        enc(FCVT, 7, 2),
        enc(ADDI, 2, 2, imm=-1),
        enc(BNE, 0, 2, 0, imm=-6),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]
    assert one and two == 0
    a, b = lockstep(words)
    assert a.exit_code == 0


def test_self_modifying_code():
    # half-way through, the loop rewrites its own "addi r1, r1, 1" into "addi r1, r1, 2"
    patch = enc(ADDI, 1, 1, imm=2)
    target = BASE
    for _ in range(3):
        prefix = const(3, patch) + const(5, target) + [enc(LI, 2, imm=400), enc(LI, 6, imm=200)]
        target = BASE + 4 * (len(prefix) + 4)
    # (a state helper after the store, like a fence, keeps interp's regions from running
    # the stale loop: what happens to code already running when it is overwritten differs)
    words = prefix + [
        enc(ADDI, 2, 2, imm=-1),  # loop
        enc(BNE, 0, 2, 6, imm=3),
        enc(ST32A, 0, 5, 3, imm=0),
        enc(CALLS, 4, 0),
        enc(ADDI, 1, 1, imm=1),  # patched
        enc(BNE, 0, 2, 0, imm=-5),
        enc(BEQ, 0, 0, 0, imm=1),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]
    a, b = lockstep(words)
    assert a.exit_code == 0
    assert a.cpus[0].s[1] > 500
    assert b.engine.stats["invalidations"] >= 1


def indirect_loop_program(n, body=None, setup=()):
    """``body`` (default: r1 += 3), n times, in two blocks that jump to each other
    indirectly (no loop region); ``setup`` runs once before (it may not use r2-r4, and
    r7 is clobbered before it)."""
    body = list(body or [enc(ADDI, 1, 1, imm=3)])
    head = 12 + len(setup)
    count = head + len(body) + 1
    words = [*const(2, n), *const(3, BASE + 4 * head), *const(4, BASE + 4 * count)]
    words += [*setup, *[enc(NOP)] * (head - len(words) - len(setup))]
    words += [
        *body,  # head
        enc(JR, 0, 4),
        enc(ADDI, 2, 2, imm=-1),  # count
        enc(BEQ, 0, 2, 0, imm=2),
        enc(JR, 0, 3),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]
    return words


def test_indirect_jumps():
    a, b = lockstep(indirect_loop_program(300))
    assert a.exit_code == 0 and a.cpus[0].s[1] == 900


def test_loop_calling_through_a_pointer_stays_in_its_region():
    """A loop whose body jumps to a callee through a register and is jumped back to: the
    region follows both seen jumps (a switch on the target, then a plain branch), so the
    callee runs inside the loop's function; the state matches interp at every chunk."""
    head, n = 12, 3000
    callee, back = head + 6, head + 2
    words = [*const(2, n), *const(3, BASE + 4 * callee), *const(4, BASE + 4 * back)]
    words += [enc(NOP)] * (head - len(words))
    words += [
        enc(ADDI, 1, 1, imm=3),  # head
        enc(JR, 0, 3),  # "call"
        enc(ADDI, 2, 2, imm=-1),  # back: the return point
        enc(BNE, 0, 2, 0, imm=-3),
        enc(LI, 0, imm=0),
        enc(HALT),
        enc(ADDI, 5, 5, imm=1),  # callee
        enc(JR, 0, 4),  # "return"
    ]
    chunks = [7, 1000, 5000] + [20_000] * 5
    a, b = lockstep(words, chunks=chunks, engine=jit(threshold=4000, batch=64))
    assert a.exit_code == 0 and a.cpus[0].s[5] == n and a.cpus[0].s[1] == 3 * n
    assert b.engine.stats["seen_jumps"] >= 2
    assert b.engine.stats["native_regions"] >= 1


def test_jump_among_a_regions_own_blocks_stays_in_it():
    """A loop whose body ends in a computed jump to one of its own blocks (a switch's jump
    table, no call): the seen jump becomes a branch inside the region, as interp runs it."""
    head, n = 12, 20_000
    words = [*const(2, n), *const(3, BASE + 4 * (head + 2))]
    words += [enc(NOP)] * (head - len(words))
    words += [
        enc(ADDI, 1, 1, imm=3),  # head
        enc(JR, 0, 3),  # the "jump table": always to the next block
        enc(ADDI, 2, 2, imm=-1),
        enc(BNE, 0, 2, 0, imm=-3),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]
    chunks = [7, 1000, 5000] + [20_000] * 5
    a, b = lockstep(words, chunks=chunks, engine=jit(threshold=4000, batch=64))
    assert a.exit_code == 0 and a.cpus[0].s[1] == 3 * n
    assert b.engine.stats["seen_jumps"] >= 1 and b.engine.stats["native_regions"] >= 1


def test_hot_quick_blocks_are_recompiled_optimised():
    """Blocks joined by indirect jumps (no loop region): compiled quickly first, then, after
    ``hot_entries`` entries, again at the full level; same state as interp throughout."""
    words = indirect_loop_program(2000)
    a, b = lockstep(words, chunks=[7, 300, 1000] + [3000] * 10, engine=jit(hot_entries=100))
    assert a.exit_code == 0 and a.cpus[0].s[1] == 6000
    st_ = b.engine.stats
    assert st_["exit_hot"] >= 2 and st_["tier2_queued"] >= 2
    assert st_["units"] >= 2


def test_quick_blocks_compiled_together_share_a_function():
    """Straight-line blocks compiled in one batch become one function (a pack) entered at
    each of them through the ENTRY slot: the same state as interp and as a function per
    block; each still counts its entries, exits hot and is recompiled alone at the full
    level, which the others then reach through the table."""
    words = indirect_loop_program(2000)
    chunks = [7, 300, 1000] + [3000] * 10
    a, b = lockstep(words, chunks=chunks, engine=jit(hot_entries=100))
    assert a.exit_code == 0 and a.cpus[0].s[1] == 6000
    st_ = b.engine.stats
    assert st_["packed_blocks"] >= 2 and st_["member_entries"] >= 1
    assert st_["exit_hot"] >= 2 and st_["tier2_queued"] >= 2
    _, c = lockstep(words, chunks=chunks, engine=jit(hot_entries=100, pack=1))
    assert c.engine.stats["packed_blocks"] == 0 and c.engine.stats["member_entries"] == 0
    assert snapshot(c) == snapshot(b)


def test_blocks_about_to_be_native_are_not_compiled_to_python():
    """interp compiles a block to Python after its tier-0 runs; the jit declines that
    for a straight-line block already half way to its threshold (it is compiled natively
    a few runs later), and the state stays the same as interp's."""
    words = indirect_loop_program(2000)
    a = make_machine(InterpEngine, words)
    a.run()
    assert a.engine.stats["tier_ups"] >= 2  # interp alone: both blocks become Python
    chunks = [7, 300, 1000] + [3000] * 10
    _, b = lockstep(words, chunks=chunks, engine=jit(threshold=4000, batch=2))
    st_ = b.engine.stats
    assert st_["tier_ups"] == 0 and st_["native_blocks"] >= 2


def test_quick_units_suit_the_fast_instruction_selector(tmp_path):
    """Straight-line code compiled at -O0 calls the Python callbacks with the C convention
    and tests their status bit by bit: LLVM's fast selector handles neither the stubs'
    convention nor the switch LLVM makes of equality tests, and falls back to the slow
    selector for them (that fallback was 40% of -O0 compile time)."""
    # a block with loads and stores (slow paths, so callbacks) that is no loop region
    n = 50
    body = [
        enc(ST, 0, 9, 2, imm=0),
        enc(LD, 5, 9, imm=0),
        enc(STB, 0, 9, 5, imm=9),
        enc(LDB, 6, 9, imm=9),
        enc(ADD, 1, 1, 6),
    ]
    words = indirect_loop_program(n, body, setup=const(9, DATA))
    a, b = lockstep(words, engine=jit(dump=str(tmp_path)))
    assert a.exit_code == 0 and a.cpus[0].s[1] == sum(range(1, n + 1))
    units = [p for p in tmp_path.glob("unit*.ll") if not p.name.endswith(".opt.ll")]
    quick = [p for p in units if "\nhot:" in p.read_text()]
    assert quick, "no quick unit was compiled"
    for path in quick:
        text = path.read_text()
        assert "call i32 inttoptr" in text  # the slow paths' callbacks, called directly
        assert "preserve_mostcc" not in text
        # the one switch allowed: a pack's or region's entry (BlockGen.member_entries)
        optimised = path.with_suffix(".opt.ll").read_text()
        switches = [line for line in optimised.splitlines() if "switch " in line]
        assert all("switch i64 %entry.pc," in line for line in switches), switches


def test_tiering_threshold_and_stats():
    words = loop_program(20_000)
    b = make_machine(jit(threshold=50, batch=4), words)
    b.run()
    st_ = b.engine.stats
    assert b.exit_code == 0
    assert st_["native_blocks"] >= 1 and st_["units"] >= 1 and st_["compile_ns"] > 0
    assert st_["translations"] >= 1


def test_flush_and_reset_rerun():
    words = loop_program(2000)
    b = make_machine(jit(), words)
    b.run()
    first = list(b.cpus[0].s)
    b.engine.flush()
    b.reset(BASE)
    b.run()
    assert b.cpus[0].s == first
    assert b.engine.stats["native_flushes"] >= 1


def test_small_cache_is_flushed_whole():
    a, b = lockstep(memory_program(), engine=jit(max_blocks=2, batch=1))
    assert b.engine.stats["native_flushes"] >= 1


def test_dump(tmp_path):
    b = make_machine(jit(dump=str(tmp_path)), loop_program(500))
    b.run()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(f.endswith(".ll") for f in files)
    assert any(f.endswith(".s") for f in files)
    text = (tmp_path / "unit0.s").read_text()
    assert "guest pc" in text and ":" in text


# -- random ALU programs ------------------------------------------------------------------

alu_insn = st.builds(
    lambda name, width, rd, rs, rt: alu(name, width, rd, rs, rt),
    st.sampled_from(ALU_OPS),
    st.sampled_from(ALU_WIDTHS),
    st.integers(1, 6),
    st.integers(0, 7),
    st.integers(0, 7),
)
seed_insn = st.builds(
    lambda rd, imm, sh: [enc(LI, rd, imm=imm), enc(LI, 7, imm=sh), alu("rotl", 64, rd, rd, 7)],
    st.integers(1, 6),
    st.integers(-2048, 2047),
    st.integers(0, 63),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(alu_insn, seed_insn), min_size=1, max_size=25))
def test_random_alu_programs(prog):
    words = []
    for item in prog:
        words += item if isinstance(item, list) else [item]
    words += [enc(BEQ, 0, 0, 0, imm=1), enc(LI, 0, imm=0), enc(HALT)]
    a = make_machine(InterpEngine, words)
    b = make_machine(jit(), words)
    # run twice from reset: the second run is native (blocks compiled after the first)
    for _ in range(2):
        a.reset(BASE)
        a.run()
        b.cpus[0].s[:] = [0] * 15
        b.cpus[0].pc = BASE
        b.cpus[0].instret = 0
        b.run()
        assert a.cpus[0].s == b.cpus[0].s
        assert a.cpus[0].instret == b.cpus[0].instret
    assert b.engine.stats["native_entries"] >= 1


def test_random_programs_really_run_native():
    words = [alu(n, w, 1, 2, 3) for n in ALU_OPS for w in ALU_WIDTHS]
    words += [enc(BEQ, 0, 0, 0, imm=1), enc(LI, 0), enc(HALT)]
    b = make_machine(jit(), words)
    b.run()
    b.cpus[0].s[:] = [0] * 15
    b.cpus[0].pc = BASE
    b.run()
    assert b.engine.stats["native_entries"] >= 1
    assert ADD != LD  # keep the names used


def test_stores_below_a_code_page_stay_native():
    """A loop storing into the last bytes of the page before its own code. The fast path
    reads the code bytes of a store's page and the next one together, so each of these
    stores raises a false alarm; the store then leaves its unit for its next instruction
    natively, without a call into Python or a return to the run loop."""
    h = IRHarness(jit(threshold=0))
    data = h.new_page()
    h._next_pc = start = data + PAGE_SIZE
    h.place(lambda b, pc: b.store(b.const(start - 8), b.get(1)))
    h.place(lambda b, pc: b.set(1, b.add(b.get(1), 1)))
    h.place(lambda b, pc: b.branch(b.ult(b.get(1), 2000), start, pc + 4))
    h.place(halt_insn)
    assert h.run(start, {1: 0}) == StopReason.HALT
    assert h.s[1] == 2000 and h.read(start - 8, 8) == 1999
    stats = h.machine.engine.stats
    assert stats["exit_sync"] == 1, "the halt's, none per store"
    assert stats["exit_miss"] <= 3, "once for the store's next instruction, not per store"
    assert stats["native_insns"] >= 2000 * 3 - 10


def test_quick_units_store_through_helpers(tmp_path):
    """A quick unit's stores call one small helper per size (quickmem) instead of the RAM
    check, the store and the code check inline: to RAM far from code (stored natively),
    into the last bytes before a code page (the helper leaves that to Python's store, as
    for any store near code) and over an instruction that has run (invalidated, so it
    runs as rewritten)."""
    h = IRHarness(jit(threshold=0, dump=str(tmp_path)))
    far = h.new_page()
    h._next_pc = far + PAGE_SIZE
    below = h.new_page()
    h._next_pc = code = below + PAGE_SIZE
    target = h.program(lambda b, pc: b.set(5, 1))
    new = h.opcode(lambda b, pc: b.set(5, 2))
    store_and_go = h.program(
        lambda b, pc: b.store(b.const(far + 8), b.get(1)),
        lambda b, pc: b.store(b.const(code - 4), b.trunc(b.get(1), 32)),
        lambda b, pc: b.store(b.const(target), b.const(new, 32)),
        lambda b, pc: b.goto(target),
        halt=False,
    )
    for _ in range(3):  # translated and compiled before it is overwritten
        assert h.run(target, {5: 0}) == StopReason.HALT and h.s[5] == 1
    assert h.run(store_and_go, {1: 0x1122334455667788, 5: 0}) == StopReason.HALT
    assert h.s[5] == 2, "the rewritten instruction ran"
    assert h.read(far + 8, 8) == 0x1122334455667788 and h.read(code - 4, 4) == 0x55667788
    eng = h.machine.engine
    assert eng.stats["invalidations"] >= 1
    helpers = eng.env.store_helpers
    assert set(helpers) >= {f"vm_store{n}_ram" for n in (1, 2, 4, 8)}
    calls = {f"inttoptr (i64 {helpers[f'vm_store{n}_ram']} to ptr)" for n in (4, 8)}
    quick = [p.read_text() for p in tmp_path.glob("unit*.ll") if "\nhot:" in p.read_text()]
    assert any(all(c in text for c in calls) for text in quick), "a quick unit calls them"
    assert all(str(eng.env.code_pages) not in text for text in quick), "no inline check"


def entered_past_head_program(outer, inner):
    """An inner loop of two blocks, head and member, that the outer loop enters at the
    member (lists' state machine has this shape): r1 += 3 inner times, outer times."""
    return [
        enc(LI, 5, imm=outer),
        enc(LI, 1, imm=0),
        enc(LI, 2, imm=inner),  # the outer loop
        enc(BEQ, 0, 0, 0, imm=3),  # into the inner loop at its member
        enc(ADDI, 1, 1, imm=3),  # head
        enc(BEQ, 0, 0, 0, imm=1),
        enc(ADDI, 2, 2, imm=-1),  # member
        enc(BNE, 0, 2, 0, imm=-3),
        enc(ADDI, 5, 5, imm=-1),
        enc(BNE, 0, 5, 0, imm=-7),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]


def test_a_loop_entered_at_a_member_enters_its_region_there():
    """The member of a loop region gets no function of its own: its table entry holds
    the region's quick code, which the caller's pc (the ENTRY slot) enters at the member.
    The quick code goes round the loop only while the table
    still holds it for the head; with anything else there (the region's full-level code
    once it lands) it leaves for that at the head."""
    words = entered_past_head_program(400, 1000)
    a, b, held, submit = held_compiles(words, jit(threshold=4000, background=True))
    eng = b.engine
    for _ in range(4):
        a.run(limit=50_000)
        b.run(limit=50_000)
        assert snapshot(a) == snapshot(b)
    head, member = BASE + 4 * 4, BASE + 4 * 6
    mode = b.cpus[0].isa.mode_key(b.cpus[0])
    assert eng.stats["member_entries"] == 1 and eng.stats["native_regions"] == 1
    assert head in eng._native[mode] and member in eng._native[mode]
    assert [fname for job in held for fname, _, _ in job.names] == ["u1_b0"], "the region"
    # no native code at the head any more: entered at the member, the quick code leaves
    # at the head (a miss) on every inner iteration until the head is compiled again
    del eng._native[mode][head]
    eng._uninstall(mode, head)
    eng.cache.table(mode).pop(head)
    misses = eng.stats["exit_miss"]
    a.run(limit=2_000)
    b.run(limit=2_000)
    assert snapshot(a) == snapshot(b)
    assert eng.stats["exit_miss"] - misses >= 400, "once per inner iteration, at the head"
    for job in held:
        submit(job)
    eng._compiler.drain()
    eng._collect()
    assert eng.stats["background_units"] == 1
    assert a.run() == b.run() == "halt" and snapshot(a) == snapshot(b)
    assert a.cpus[0].s[1] == 3 * 400 * 999  # entered past the head: 999 adds a pass


def test_a_block_native_code_keeps_leaving_for_becomes_hot():
    """The outer loop's blocks run a few instructions per pass, far below ``threshold``,
    but native code (the inner loop) leaves for them on every pass: after MISS_LIMIT
    misses they are compiled, instead of a round trip to Python each time."""
    words = entered_past_head_program(400, 300)
    a = make_machine(InterpEngine, words)
    b = make_machine(jit(threshold=4000), words)
    assert a.run() == b.run() == "halt" and snapshot(a) == snapshot(b)
    misses = b.engine.stats["exit_miss"]
    assert misses <= 4 * MISS_LIMIT, f"{misses} misses in 400 passes"
    b.engine.flush()  # their native code is gone: misses count from zero again
    assert not b.engine._misses


def test_a_member_entered_often_is_recompiled_alone():
    """After ``hot_entries`` entries at a member the region exits once (as the member's
    own quick unit would), and the member is recompiled alone at the full level: a loop
    entered at a member need not pass the head, where the optimised region takes over."""
    words = entered_past_head_program(400, 1000)
    a = make_machine(InterpEngine, words)
    b = make_machine(jit(threshold=4000, background=True, hot_entries=20), words)
    eng = b.engine
    tiered = []
    tier_up = eng._tier_up
    eng._tier_up = lambda cpu, mode, pc: (tiered.append(pc), tier_up(cpu, mode, pc))
    assert a.run() == b.run() == "halt" and snapshot(a) == snapshot(b)
    assert eng.stats["member_entries"] == 1
    assert tiered.count(BASE + 4 * 6) == 1, "the member, once, after 20 entries"


def two_block_loop(n):
    """A loop of two blocks (a region on interp), 4 instructions an iteration, run n times
    in one call."""
    return [
        *const(2, n),
        enc(ADDI, 1, 1, imm=3),  # head
        enc(BEQ, 0, 5, 0, imm=2),  # r5 is 0: on to "back"
        enc(ADDI, 6, 6, imm=1),
        enc(ADDI, 2, 2, imm=-1),  # back
        enc(BNE, 0, 2, 0, imm=-4),
        enc(LI, 0, imm=0),
        enc(HALT),
    ]


@pytest.mark.parametrize(
    ("n", "loop_call", "compiled"),
    [(1000, 2000, True), (100, 2000, False), (1000, 0, False)],
)
def test_a_loop_running_long_in_one_call_is_hot_at_once(n, loop_call, compiled):
    """A loop that runs ``loop_call`` instructions in one call is compiled then, far below
    ``region_threshold`` (20,000 here), and finishes natively; one whose call ends sooner
    (a start-up loop) stays on interp, as does every loop with ``loop_call`` 0. Either
    way the state matches interp's."""
    a = make_machine(InterpEngine, two_block_loop(n))
    b = make_machine(jit(threshold=4000, loop_call=loop_call), two_block_loop(n))
    assert a.run() == b.run() == "halt"
    assert snapshot(a) == snapshot(b)
    stats = b.engine.stats
    assert (stats["native_regions"] >= 1) is compiled
    assert (stats["native_insns"] > 0) is compiled
    if compiled:  # cut near loop_call: almost all of the rest ran natively
        assert 4 * n - loop_call - 100 < stats["native_insns"] <= 4 * n - loop_call


def test_native_setup_is_made_on_the_compiler_thread_or_else_inline():
    """The first loop interp finds hands the MCJIT instances and the dispatcher to the
    compiler thread; when the first unit needs them before that thread got to them (here
    it never does), the main thread makes them itself instead of waiting, and the run
    matches interp."""
    words = loop_program(300_000)
    a = make_machine(InterpEngine, words)
    b = make_machine(jit(threshold=4000, background=True), words)
    eng = b.engine
    sent = []
    eng._compiler.submit = sent.append  # the thread receives nothing at all
    a.run(limit=1)
    b.run(limit=1)
    assert not sent, "no loop yet"
    a.run(limit=1000)
    b.run(limit=1000)
    assert len(sent) == 1 and isinstance(sent[0], _Setup), "the loop sent the set-up"
    assert eng._jit is None and not sent[0].ready.is_set()
    for _ in range(3):
        a.run(limit=20_000)
        b.run(limit=20_000)
        assert snapshot(a) == snapshot(b)
    assert sent[0].ready.is_set() and eng._jit is sent[0].full
    assert eng.stats["native_insns"] > 0, "the quick code ran on the inline set-up"
    sent[0].run()  # the compiler thread's turn, late: nothing left to do
    assert eng._jit is sent[0].full


def test_blocks_that_share_a_table_slot_both_stay_native():
    """Two blocks 64 KiB apart have the same entry in the translation table (its index is
    made of the low bits of the pc). A loop going from one to the other through indirect
    jumps used to evict one with the other at every step, each a miss and a round trip
    to Python (Lua's interpreter: 2.2 million in its sort test, 15 of its 18 s). The
    table's second way keeps the block displaced from the first, and the dispatcher
    finds it there."""
    h = IRHarness(jit(threshold=0))
    a = h.new_page()
    b = a + (1 << 16)
    eng = h.machine.engine
    assert eng.env.entry(a) == eng.env.entry(b), "the premise: one slot in the first way"
    h.place(
        lambda bld, pc: (bld.set(1, bld.add(bld.get(1), bld.const(1))), bld.goto(bld.get(2))), a
    )
    h.place(lambda bld, pc: bld.branch(bld.ult(bld.get(1), bld.const(2000)), pc + 4, pc + 8), b)
    h.place(lambda bld, pc: bld.goto(bld.get(3)), b + 4)
    h.place(halt_insn, b + 8)
    assert h.run(a, {1: 0, 2: b, 3: a}) == StopReason.HALT
    assert h.s[1] == 2000
    stats = eng.stats
    assert stats["native_insns"] >= 3 * 1999
    assert stats["exit_miss"] <= 4, "not once or twice a round"
