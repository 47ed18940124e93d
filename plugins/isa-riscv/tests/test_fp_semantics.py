"""RV64F/RV64D semantics: hand-computed results, flags, rounding, NaN boxing, traps, FS.

Expected values are worked out by hand from IEEE 754 and the RISC-V spec (as Spike and
Berkeley SoftFloat implement them), not produced by the code under test.
"""

from __future__ import annotations

import pytest
from test_fp_harness import (
    BASE,
    BOX,
    DATA,
    DEFAULT,
    ENCODINGS,
    ENGINES,
    ILLEGAL,
    QNAN_D,
    QNAN_S,
    boxed,
    enc,
    run,
)

from vmcore_isa_riscv import csr

NX, UF, OF, DZ, NV = 1, 2, 4, 8, 16
RNE, RTZ, RDN, RUP, RMM, DYN = 0, 1, 2, 3, 4, 7

# singles
ONE, TWO, THREE, HALF, NEG_ONE = 0x3F800000, 0x40000000, 0x40400000, 0x3F000000, 0xBF800000
PZ, NZ, PINF, NINF = 0x00000000, 0x80000000, 0x7F800000, 0xFF800000
SNAN, QNAN, MAXS, MINNS, MINSUB = 0x7F800001, 0x7FC00000, 0x7F7FFFFF, 0x00800000, 0x00000001
# doubles
D1, D2, D3, DNEG1 = 0x3FF0000000000000, 0x4000000000000000, 0x4008000000000000, 0xBFF0000000000000
DPZ, DNZ, DPINF, DNINF = 0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000
DSNAN, DQNAN, DMAX = 0x7FF0000000000001, 0x7FF8000000000000, 0x7FEFFFFFFFFFFFFF
UNBOXED_ONE = 0x123456783F800000

XKINDS = {"w", "wu", "l", "lu"}


def _kinds(name: str) -> tuple[str, str]:
    """(destination kind, source kind) of an instruction: "s", "d" or "x"."""
    parts = name.split(".")
    if parts[0] == "fcvt":
        dst, src = parts[1], parts[2]
        return ("x" if dst in XKINDS else dst), ("x" if src in XKINDS else src)
    if parts[0] == "fmv":
        k = {"x": "x", "w": "s", "d": "d"}
        return k[parts[1]], k[parts[2]]
    if parts[0] in ("feq", "flt", "fle", "fclass"):
        return "x", parts[1]
    return parts[1], parts[1]


def fp(name, *inputs, rm=RNE, frm=RNE, fflags=0, engine=None, box=True):
    """Run one instruction on ``inputs``: (result, fflags). Singles are NaN-boxed on the way
    in unless given with upper bits already set, and must come out boxed."""
    dst, src = _kinds(name)
    fields = {n for n, _, _ in ENCODINGS[name].fields}
    f, x = {}, {}
    regs = {}
    for i, (value, reg) in enumerate(zip(inputs, ("rs1", "rs2", "rs3"), strict=False)):
        if src == "x":
            x[11 + i] = value
            regs[reg] = 11 + i
        else:
            f[1 + i] = boxed(value) if box and src == "s" and value >> 32 == 0 else value
            regs[reg] = 1 + i
    regs["rd"] = 10 if dst == "x" else 4
    if "rm" in fields:
        regs["rm"] = rm
    out = run([enc(name, **regs)], f=f, x=x, frm=frm, fflags=fflags)
    assert out.trap is None, out.trap
    if dst == "x":
        return out.x[10], out.fflags
    if dst == "s":
        assert out.f[4] >> 32 == 0xFFFFFFFF, f"result not NaN-boxed: {out.f[4]:#x}"
        return out.f[4] & 0xFFFFFFFF, out.fflags
    return out.f[4], out.fflags


@pytest.fixture(params=ENGINES, autouse=True)
def engine(request):
    """Every test here runs on every installed engine."""
    DEFAULT["engine"] = request.param
    yield request.param
    DEFAULT["engine"] = "interp"


# -- rounding modes ---------------------------------------------------------------------------

ONE_THIRD_S = {RNE: 0x3EAAAAAB, RTZ: 0x3EAAAAAA, RDN: 0x3EAAAAAA, RUP: 0x3EAAAAAB, RMM: 0x3EAAAAAB}
MINUS_THIRD_S = {
    RNE: 0xBEAAAAAB,
    RTZ: 0xBEAAAAAA,
    RDN: 0xBEAAAAAB,
    RUP: 0xBEAAAAAA,
    RMM: 0xBEAAAAAB,
}
ONE_THIRD_D = {
    RNE: 0x3FD5555555555555,
    RTZ: 0x3FD5555555555555,
    RDN: 0x3FD5555555555555,
    RUP: 0x3FD5555555555556,
    RMM: 0x3FD5555555555555,
}


@pytest.mark.parametrize("rm", [RNE, RTZ, RDN, RUP, RMM])
def test_one_third_in_every_rounding_mode(rm):
    assert fp("fdiv.s", ONE, THREE, rm=rm) == (ONE_THIRD_S[rm], NX)
    assert fp("fdiv.s", NEG_ONE, THREE, rm=rm) == (MINUS_THIRD_S[rm], NX)
    assert fp("fdiv.d", D1, D3, rm=rm) == (ONE_THIRD_D[rm], NX)


@pytest.mark.parametrize("frm", [RNE, RTZ, RDN, RUP, RMM])
def test_dynamic_rounding_mode_reads_frm(frm):
    assert fp("fdiv.s", ONE, THREE, rm=DYN, frm=frm) == (ONE_THIRD_S[frm], NX)
    assert fp("fdiv.d", D1, D3, rm=DYN, frm=frm) == (ONE_THIRD_D[frm], NX)


@pytest.mark.parametrize(
    ("rm", "single", "double"),
    [
        (RNE, ONE, D1),
        (RTZ, ONE, D1),
        (RDN, ONE, D1),
        (RUP, ONE + 1, D1 + 1),
        (RMM, ONE + 1, D1 + 1),
    ],
)
def test_ties(rm, single, double):
    assert fp("fadd.s", ONE, 0x33800000, rm=rm) == (single, NX)
    assert fp("fadd.d", D1, 0x3CA0000000000000, rm=rm) == (double, NX)


@pytest.mark.parametrize(
    ("rm", "w", "neg_w"),
    [(RNE, 2, -2), (RTZ, 2, -2), (RDN, 2, -3), (RUP, 3, -2), (RMM, 3, -3)],
)
def test_fcvt_w_rounding(rm, w, neg_w):
    m = (1 << 64) - 1
    assert fp("fcvt.w.s", 0x40200000, rm=rm) == (w & m, NX)
    assert fp("fcvt.w.s", 0xC0200000, rm=rm) == (neg_w & m, NX)
    assert fp("fcvt.l.d", 0x4004000000000000, rm=rm) == (w & m, NX)
    assert fp("fcvt.l.d", 0xC004000000000000, rm=rm) == (neg_w & m, NX)


# -- arithmetic --------------------------------------------------------------------------------

CASES = [
    # name, inputs, rm, result, flags
    ("fadd.s", (ONE, TWO), RNE, THREE, 0),
    ("fsub.s", (ONE, TWO), RNE, NEG_ONE, 0),
    ("fsub.s", (ONE, ONE), RNE, PZ, 0),
    ("fsub.s", (ONE, ONE), RDN, NZ, 0),
    ("fmul.s", (TWO, THREE), RNE, 0x40C00000, 0),
    ("fadd.s", (PINF, NINF), RNE, QNAN, NV),
    ("fadd.s", (0x7FC12345, ONE), RNE, QNAN, 0),
    ("fadd.s", (SNAN, ONE), RNE, QNAN, NV),
    ("fadd.s", (MAXS, MAXS), RNE, PINF, OF | NX),
    ("fadd.s", (MAXS, MAXS), RTZ, MAXS, OF | NX),
    ("fmul.s", (MINNS, HALF), RNE, 0x00400000, 0),
    ("fmul.s", (MINSUB, HALF), RNE, PZ, UF | NX),
    ("fmul.s", (MINSUB, HALF), RUP, MINSUB, UF | NX),
    ("fmul.s", (PZ, PINF), RNE, QNAN, NV),
    ("fdiv.s", (ONE, PZ), RNE, PINF, DZ),
    ("fdiv.s", (NEG_ONE, PZ), RNE, NINF, DZ),
    ("fdiv.s", (PZ, PZ), RNE, QNAN, NV),
    ("fsqrt.s", (0x40800000,), RNE, TWO, 0),
    ("fsqrt.s", (TWO,), RNE, 0x3FB504F3, NX),
    ("fsqrt.s", (TWO,), RUP, 0x3FB504F4, NX),
    ("fsqrt.s", (NZ,), RNE, NZ, 0),
    ("fsqrt.s", (NEG_ONE,), RNE, QNAN, NV),
    ("fadd.d", (D1, D2), RNE, D3, 0),
    ("fsub.d", (D1, D1), RDN, DNZ, 0),
    ("fmul.d", (D2, D3), RNE, 0x4018000000000000, 0),
    ("fadd.d", (DPINF, DNINF), RNE, DQNAN, NV),
    ("fadd.d", (DSNAN, D1), RNE, DQNAN, NV),
    ("fadd.d", (0x7FF800000000BEEF, D1), RNE, DQNAN, 0),
    ("fadd.d", (DMAX, DMAX), RNE, DPINF, OF | NX),
    ("fadd.d", (DMAX, DMAX), RDN, DMAX, OF | NX),
    ("fmul.d", (1, 0x3FE0000000000000), RUP, 1, UF | NX),
    ("fdiv.d", (D1, DPZ), RNE, DPINF, DZ),
    ("fdiv.d", (DPZ, DPZ), RNE, DQNAN, NV),
    ("fsqrt.d", (0x4010000000000000,), RNE, D2, 0),
    ("fsqrt.d", (DNEG1,), RNE, DQNAN, NV),
    ("fsqrt.d", (D2,), RTZ, 0x3FF6A09E667F3BCC, NX),
    ("fsqrt.d", (D2,), RNE, 0x3FF6A09E667F3BCD, NX),
]


@pytest.mark.parametrize(("name", "inputs", "rm", "result", "flags"), CASES)
def test_arithmetic(name, inputs, rm, result, flags):
    assert fp(name, *inputs, rm=rm) == (result, flags)


FUSED = [
    ("fmadd.s", 0x40E00000),
    ("fmsub.s", 0x40A00000),
    ("fnmsub.s", 0xC0A00000),
    ("fnmadd.s", 0xC0E00000),
]


@pytest.mark.parametrize(("name", "result"), FUSED)
def test_fused_sign_conventions(name, result):
    assert fp(name, TWO, THREE, ONE) == (result, 0)
    dname = name[:-1] + "d"
    dres = {0x40E00000: 0x401C000000000000, 0x40A00000: 0x4014000000000000}
    want = dres.get(result) or dres[result & 0x7FFFFFFF] | (1 << 63)
    assert fp(dname, D2, D3, D1) == (want, 0)


def test_fused_rounds_once():
    a, c = 0x3F800800, 0xBF801000
    assert fp("fmadd.s", a, a, c) == (0x33800000, 0)
    assert fp("fmul.s", a, a) == (0x3F801000, NX)


@pytest.mark.parametrize(
    ("name", "rm", "result"),
    [
        ("fmsub.s", RNE, PZ),
        ("fmsub.s", RDN, NZ),
        ("fnmadd.s", RNE, NZ),
        ("fnmsub.s", RNE, PZ),
        ("fnmsub.s", RDN, NZ),
    ],
)
def test_fused_signed_zeros(name, rm, result):
    assert fp(name, PZ, ONE, PZ, rm=rm) == (result, 0)


def test_fma_invalid_and_nan():
    assert fp("fmadd.d", DPZ, DPINF, D1) == (DQNAN, NV)
    assert fp("fmadd.s", ONE, ONE, SNAN) == (QNAN, NV)
    assert fp("fnmadd.s", ONE, ONE, QNAN) == (QNAN, 0)


# -- sign injection, min/max, compare, class --------------------------------------------------

SGNJ = [
    ("fsgnj.s", ONE, 0xC0000000, NEG_ONE),
    ("fsgnj.s", NEG_ONE, TWO, ONE),
    ("fsgnjn.s", ONE, TWO, NEG_ONE),
    ("fsgnjn.s", ONE, 0xC0000000, ONE),
    ("fsgnjx.s", NEG_ONE, 0xC0000000, ONE),
    ("fsgnjx.s", NEG_ONE, TWO, NEG_ONE),
    ("fsgnj.s", SNAN, NZ, 0xFF800001),
    ("fsgnj.d", D1, 1 << 63, DNEG1),
    ("fsgnjn.d", DNEG1, DNEG1, D1),
    ("fsgnjx.d", DNEG1, DNEG1, D1),
    ("fsgnjx.d", DNEG1, D2, DNEG1),
]


@pytest.mark.parametrize(("name", "a", "b", "result"), SGNJ)
def test_sign_injection(name, a, b, result):
    assert fp(name, a, b) == (result, 0)


def test_sign_injection_unboxes_its_inputs():
    assert fp("fsgnj.s", UNBOXED_ONE, ONE) == (QNAN, 0)
    assert fp("fsgnjn.s", UNBOXED_ONE, ONE) == (QNAN | NZ, 0)
    assert fp("fsgnj.s", ONE, UNBOXED_ONE | NZ) == (ONE, 0)


MINMAX = [
    ("fmin.s", NZ, PZ, NZ, 0),
    ("fmin.s", PZ, NZ, NZ, 0),
    ("fmax.s", NZ, PZ, PZ, 0),
    ("fmax.s", PZ, NZ, PZ, 0),
    ("fmin.s", ONE, TWO, ONE, 0),
    ("fmax.s", NINF, NEG_ONE, NEG_ONE, 0),
    ("fmin.s", QNAN, TWO, TWO, 0),
    ("fmax.s", TWO, 0x7FC0BEEF, TWO, 0),
    ("fmin.s", SNAN, TWO, TWO, NV),
    ("fmax.s", TWO, SNAN, TWO, NV),
    ("fmin.s", QNAN, QNAN, QNAN, 0),
    ("fmax.s", 0x7FC0BEEF, 0xFFC00001, QNAN, 0),
    ("fmin.s", SNAN, QNAN, QNAN, NV),
    ("fmin.s", UNBOXED_ONE, TWO, TWO, 0),
    ("fmin.d", DNZ, DPZ, DNZ, 0),
    ("fmax.d", DNZ, DPZ, DPZ, 0),
    ("fmin.d", DSNAN, D3, D3, NV),
    ("fmax.d", DQNAN, DNEG1, DNEG1, 0),
    ("fmax.d", DSNAN, DSNAN, DQNAN, NV),
]


@pytest.mark.parametrize(("name", "a", "b", "result", "flags"), MINMAX)
def test_min_max(name, a, b, result, flags):
    assert fp(name, a, b) == (result, flags)


COMPARE = [
    ("feq.s", ONE, ONE, 1, 0),
    ("feq.s", NZ, PZ, 1, 0),
    ("feq.s", QNAN, ONE, 0, 0),
    ("feq.s", SNAN, ONE, 0, NV),
    ("feq.s", UNBOXED_ONE, ONE, 0, 0),
    ("flt.s", ONE, TWO, 1, 0),
    ("flt.s", NZ, PZ, 0, 0),
    ("flt.s", QNAN, ONE, 0, NV),
    ("fle.s", NZ, PZ, 1, 0),
    ("fle.s", TWO, ONE, 0, 0),
    ("fle.s", ONE, QNAN, 0, NV),
    ("feq.d", D1, D1, 1, 0),
    ("feq.d", DQNAN, DQNAN, 0, 0),
    ("feq.d", DSNAN, D1, 0, NV),
    ("flt.d", DNINF, DNEG1, 1, 0),
    ("fle.d", DQNAN, D1, 0, NV),
    ("fle.d", D1, D1, 1, 0),
]


@pytest.mark.parametrize(("name", "a", "b", "result", "flags"), COMPARE)
def test_compare(name, a, b, result, flags):
    assert fp(name, a, b) == (result, flags)


CLASSES_S = [NINF, NEG_ONE, 0x80000001, NZ, PZ, MINSUB, ONE, PINF, SNAN, QNAN]
CLASSES_D = [DNINF, DNEG1, (1 << 63) | 1, DNZ, DPZ, 1, D1, DPINF, DSNAN, DQNAN]


@pytest.mark.parametrize("bit", range(10))
def test_fclass(bit):
    assert fp("fclass.s", CLASSES_S[bit]) == (1 << bit, 0)
    assert fp("fclass.d", CLASSES_D[bit]) == (1 << bit, 0)


def test_fclass_of_unboxed_single_is_quiet_nan():
    assert fp("fclass.s", UNBOXED_ONE) == (1 << 9, 0)


# -- conversions -----------------------------------------------------------------------------

M64 = (1 << 64) - 1
CONVERSIONS = [
    ("fcvt.w.s", (QNAN,), RNE, 0x7FFFFFFF, NV),
    ("fcvt.w.s", (PINF,), RNE, 0x7FFFFFFF, NV),
    ("fcvt.w.s", (NINF,), RNE, 0xFFFFFFFF80000000, NV),
    ("fcvt.w.s", (0x4F32D05E,), RNE, 0x7FFFFFFF, NV),
    ("fcvt.w.s", (0xCF000000,), RNE, 0xFFFFFFFF80000000, 0),
    ("fcvt.w.s", (UNBOXED_ONE,), RNE, 0x7FFFFFFF, NV),
    ("fcvt.wu.s", (0x4F32D05E,), RNE, 0xFFFFFFFFB2D05E00, 0),
    ("fcvt.wu.s", (NEG_ONE,), RNE, 0, NV),
    ("fcvt.wu.s", (0xBF000000,), RTZ, 0, NX),
    ("fcvt.wu.s", (QNAN,), RNE, M64, NV),
    ("fcvt.l.s", (SNAN,), RNE, 0x7FFFFFFFFFFFFFFF, NV),
    ("fcvt.l.s", (NINF,), RNE, 1 << 63, NV),
    ("fcvt.lu.s", (0x4F32D05E,), RNE, 3000000000, 0),
    ("fcvt.lu.s", (NEG_ONE,), RNE, 0, NV),
    ("fcvt.lu.s", (0x5F800000,), RNE, M64, NV),
    ("fcvt.w.d", (0x41E65A0BC0000000,), RNE, 0x7FFFFFFF, NV),
    ("fcvt.w.d", (0xC1E0000000000000,), RNE, 0xFFFFFFFF80000000, 0),
    ("fcvt.w.d", (0xC1E0000000100000,), RNE, 0xFFFFFFFF80000000, NX),
    ("fcvt.wu.d", (DQNAN,), RNE, M64, NV),
    ("fcvt.wu.d", (0x41EFFFFFFFE00000,), RNE, 0xFFFFFFFFFFFFFFFF, 0),
    ("fcvt.l.d", (0x43E0000000000000,), RNE, 0x7FFFFFFFFFFFFFFF, NV),
    ("fcvt.l.d", (0xC3E0000000000000,), RNE, 1 << 63, 0),
    ("fcvt.l.d", (DNZ,), RNE, 0, 0),
    ("fcvt.lu.d", (DNEG1,), RNE, 0, NV),
    ("fcvt.lu.d", (0x43F0000000000000,), RNE, M64, NV),
    ("fcvt.lu.d", (0x43EFFFFFFFFFFFFF,), RNE, 0xFFFFFFFFFFFFF800, 0),
    ("fcvt.s.w", (0x1000001,), RNE, 0x4B800000, NX),
    ("fcvt.s.w", (0x1000001,), RUP, 0x4B800001, NX),
    ("fcvt.s.w", (0xFFFFFFFF,), RNE, NEG_ONE, 0),
    ("fcvt.s.w", (0xDEADBEEF00000003,), RNE, THREE, 0),
    ("fcvt.s.wu", (0xFFFFFFFF,), RNE, 0x4F800000, NX),
    ("fcvt.s.wu", (0xFFFFFFFF,), RTZ, 0x4F7FFFFF, NX),
    ("fcvt.s.l", (M64,), RNE, NEG_ONE, 0),
    ("fcvt.s.lu", (M64,), RNE, 0x5F800000, NX),
    ("fcvt.d.w", (0xFFFFFFFF80000000,), RNE, 0xC1E0000000000000, 0),
    ("fcvt.d.w", (0x00000000FFFFFFFF,), RNE, DNEG1, 0),
    ("fcvt.d.wu", (0xFFFFFFFF,), RNE, 0x41EFFFFFFFE00000, 0),
    ("fcvt.d.l", (M64,), RNE, DNEG1, 0),
    ("fcvt.d.lu", (M64,), RNE, 0x43F0000000000000, NX),
    ("fcvt.d.lu", (M64,), RTZ, 0x43EFFFFFFFFFFFFF, NX),
    ("fcvt.s.d", (0x3FD5555555555555,), RNE, 0x3EAAAAAB, NX),
    ("fcvt.s.d", (0x3FD5555555555555,), RTZ, 0x3EAAAAAA, NX),
    ("fcvt.s.d", (0x7E37E43C8800759C,), RNE, PINF, OF | NX),
    ("fcvt.s.d", (0x7E37E43C8800759C,), RTZ, MAXS, OF | NX),
    ("fcvt.s.d", (DSNAN,), RNE, QNAN, NV),
    ("fcvt.s.d", (0xFFF8000000000001,), RNE, QNAN, 0),
    ("fcvt.s.d", (1,), RNE, PZ, UF | NX),
    ("fcvt.d.s", (ONE,), RNE, D1, 0),
    ("fcvt.d.s", (MINSUB,), RNE, 0x36A0000000000000, 0),
    ("fcvt.d.s", (SNAN,), RNE, DQNAN, NV),
    ("fcvt.d.s", (UNBOXED_ONE,), RNE, DQNAN, 0),
]


@pytest.mark.parametrize(("name", "inputs", "rm", "result", "flags"), CONVERSIONS)
def test_conversions(name, inputs, rm, result, flags):
    assert fp(name, *inputs, rm=rm) == (result, flags)


# -- moves, loads, stores, NaN boxing -------------------------------------------------------


def test_fmv_x_w_takes_raw_low_word_sign_extended():
    assert fp("fmv.x.w", NZ) == (0xFFFFFFFF80000000, 0)
    assert fp("fmv.x.w", 0x123456789ABCDEF0) == (0xFFFFFFFF9ABCDEF0, 0)
    assert fp("fmv.x.w", 0xFFFFFFFF7FFFFFFF) == (0x7FFFFFFF, 0)


def test_fmv_w_x_nan_boxes():
    out = run([enc("fmv.w.x", rd=4, rs1=11)], x={11: 0x1234567880000000})
    assert out.f[4] == 0xFFFFFFFF80000000


def test_fmv_d_round_trip():
    out = run(
        [enc("fmv.d.x", rd=4, rs1=11), enc("fmv.x.d", rd=10, rs1=4)], x={11: 0x7FF0000000000001}
    )
    assert out.f[4] == out.x[10] == 0x7FF0000000000001
    assert out.fflags == 0


def test_loads_box_singles_and_stores_write_raw_bits():
    memory = bytes.fromhex("0000803f0000000000000000000000400000000000000000")
    words = [
        enc("flw", rd=1, rs1=5, imm=0),
        enc("fld", rd=2, rs1=5, imm=8),
        enc("fsw", rs1=5, rs2=3, imm7=0, imm5=4),
        enc("fsd", rs1=5, rs2=2, imm7=0, imm5=16),
        enc("flw", rd=6, rs1=7, imm=0xFF8),
    ]
    out = run(words, f={3: 0x123456789ABCDEF0}, x={5: DATA, 7: DATA + 8}, memory=memory)
    assert out.f[1] == boxed(ONE)
    assert out.f[2] == D2
    assert out.f[6] == boxed(ONE)
    assert out.memory[4:8] == bytes.fromhex("f0debc9a")
    assert out.memory[16:24] == out.memory[8:16]
    assert out.fflags == 0


def test_store_with_negative_offset():
    words = [enc("fsd", rs1=5, rs2=2, imm7=0x7F, imm5=0x18)]
    out = run(words, f={2: D3}, x={5: DATA + 8}, memory=bytes(8))
    assert out.memory == D3.to_bytes(8, "little")


@pytest.mark.parametrize("upper", [0, 0x7FFFFFFF, 0xFFFFFFFE, 0x80000000])
def test_unboxed_single_inputs_read_as_canonical_nan(upper):
    raw = (upper << 32) | ONE
    assert fp("fadd.s", raw, boxed(ONE), box=False) == (QNAN, 0)
    assert fp("fmul.s", boxed(TWO), raw, box=False) == (QNAN, 0)
    assert fp("fcvt.l.s", raw, box=False) == (0x7FFFFFFFFFFFFFFF, NV)


def test_single_results_are_nan_boxed_over_stale_upper_bits():
    out = run(
        [enc("fadd.s", rd=1, rs1=2, rs2=3, rm=0)],
        f={1: 0x0123456789ABCDEF, 2: boxed(ONE), 3: boxed(ONE)},
    )
    assert out.f[1] == BOX | TWO


def test_double_ops_see_the_box_of_a_single():
    words = [enc("fadd.s", rd=1, rs1=2, rs2=3, rm=0), enc("fadd.d", rd=4, rs1=1, rs2=1, rm=0)]
    out = run(words, f={2: boxed(ONE), 3: boxed(ONE)})
    assert out.f[4] == QNAN_D
    assert out.fflags == 0


# -- traps -------------------------------------------------------------------------------------

WITH_RM = [n for n, e in ENCODINGS.items() if any(f[0] == "rm" for f in e.fields)]


@pytest.mark.parametrize("name", WITH_RM)
@pytest.mark.parametrize("rm", [5, 6])
def test_reserved_static_rounding_mode_is_illegal(name, rm):
    word = enc(name, rd=4, rs1=1, rm=rm)
    out = run([word], f={4: D1, 1: D2}, fflags=NX)
    assert out.trap == (ILLEGAL, word, BASE)
    assert out.f[4] == D1 and out.fflags == NX and out.fs() == 1


@pytest.mark.parametrize("frm", [5, 6, 7])
def test_reserved_dynamic_rounding_mode_is_illegal(frm):
    word = enc("fdiv.d", rd=4, rs1=1, rs2=2, rm=DYN)
    out = run(
        [enc("fadd.d", rd=5, rs1=1, rs2=1, rm=0), word],
        f={1: D1, 2: D3, 4: 0},
        frm=frm,
    )
    assert out.trap == (ILLEGAL, word, BASE + 4)
    assert out.f[5] == D2
    assert out.f[4] == 0 and out.fflags == 0


def test_exact_conversions_still_check_the_rounding_mode():
    word = enc("fcvt.d.w", rd=4, rs1=11, rm=DYN)
    assert run([word], frm=5).trap == (ILLEGAL, word, BASE)
    assert fp("fcvt.d.s", ONE, rm=DYN, frm=RMM) == (D1, 0)


def _some_encoding(name):
    fields = {n: 1 for n, _, nb in ENCODINGS[name].fields}
    if "rm" in fields:
        fields["rm"] = 0
    return enc(name, **fields)


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_fs_off_makes_every_instruction_illegal(name):
    word = _some_encoding(name)
    out = run([word], f={1: boxed(ONE)}, x={1: DATA}, fs=0, memory=bytes(16))
    assert out.trap == (ILLEGAL, word, BASE)
    assert out.f[1] == boxed(ONE) and out.x[1] == DATA and out.fflags == 0
    assert out.fs() == 0 and out.memory == bytes(16)


# -- mstatus.FS and fflags accrual -----------------------------------------------------------

DIRTY = 3
DIRTINESS = [
    ("fadd.s", dict(rd=1, rs1=2, rs2=2, rm=0), {2: boxed(ONE)}, DIRTY),
    ("fsgnj.d", dict(rd=1, rs1=2, rs2=2), {}, DIRTY),
    ("fmv.w.x", dict(rd=1, rs1=0), {}, DIRTY),
    ("flw", dict(rd=1, rs1=5), {}, DIRTY),
    ("fsw", dict(rs1=5, rs2=1), {}, 1),
    ("fmv.x.w", dict(rd=10, rs1=1), {}, 1),
    ("fclass.d", dict(rd=10, rs1=1), {}, 1),
    ("feq.s", dict(rd=10, rs1=2, rs2=2), {2: boxed(ONE)}, 1),
    ("feq.s", dict(rd=10, rs1=2, rs2=2), {2: boxed(SNAN)}, DIRTY),
    ("fcvt.w.d", dict(rd=10, rs1=2, rm=0), {2: D1}, 1),
    ("fcvt.w.d", dict(rd=10, rs1=2, rm=0), {2: 0x3FF8000000000000}, DIRTY),
]


@pytest.mark.parametrize(("name", "fields", "f", "fs"), DIRTINESS)
def test_fs_becomes_dirty_when_f_state_changes(name, fields, f, fs):
    out = run([enc(name, **fields)], f=f, x={5: DATA}, memory=bytes(8))
    assert out.trap is None
    assert out.fs() == fs
    assert bool(out.mstatus & csr.MSTATUS_SD) == (fs == DIRTY)


def test_flags_accrue():
    assert fp("fdiv.s", ONE, PZ, fflags=NX | UF) == (PINF, DZ | NX | UF)
    assert fp("feq.d", DSNAN, D1, fflags=OF) == (0, NV | OF)
    assert fp("fcvt.w.s", ONE, fflags=NX) == (1, NX)


def test_compare_into_x0_still_raises_flags():
    out = run([enc("flt.d", rd=0, rs1=1, rs2=1)], f={1: DQNAN})
    assert out.x[0] == 0 and out.fflags == NV


def test_canonical_nan_constants():
    assert fp("fdiv.s", PZ, PZ)[0] == QNAN_S
    assert fp("fsqrt.d", DNINF)[0] == QNAN_D


def test_compressed_fp_loads_and_stores_use_these_lifters():
    c_fld_f8_x8, c_fsd_f9_x8_8, c_nop = 0x2000, 0xA404, 0x0001
    words = [c_fld_f8_x8 | c_fsd_f9_x8_8 << 16]
    out = run(words, f={9: D3}, x={8: DATA}, memory=D2.to_bytes(8, "little") + bytes(8))
    assert out.trap is None
    assert out.f[8] == D2 and out.memory[8:] == D3.to_bytes(8, "little")
    assert out.fs() == DIRTY
    out = run([c_fsd_f9_x8_8 | c_nop << 16], x={8: DATA}, fs=0)
    assert out.trap == (ILLEGAL, c_fsd_f9_x8_8, BASE)
