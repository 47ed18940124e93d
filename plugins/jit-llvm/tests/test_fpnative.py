"""Native SoftFloat calls in jit code (fpnative) against vmcore.softfp, bit for bit.

Every f16/f32/f64 op and conversion is compiled eagerly (threshold 0) with the rounding
mode in a register, then run over special values (signed zeros, subnormals, extremes,
infinities, quiet and signalling NaNs with payloads, ties, integer-range limits) in all
five rounding modes and over hypothesis-generated bit patterns; results and flags must
equal softfp's. The flags slot starts non-zero to check that flags accrue.
"""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcore import softfp
from vmcore.machine import StopReason
from vmcore.testing.ir_conformance import FFLAGS, NTRAPS, IRHarness
from vmcore_jit_llvm import fpnative
from vmcore_jit_llvm.engine import JitEngine, JitOptions

pytestmark = pytest.mark.skipif(fpnative.library() is None, reason="no native SoftFloat here")

FMTS = {"f16": 16, "f32": 32, "f64": 64}
INTS = {"i32": (32, True), "ui32": (32, False), "i64": (64, True), "ui64": (64, False)}
RMS = range(5)
ARITY = {"fadd": 2, "fsub": 2, "fmul": 2, "fdiv": 2, "fsqrt": 1, "fma": 3}
CMPS = ("feq", "flt", "fle")
FLAGS0 = 0x20  # a bit no op sets: must survive (flags accrue)
NX = 0x01  # accrued inexact: the precondition of the host FP fast path
RM_SLOT, OUT = 4, 5


def _pack(fmt: str, x: float) -> int:
    code = {"f16": "e", "f32": "f", "f64": "d"}[fmt]
    try:
        raw = struct.pack("<" + code, x)
    except OverflowError:
        return softfp.cvt_f64_f32(_pack("f64", x), 0)[0] if fmt == "f32" else 0x7C00
    return int.from_bytes(raw, "little")


def _specials(fmt: str) -> list[int]:
    w = FMTS[fmt]
    _, e, m = softfp.FORMATS[fmt]
    sign = 1 << (w - 1)
    inf = ((1 << e) - 1) << m
    quiet = 1 << (m - 1)
    pos = [
        0,
        1,  # smallest subnormal
        quiet - 1,
        (1 << m) - 1,  # largest subnormal
        1 << m,  # smallest normal
        inf - 1,  # largest finite
        inf,
        inf | quiet,  # canonical quiet NaN
        inf | quiet | 0x15,  # quiet NaN with payload
        inf | 1,  # signalling NaN
        inf | (quiet >> 1) | 3,  # signalling NaN with payload
    ]
    for x in (1.0, 1.5, 2.5, 0.5, 3.0, 0.1, 1 / 3, 65504.0, 2.0**-14, 1e-5):
        pos.append(_pack(fmt, x))
    if w >= 32:
        for x in (2.0**31, 2.0**31 - 1, 2.0**31 + 0.5, 2.0**32, 2.0**32 - 1, 2.0**63, 2.0**64):
            pos.append(_pack(fmt, x))
        pos.append(_pack(fmt, 2.0**31 - 0.5) if w == 64 else _pack(fmt, 2.0**24 - 1))
    if w == 64:
        pos += [_pack(fmt, x) for x in (2.0**63 - 1024, 2.0**64 - 2048, 1e300, 1e-300)]
    vals = sorted(set(pos))
    return vals + [v | sign for v in vals]


def _int_specials(w: int) -> list[int]:
    m = (1 << w) - 1
    vals = {0, 1, 2, 3, m, m - 1, 1 << (w - 1), (1 << (w - 1)) - 1, (1 << (w - 1)) + 1}
    vals |= {(1 << 24) + 1, (1 << 53) + 1, 0x7FFFFFBF, 12345678901234567 & m, 2049, 0xFFF}
    vals |= {(-x) & m for x in (2049, 3, (1 << 24) + 1)}
    return sorted(v & m for v in vals)


class Rig:
    """One eager-jit machine; every program holds one FP instruction."""

    def __init__(self) -> None:
        self.h = IRHarness(lambda m: JitEngine(m, JitOptions(threshold=0)))
        self.pcs: dict[tuple, int] = {}
        self.flags0 = FLAGS0  #: the flags slot before each run

    def program(self, key: tuple, emit) -> int:
        if key not in self.pcs:
            self.pcs[key] = self.h.program(emit)
        return self.pcs[key]

    def run(self, pc: int, args: list[int], rm: int) -> tuple[int, int]:
        h = self.h
        regs = {1 + i: a for i, a in enumerate(args)}
        reason = h.run(pc, {**regs, RM_SLOT: rm, OUT: 0xDEAD, FFLAGS: self.flags0})
        assert reason == StopReason.HALT and h.s[NTRAPS] == 0
        return h.s[OUT], h.s[FFLAGS]

    @property
    def engine(self) -> JitEngine:
        return self.h.machine.engine

    # -- programs: result zero-extended into slot OUT ---------------------------------------

    def arith(self, op: str, fmt: str) -> int:
        w = FMTS[fmt]

        def emit(b, pc):
            args = [b.get(1 + i, w) for i in range(ARITY.get(op, 2))]
            if op in CMPS:
                r = getattr(b, op)(fmt, *args, flags=FFLAGS)
            else:
                r = getattr(b, op)(fmt, *args, b.get(RM_SLOT, 8), flags=FFLAGS)
            b.set(OUT, b.zext(r, 64) if r.width < 64 else r)

        return self.program((op, fmt), emit)

    def cvt(self, kind: str, src: str, dst: str) -> int:
        def emit(b, pc):
            rm = b.get(RM_SLOT, 8)
            if kind == "ff":
                r = b.fcvt_ff(src, dst, b.get(1, FMTS[src]), rm, flags=FFLAGS)
            elif kind == "fi":
                w, signed = INTS[dst]
                r = b.fcvt_fi(src, b.get(1, FMTS[src]), w, signed, rm, flags=FFLAGS)
            else:
                w, signed = INTS[src]
                r = b.fcvt_if(dst, b.get(1, w), signed, rm, flags=FFLAGS)
            b.set(OUT, b.zext(r, 64) if r.width < 64 else r)

        return self.program((kind, src, dst), emit)


@pytest.fixture(scope="module")
def rig():
    return Rig()


def _expect(name: str, args: list[int], rm: int, flags0: int = FLAGS0) -> tuple[int, int]:
    fn = getattr(softfp, name)
    r, fl = fn(*args) if name.split("_")[0] in CMPS else fn(*args, rm)
    return r, fl | flags0


def _check(rig: Rig, pc: int, name: str, args: list[int], rm: int) -> None:
    got, want = rig.run(pc, args, rm), _expect(name, args, rm, rig.flags0)
    assert got == want, (name, [hex(a) for a in args], rm, hex(rig.flags0))


@pytest.fixture(params=[FLAGS0, FLAGS0 | NX], ids=["flags", "flags_nx"])
def flags0(request, rig):
    """Run with NX clear (always SoftFloat) and with NX already accrued (the host fast
    path is allowed; its bail-outs must land on SoftFloat's answer)."""
    rig.flags0 = request.param
    yield request.param
    rig.flags0 = FLAGS0


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("op", [*ARITY, *CMPS])
def test_ops_special_values(rig, flags0, op, fmt):
    pc = rig.arith(op, fmt)
    vals = _specials(fmt)
    n = ARITY.get(op, 2)
    if n == 3:
        few = vals[::3]
        combos = list(itertools.product(few, few, few))
    else:
        combos = list(itertools.product(vals, repeat=n))
    for args in combos:
        for rm in RMS if op not in CMPS else (0, 3):
            _check(rig, pc, f"{op}_{fmt}", list(args), rm)


@pytest.mark.parametrize(("src", "dst"), [(f, g) for f in FMTS for g in FMTS if f != g])
def test_float_conversions(rig, src, dst):
    pc = rig.cvt("ff", src, dst)
    for a in _specials(src) + _specials(dst)[:: 2 if FMTS[dst] <= FMTS[src] else 5]:
        a &= (1 << FMTS[src]) - 1
        for rm in RMS:
            _check(rig, pc, f"cvt_{src}_{dst}", [a], rm)


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("kind", INTS)
def test_int_conversions(rig, fmt, kind):
    to_int = rig.cvt("fi", fmt, kind)
    from_int = rig.cvt("if", kind, fmt)
    for rm in RMS:
        for a in _specials(fmt):
            _check(rig, to_int, f"cvt_{fmt}_{kind}", [a], rm)
        for a in _int_specials(INTS[kind][0]):
            _check(rig, from_int, f"cvt_{kind}_{fmt}", [a], rm)


_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _bits_for(fmt: str):
    w = FMTS[fmt]
    return st.one_of(st.integers(0, (1 << w) - 1), st.sampled_from(_specials(fmt)))


@pytest.mark.parametrize("fmt", FMTS)
def test_random_ops(rig, flags0, fmt):
    ops = [*ARITY, *CMPS]
    bits = _bits_for(fmt)

    @given(st.sampled_from(ops), st.lists(bits, min_size=3, max_size=3), st.sampled_from(RMS))
    @_SETTINGS
    def check(op, args, rm):
        args = args[: ARITY.get(op, 2)]
        _check(rig, rig.arith(op, fmt), f"{op}_{fmt}", args, rm)

    check()


@pytest.mark.parametrize("fmt", FMTS)
def test_random_conversions(rig, fmt):
    others = [g for g in FMTS if g != fmt]

    @given(
        st.sampled_from([("ff", g) for g in others] + [("fi", i) for i in INTS]),
        _bits_for(fmt),
        st.sampled_from(RMS),
        st.sampled_from(list(INTS)),
        st.integers(0, (1 << 64) - 1),
    )
    @_SETTINGS
    def check(conv, a, rm, ikind, n):
        kind, dst = conv
        _check(rig, rig.cvt(kind, fmt, dst), f"cvt_{fmt}_{dst}", [a], rm)
        n &= (1 << INTS[ikind][0]) - 1
        _check(rig, rig.cvt("if", ikind, fmt), f"cvt_{ikind}_{fmt}", [n], rm)

    check()


def _fp_sites(engine: JitEngine) -> list:
    return [s for s in engine._sites if s.kind == "fp"]


def test_constant_rounding_mode_and_no_flags():
    """A constant rm, and flags=None (result only, slot untouched)."""
    h = IRHarness(lambda m: JitEngine(m, JitOptions(threshold=0)))
    for rm in RMS:

        def emit(b, pc, rm=rm):
            r = b.fdiv("f64", b.get(1), b.get(2), rm)
            b.set(OUT, r)
            r = b.fcvt_fi("f64", b.get(1), 32, True, rm, flags=None)
            b.set(6, b.zext(r, 64))

        a, c = 0xBFF8000000000000, 0x4008000000000000  # -1.5, 3
        reason = h.run(h.program(emit), {1: a, 2: c, FFLAGS: 0x40})
        assert reason == StopReason.HALT
        assert h.s[OUT] == softfp.fdiv_f64(a, c, rm)[0]
        assert h.s[6] == softfp.cvt_f64_i32(a, rm)[0]
        assert h.s[FFLAGS] == 0x40
    assert not _fp_sites(h.machine.engine)


def test_native_is_used_and_switch(monkeypatch):
    """f16/f32/f64 ops make no Python callback sites, f128 ops do; the env switch turns
    native FP off (and the callback path gives the same answers)."""

    def emit(b, pc):
        r = b.fadd("f64", b.get(1), b.get(2), b.get(RM_SLOT, 8), flags=FFLAGS)
        b.set(OUT, r)

    def emit128(b, pc):
        r = b.fcvt_ff("f64", "f128", b.get(1), b.get(RM_SLOT, 8), flags=FFLAGS)
        b.set(6, b.trunc(b.lshr(r, 64), 64))

    results = []
    for native in (True, False):
        monkeypatch.setenv("VMCORE_JIT_NATIVE_FP", "1" if native else "0")
        rig = Rig()
        pc = rig.program(("add",), emit)
        rig.run(pc, [0x3FF0000000000000, 0x3CA0000000000001], 3)  # compiles
        assert bool(_fp_sites(rig.engine)) is not native
        for rm in RMS:
            results.append(rig.run(pc, [0x3FF0000000000000, 0x3CA0000000000001], rm))
        pc = rig.program(("cvt128",), emit128)
        rig.run(pc, [0x3FF0000000000000], 0)
        assert _fp_sites(rig.engine)
        assert rig.h.s[6] == 0x3FFF000000000000
    assert results[:5] == results[5:]


def _ordinary(fmt: str):
    """Bit patterns of unexceptional numbers (the host fast path's domain), both signs."""
    lim = 2.0**100 if fmt == "f32" else 2.0**700
    floats = st.floats(-lim, lim, allow_nan=False, allow_infinity=False, width=FMTS[fmt])
    return st.one_of(floats.map(lambda x: _pack(fmt, x)), st.just(0), st.just(_pack(fmt, 1.0)))


@pytest.mark.parametrize("fmt", ["f32", "f64"])
def test_host_fast_path_ordinary_values(rig, fmt):
    """With NX accrued and RNE, ordinary operands take the host FPU: bit-equal to
    SoftFloat, flags unchanged, and results near the tiny/overflow edges bail out to it."""
    rig.flags0 = FLAGS0 | NX
    try:

        @given(st.sampled_from(list(ARITY)), st.lists(_ordinary(fmt), min_size=3, max_size=3))
        @_SETTINGS
        def check(op, args):
            args = args[: ARITY[op]]
            for rm in (0, 1):
                _check(rig, rig.arith(op, fmt), f"{op}_{fmt}", args, rm)

        check()
        big, small = (1e38, 1e-37) if fmt == "f32" else (1e307, 1e-307)
        edges = [[_pack(fmt, big), _pack(fmt, 20.0)], [_pack(fmt, small), _pack(fmt, 0.5)]]
        for op in ("fmul", "fdiv", "fadd"):
            for args in edges:
                _check(rig, rig.arith(op, fmt), f"{op}_{fmt}", args, 0)
    finally:
        rig.flags0 = FLAGS0


def test_host_fast_path_is_emitted_and_switch(monkeypatch, tmp_path):
    """The generated code holds host FP instructions; VMCORE_JIT_HOST_FP=0 removes them."""

    def emit(b, pc):
        x, y, z = b.get(1), b.get(2), b.get(3)
        r = b.fma("f64", x, y, z, b.get(RM_SLOT, 8), flags=FFLAGS)
        b.set(OUT, b.fmul("f64", r, y, b.get(RM_SLOT, 8), flags=FFLAGS))

    args = {1: _pack("f64", 1.5), 2: _pack("f64", 3.25), 3: _pack("f64", 0.1), FFLAGS: NX}
    for host in (True, False):
        monkeypatch.setenv("VMCORE_JIT_HOST_FP", "1" if host else "0")
        dump = tmp_path / str(host)
        h = IRHarness(lambda m, d=dump: JitEngine(m, JitOptions(threshold=0, dump=str(d))))
        assert h.run(h.program(emit), {**args, RM_SLOT: 0}) == StopReason.HALT
        r = softfp.fma_f64(args[1], args[2], args[3], 0)[0]
        assert h.s[OUT] == softfp.fmul_f64(r, args[2], 0)[0]
        text = "".join(p.read_text() for p in dump.glob("*.ll"))
        assert ("@llvm.fma.f64" in text and "fmul double" in text) is host
