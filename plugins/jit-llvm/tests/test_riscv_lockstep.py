"""jit against interp on real RISC-V Linux programs, in lockstep.

Both engines run the same static binary side by side in chunks of pseudo-random sizes (so
the comparisons fall on block boundaries and inside blocks); after every chunk the whole
register state and the instruction count must agree, and at the end the output.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("vmcore_isa_riscv")
guests = pytest.importorskip("vmcore.testing.guests")
from vmcore.engines.interp import InterpEngine  # noqa: E402
from vmcore.linux_user import build_process  # noqa: E402
from vmcore_jit_llvm.engine import JitEngine, JitOptions, _is_loop  # noqa: E402

LINUX = guests.GUESTS / "riscv64" / "linux"
HERE = Path(__file__).parent / "guests"


def _binary(source: Path) -> str:
    try:
        return str(guests.build(source))
    except guests.GuestBuildError as exc:
        pytest.skip(str(exc))


#: AT_RANDOM for both machines: with os.urandom's, the stack canary glibc derives from it
#: differs between them, and a chunk that ends while a register holds it fails the
#: comparison (where chunks end depends on the binary's path, so on the checkout)
RANDOM_BYTES = bytes(range(16))


def _machine(path: str, args: list[str], engine) -> tuple:
    out = io.BytesIO()
    m = build_process(
        [path, *args],
        env={"LANG": "C"},
        engine=engine,
        stdout=out,
        stderr=out,
        random_bytes=RANDOM_BYTES,
    )
    return m, out


def _lockstep(
    path: str, args: list[str], options: JitOptions, seed: int = 1, jit: type = JitEngine
) -> dict:
    a, out_a = _machine(path, args, InterpEngine)
    b, out_b = _machine(path, args, lambda m: jit(m, options))
    rng = random.Random(seed)
    for _ in range(100_000):
        chunk = rng.choice((1, 2, 3, 7, 64, 500, 3000, 20_000, 100_000))
        ra, rb = a.run(limit=chunk), b.run(limit=chunk)
        ca, cb = a.cpus[0], b.cpus[0]
        assert ca.instret == cb.instret
        assert ca.s == cb.s, [
            (i, hex(x), hex(y)) for i, (x, y) in enumerate(zip(ca.s, cb.s, strict=True)) if x != y
        ]
        assert ra == rb
        if ra != "limit":
            break
    else:
        pytest.fail("the guest did not finish")
    assert out_a.getvalue() == out_b.getvalue()
    assert a.process.exit_status == b.process.exit_status
    return dict(b.engine.stats)


# (malloc_churn is left out: AT_RANDOM makes two interp runs differ already)
@pytest.mark.parametrize("name", ["hello", "qsort", "strings", "printf_double"])
def test_linux_programs_in_lockstep(name):
    source = LINUX / f"{name}.c"
    if not source.exists():
        pytest.skip(f"{source} missing")
    stats = _lockstep(_binary(source), [], JitOptions(threshold=50, batch=8))
    assert stats["native_blocks"] > 0


def test_calls_through_a_pointer_stay_in_their_region():
    """qsort's merge loop calls the comparison through a function pointer: with the
    default thresholds the region follows the seen call and return (an indirect jump whose
    target is a member becomes a branch), and the run still matches interp step by step."""
    stats = _lockstep(_binary(LINUX / "qsort.c"), [], JitOptions())
    assert stats["native_regions"] > 0
    assert stats["seen_jumps"] > 0


def test_region_members_compile_as_its_entries_not_alone():
    """A region the jit does not take for a loop (its cycle runs through a call and the
    callee's return: qsort's comparisons) compiles quickly only; its members, queued
    alone with it, are entries of its function rather than functions (or pack members)
    of their own, which the region's own branches never enter."""
    units = []

    class Recording(JitEngine):
        def _compile_unit(self, jit, queue, *args, **kw):
            if jit is self._jit_quick:  # (the full level compiles tier-2 singles alone)
                pcs = [[b.pc for b in q[0]] for q in queue]
                loops = {q[0][0].pc for q in queue if _is_loop(q[0])}
                units.append((pcs, kw.get("packs") or set(), loops, kw.get("entries") or {}))
            return super()._compile_unit(jit, queue, *args, **kw)

    _lockstep(_binary(LINUX / "qsort.c"), [], JitOptions(), jit=Recording)
    folded = 0
    for queue, packs, loops, entries in units:
        regions = [pcs for pcs in queue if len(pcs) > 1 and pcs[0] not in packs]
        # blocks compiled alone, in a function or a pack (a one-block loop is a loop)
        alone = {
            pc
            for pcs in queue
            if pcs[0] in packs or (len(pcs) == 1 and pcs[0] not in loops)
            for pc in pcs
        }
        members = {pc for pcs in regions for pc in pcs[1:]}
        assert not alone & members, sorted(map(hex, alone & members))
        folded += sum(len(entries.get(pcs[0], ())) for pcs in regions)
    assert folded > 0


def test_warm_blocks_are_lifted_again_once():
    """What needs a warm block's IR (interp's regions, the jit's hot path, the members of
    its regions and superblocks) gets the block its runnable keeps: block_of lifts a
    block again at most once while the code stays the same (qsort's regions used to ask
    for some blocks' IR 15 times, each a fresh lift)."""
    m, out = _machine(_binary(LINUX / "qsort.c"), [], lambda m: JitEngine(m, JitOptions()))
    eng = m.engine
    lifted = Counter()
    asking = []
    lift, block_of = eng.lift, eng.block_of

    def counting_block_of(cpu, fn):
        asking.append(fn)
        try:
            return block_of(cpu, fn)
        finally:
            asking.pop()

    def counting_lift(cpu, pc, *rest):
        if asking:
            lifted[eng.code_generation, pc] += 1
        return lift(cpu, pc, *rest)

    eng.block_of, eng.lift = counting_block_of, counting_lift
    assert m.run() != "limit" and m.process.exit_status == 0
    assert len(lifted) > 50
    assert max(lifted.values()) == 1, [k for k, n in lifted.items() if n > 1][:5]


def test_hot_loop_in_lockstep_eager():
    stats = _lockstep(_binary(HERE / "hashloop.c"), ["30"], JitOptions(threshold=0))
    assert stats["native_insns"] > 100_000


def test_atomics_stay_native_in_lockstep():
    """AMOs and LR/SC loops (and malloc's lock) in a hot loop: the jit matches interp step
    by step, and the atomics run in native code; they used to be Python helpers, a
    callback each (the read of an AMO to fault as a store, SC's conditional write)."""
    n = 3000
    stats = _lockstep(_binary(HERE / "atomics.c"), [str(n)], JitOptions())
    assert stats["native_insns"] > 20 * n
    assert stats.get("helper_calls", 0) < n // 10, "not one or more per iteration"
