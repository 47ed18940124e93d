"""vmcore.softfp against independent references.

The main reference is written here from the IEEE 754 definitions with exact rationals
(fractions.Fraction): decode the operands, compute the exact result, round it to the
format with the requested mode and derive the flags (RISC-V: tininess after rounding,
canonical NaN). Where the host can answer exactly (binary64, round to nearest even) the
host's own float arithmetic and ``struct`` give a second, unrelated reference. Edge cases
carry hand-derived bit patterns.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcore import softfp
from vmcore.ir import FPFlag, RoundingMode

NX, UF, OF, DZ, NV = (int(f) for f in (FPFlag.NX, FPFlag.UF, FPFlag.OF, FPFlag.DZ, FPFlag.NV))
RNE, RTZ, RDN, RUP, RMM = (int(m) for m in RoundingMode)
ALL_RM = (RNE, RTZ, RDN, RUP, RMM)

# (width, exponent bits, fraction bits)
FMT = {"f16": (16, 5, 10), "f32": (32, 8, 23), "f64": (64, 11, 52)}
CNAN = {"f16": 0x7E00, "f32": 0x7FC00000, "f64": 0x7FF8000000000000}


# -- the reference ----------------------------------------------------------------------------


def decode(fmt: str, bits: int):
    """('nan', quiet?) | ('inf', sign) | ('num', Fraction, sign)."""
    w, e, m = FMT[fmt]
    sign = bits >> (w - 1) & 1
    ex = bits >> m & ((1 << e) - 1)
    fr = bits & ((1 << m) - 1)
    bias = (1 << (e - 1)) - 1
    if ex == (1 << e) - 1:
        return ("nan", bool(fr >> (m - 1))) if fr else ("inf", sign)
    if ex == 0:
        val = Fraction(fr, 1 << m) * Fraction(2) ** (1 - bias)
    else:
        val = Fraction((1 << m) | fr, 1 << m) * Fraction(2) ** (ex - bias)
    return ("num", -val if sign else val, sign)


def _round_int(x: Fraction, rm: int, negative: bool) -> int:
    """Round a non-negative rational to an integer (negative: the sign of the real value)."""
    fl = math.floor(x)
    rest = x - fl
    if rest == 0:
        return fl
    if rm == RTZ:
        return fl
    if rm == RDN:
        return fl + 1 if negative else fl
    if rm == RUP:
        return fl if negative else fl + 1
    if rest > Fraction(1, 2):
        return fl + 1
    if rest < Fraction(1, 2):
        return fl
    if rm == RMM:
        return fl + 1
    return fl + (fl & 1)


def _ilog2(a: Fraction) -> int:
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    return e


def round_to(fmt: str, x: Fraction, rm: int, zero_sign: int = 0) -> tuple[int, int]:
    """Bits and flags of the exact real ``x`` rounded to ``fmt``."""
    w, e, m = FMT[fmt]
    bias = (1 << (e - 1)) - 1
    emin, emax = 1 - bias, bias
    sbit = 1 << (w - 1)
    if x == 0:
        return (sbit if zero_sign else 0), 0
    neg = x < 0
    s = sbit if neg else 0
    a = -x if neg else x
    # unbounded exponent range first: for overflow and for tininess after rounding
    ee = _ilog2(a)
    n = _round_int(a / Fraction(2) ** (ee - m), rm, neg)
    if n == 1 << (m + 1):
        n, ee = n >> 1, ee + 1
    if ee > emax:
        to_inf = rm in (RNE, RMM) or (rm == RUP and not neg) or (rm == RDN and neg)
        maxfin = ((((1 << e) - 2) << m) | ((1 << m) - 1)) | s
        return ((((1 << e) - 1) << m) | s) if to_inf else maxfin, OF | NX
    tiny = ee < emin
    # now with the real exponent range
    eb = max(_ilog2(a), emin)
    q = Fraction(2) ** (eb - m)
    n = _round_int(a / q, rm, neg)
    inexact = n * q != a
    flags = NX if inexact else 0
    if tiny and inexact:
        flags |= UF
    if n == 1 << (m + 1):
        n, eb = n >> 1, eb + 1
    if n >= 1 << m:
        return s | ((eb + bias) << m) | (n - (1 << m)), flags
    return s | n, flags


def _nan_result(fmt, *ops) -> tuple[int, int]:
    snan = any(o[0] == "nan" and not o[1] for o in ops)
    return CNAN[fmt], (NV if snan else 0)


def _inf(fmt, sign):
    w, e, m = FMT[fmt]
    return (sign << (w - 1)) | (((1 << e) - 1) << m)


def ref_add(fmt, a, b, rm, negate_b=False):
    x, y = decode(fmt, a), decode(fmt, b)
    if negate_b and y[0] == "inf":
        y = ("inf", 1 - y[1])
    elif negate_b and y[0] == "num":
        y = ("num", -y[1], 1 - y[2])
    if x[0] == "nan" or y[0] == "nan":
        return _nan_result(fmt, x, y)
    if x[0] == "inf" and y[0] == "inf":
        return (_inf(fmt, x[1]), 0) if x[1] == y[1] else (CNAN[fmt], NV)
    if x[0] == "inf" or y[0] == "inf":
        return _inf(fmt, x[1] if x[0] == "inf" else y[1]), 0
    total = x[1] + y[1]
    if total == 0:
        if x[1] == 0 and y[1] == 0 and x[2] == y[2]:
            return round_to(fmt, total, rm, x[2])
        return round_to(fmt, total, rm, 1 if rm == RDN else 0)
    return round_to(fmt, total, rm)


def ref_mul(fmt, a, b, rm):
    x, y = decode(fmt, a), decode(fmt, b)
    if x[0] == "nan" or y[0] == "nan":
        return _nan_result(fmt, x, y)
    sign = x[-1] ^ y[-1]
    if x[0] == "inf" or y[0] == "inf":
        other = y if x[0] == "inf" else x
        if other[0] == "num" and other[1] == 0:
            return CNAN[fmt], NV
        return _inf(fmt, sign), 0
    return round_to(fmt, x[1] * y[1], rm, sign)


def ref_div(fmt, a, b, rm):
    x, y = decode(fmt, a), decode(fmt, b)
    if x[0] == "nan" or y[0] == "nan":
        return _nan_result(fmt, x, y)
    sign = x[-1] ^ y[-1]
    if x[0] == "inf":
        return (CNAN[fmt], NV) if y[0] == "inf" else (_inf(fmt, sign), 0)
    if y[0] == "inf":
        return round_to(fmt, Fraction(0), rm, sign)
    if y[1] == 0:
        return (CNAN[fmt], NV) if x[1] == 0 else (_inf(fmt, sign), DZ)
    return round_to(fmt, x[1] / y[1], rm, sign)


def ref_sqrt(fmt, a, rm):
    x = decode(fmt, a)
    if x[0] == "nan":
        return _nan_result(fmt, x)
    if x[0] == "inf":
        return (CNAN[fmt], NV) if x[1] else (a, 0)
    if x[1] == 0:
        return a, 0
    if x[1] < 0:
        return CNAN[fmt], NV
    # scale by an even power of two so the integer square root carries enough bits; a
    # non-square lies strictly between r and r + 1, and the midpoint rounds the same way
    k = 2 * (FMT[fmt][2] + 8 + max(0, -_ilog2(x[1])))
    v = x[1] * Fraction(2) ** k
    n = v.numerator // v.denominator
    r = math.isqrt(n)
    exact = r * r == n and n * v.denominator == v.numerator
    root = Fraction(r) if exact else Fraction(2 * r + 1, 2)
    return round_to(fmt, root / Fraction(2) ** (k // 2), rm)


def ref_fma(fmt, a, b, c, rm):
    x, y, z = decode(fmt, a), decode(fmt, b), decode(fmt, c)
    inf_times_zero = (x[0] == "inf" and y[0] == "num" and y[1] == 0) or (
        y[0] == "inf" and x[0] == "num" and x[1] == 0
    )
    if inf_times_zero:
        return CNAN[fmt], NV  # RISC-V: invalid even when c is a quiet NaN
    if "nan" in (x[0], y[0], z[0]):
        return _nan_result(fmt, x, y, z)
    psign = x[-1] ^ y[-1]
    if x[0] == "inf" or y[0] == "inf":
        if z[0] == "inf" and z[1] != psign:
            return CNAN[fmt], NV
        return _inf(fmt, psign), 0
    if z[0] == "inf":
        return _inf(fmt, z[1]), 0
    prod = x[1] * y[1]
    total = prod + z[1]
    if total == 0:
        if prod == 0 and z[1] == 0 and psign == z[2]:
            return round_to(fmt, total, rm, psign)
        return round_to(fmt, total, rm, 1 if rm == RDN else 0)
    return round_to(fmt, total, rm)


def ref_cmp(fmt, a, b, op):
    x, y = decode(fmt, a), decode(fmt, b)
    if x[0] == "nan" or y[0] == "nan":
        snan = any(o[0] == "nan" and not o[1] for o in (x, y))
        return 0, NV if (op != "eq" or snan) else 0

    def val(o):
        return o[1] if o[0] == "num" else (-math.inf if o[1] else math.inf)

    vx, vy = val(x), val(y)
    res = {"eq": vx == vy, "lt": vx < vy, "le": vx <= vy}[op]
    return int(res), 0


def ref_f2i(fmt, a, width, signed, rm):
    x = decode(fmt, a)
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    m = (1 << width) - 1
    if x[0] == "nan":
        return hi & m, NV
    if x[0] == "inf":
        return (lo if x[1] else hi) & m, NV
    v = x[1]
    n = _round_int(abs(v), rm, v < 0)
    n = -n if v < 0 else n
    if n < lo:
        return lo & m, NV
    if n > hi:
        return hi & m, NV
    return n & m, (NX if n != v else 0)


def ref_i2f(fmt, a, width, signed, rm):
    v = a - (1 << width) if signed and a >> (width - 1) else a
    return round_to(fmt, Fraction(v), rm)


def ref_f2f(src, dst, a, rm):
    x = decode(src, a)
    if x[0] == "nan":
        return _nan_result(dst, x)
    if x[0] == "inf":
        return _inf(dst, x[1]), 0
    return round_to(dst, x[1], rm, x[2])


# -- strategies -----------------------------------------------------------------------------


def bits(fmt: str, finite: bool = False):
    w, e, m = FMT[fmt]
    top = (((1 << e) - 1) << m) - 1  # largest finite magnitude pattern
    mag = st.integers(0, top) if finite else st.integers(0, (1 << (w - 1)) - 1)
    # interesting magnitudes: zero, subnormals, near 1, near the top, specials
    special = st.sampled_from([0, 1, (1 << m) - 1, 1 << m, top, top + 1, top + 2, CNAN[fmt]])
    if finite:
        special = st.sampled_from([0, 1, (1 << m) - 1, 1 << m, top, (((1 << (e - 1)) - 1) << m)])
    sign = st.integers(0, 1)
    return st.builds(lambda s, v: (s << (w - 1)) | v, sign, st.one_of(mag, mag, special))


rms = st.sampled_from(ALL_RM)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the reference itself, against the host (exact for binary64 RNE) -----------------------


def _d(b: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def _b(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


@given(bits("f64", finite=True), bits("f64", finite=True))
@SETTINGS
def test_reference_matches_host_binary64(a, b):
    for ref, host in (
        (ref_add("f64", a, b, RNE), _d(a) + _d(b)),
        (ref_mul("f64", a, b, RNE), _d(a) * _d(b)),
    ):
        if math.isfinite(host):
            assert ref[0] == _b(host)
    if _d(b) != 0:
        q = _d(a) / _d(b)
        if math.isfinite(q):
            assert ref_div("f64", a, b, RNE)[0] == _b(q)
    if _d(a) >= 0:
        assert ref_sqrt("f64", a, RNE)[0] == _b(math.sqrt(_d(a)))


# -- softfp against the host -----------------------------------------------------------------


@given(bits("f64", finite=True), bits("f64", finite=True))
@SETTINGS
def test_f64_rne_matches_host(a, b):
    for fn, host in (
        (softfp.fadd_f64, lambda x, y: x + y),
        (softfp.fsub_f64, lambda x, y: x - y),
        (softfp.fmul_f64, lambda x, y: x * y),
    ):
        r = host(_d(a), _d(b))
        if math.isfinite(r):
            assert fn(a, b, RNE)[0] == _b(r)
    if _d(b) != 0 and math.isfinite(_d(a) / _d(b)):
        assert softfp.fdiv_f64(a, b, RNE)[0] == _b(_d(a) / _d(b))


@given(bits("f32", finite=True), bits("f32", finite=True))
@SETTINGS
def test_f32_rne_matches_host_via_double(a, b):
    # binary32 add/mul computed in binary64 then rounded once more is exact (53 >= 2*24+2)
    fa = struct.unpack("<f", struct.pack("<I", a))[0]
    fb = struct.unpack("<f", struct.pack("<I", b))[0]
    for fn, r in ((softfp.fadd_f32, fa + fb), (softfp.fmul_f32, fa * fb)):
        try:
            expect = struct.unpack("<I", struct.pack("<f", r))[0]
        except OverflowError:
            continue
        assert fn(a, b, RNE)[0] == expect


# -- softfp against the rational reference, every mode ---------------------------------------


@pytest.mark.parametrize("fmt", ["f16", "f32", "f64"])
def test_arith_vs_reference(fmt):
    @given(bits(fmt), bits(fmt), rms)
    @SETTINGS
    def check(a, b, rm):
        f = fmt
        assert getattr(softfp, f"fadd_{f}")(a, b, rm) == ref_add(f, a, b, rm), "fadd"
        assert getattr(softfp, f"fsub_{f}")(a, b, rm) == ref_add(f, a, b, rm, True), "fsub"
        assert getattr(softfp, f"fmul_{f}")(a, b, rm) == ref_mul(f, a, b, rm), "fmul"
        assert getattr(softfp, f"fdiv_{f}")(a, b, rm) == ref_div(f, a, b, rm), "fdiv"
        assert getattr(softfp, f"fsqrt_{f}")(a, rm) == ref_sqrt(f, a, rm), "fsqrt"
        for op in ("eq", "lt", "le"):
            assert getattr(softfp, f"f{op}_{f}")(a, b) == ref_cmp(f, a, b, op), op

    check()


@pytest.mark.parametrize("fmt", ["f16", "f32", "f64"])
def test_fma_vs_reference(fmt):
    @given(bits(fmt), bits(fmt), bits(fmt), rms)
    @SETTINGS
    def check(a, b, c, rm):
        assert getattr(softfp, f"fma_{fmt}")(a, b, c, rm) == ref_fma(fmt, a, b, c, rm)

    check()


@pytest.mark.parametrize("fmt", ["f16", "f32", "f64"])
@pytest.mark.parametrize("kind", ["i32", "ui32", "i64", "ui64"])
def test_float_to_int_vs_reference(fmt, kind):
    width, signed = int(kind.lstrip("ui")), not kind.startswith("u")
    fn = getattr(softfp, f"cvt_{fmt}_{kind}")

    @given(bits(fmt), rms)
    @SETTINGS
    def check(a, rm):
        assert fn(a, rm) == ref_f2i(fmt, a, width, signed, rm)

    check()


@pytest.mark.parametrize("fmt", ["f16", "f32", "f64"])
@pytest.mark.parametrize("kind", ["i32", "ui32", "i64", "ui64"])
def test_int_to_float_vs_reference(fmt, kind):
    width, signed = int(kind.lstrip("ui")), not kind.startswith("u")
    fn = getattr(softfp, f"cvt_{kind}_{fmt}")
    edge = st.sampled_from([0, 1, (1 << width) - 1, 1 << (width - 1), (1 << (width - 1)) - 1])

    @given(st.one_of(st.integers(0, (1 << width) - 1), edge), rms)
    @SETTINGS
    def check(a, rm):
        assert fn(a, rm) == ref_i2f(fmt, a, width, signed, rm)

    check()


@pytest.mark.parametrize("src", ["f16", "f32", "f64"])
@pytest.mark.parametrize("dst", ["f16", "f32", "f64"])
def test_float_to_float_vs_reference(src, dst):
    if src == dst:
        return
    fn = getattr(softfp, f"cvt_{src}_{dst}")

    @given(bits(src), rms)
    @SETTINGS
    def check(a, rm):
        assert fn(a, rm) == ref_f2f(src, dst, a, rm)

    check()


# -- hand-derived edge cases -------------------------------------------------------------------

ONE32, THREE32 = 0x3F800000, 0x40400000
ONE64, THREE64 = 0x3FF0000000000000, 0x4008000000000000


@pytest.mark.parametrize(
    ("rm", "f32", "f64"),
    [
        # 1/3 = 0x3eaaaaaa|aaab..., the guard bits are 1010... -> RNE, RMM and RUP round up
        (RNE, 0x3EAAAAAB, 0x3FD5555555555555),
        (RTZ, 0x3EAAAAAA, 0x3FD5555555555555),
        (RDN, 0x3EAAAAAA, 0x3FD5555555555555),
        (RUP, 0x3EAAAAAB, 0x3FD5555555555556),
        (RMM, 0x3EAAAAAB, 0x3FD5555555555555),
    ],
)
def test_one_third_in_every_mode(rm, f32, f64):
    assert softfp.fdiv_f32(ONE32, THREE32, rm) == (f32, NX)
    assert softfp.fdiv_f64(ONE64, THREE64, rm) == (f64, NX)
    # and -1/3 mirrors RDN and RUP
    neg = {RDN: RUP, RUP: RDN}.get(rm, rm)
    assert softfp.fdiv_f32(ONE32 | 1 << 31, THREE32, neg) == (f32 | 1 << 31, NX)


MAX32, INF32 = 0x7F7FFFFF, 0x7F800000


@pytest.mark.parametrize(
    ("rm", "pos", "neg"),
    [
        (RNE, INF32, INF32 | 1 << 31),
        (RMM, INF32, INF32 | 1 << 31),
        (RTZ, MAX32, MAX32 | 1 << 31),
        (RDN, MAX32, INF32 | 1 << 31),
        (RUP, INF32, MAX32 | 1 << 31),
    ],
)
def test_overflow_inf_or_max_finite(rm, pos, neg):
    assert softfp.fmul_f32(MAX32, 0x40000000, rm) == (pos, OF | NX)
    assert softfp.fmul_f32(MAX32 | 1 << 31, 0x40000000, rm) == (neg, OF | NX)
    assert softfp.fadd_f64(0x7FEFFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, rm)[1] == OF | NX


def test_underflow_and_subnormals():
    # smallest normal / 2 is exact subnormal 0x00400000: no UF (exact), no NX
    assert softfp.fmul_f32(0x00800000, 0x3F000000, RNE) == (0x00400000, 0)
    # smallest subnormal / 2: ties-to-even -> 0, inexact and tiny
    assert softfp.fmul_f32(0x00000001, 0x3F000000, RNE) == (0, UF | NX)
    assert softfp.fmul_f32(0x00000001, 0x3F000000, RUP) == (1, UF | NX)
    assert softfp.fmul_f32(0x80000001, 0x3F000000, RNE) == (0x80000000, UF | NX)
    # subnormal + subnormal is exact
    assert softfp.fadd_f32(0x00000001, 0x00000001, RNE) == (2, 0)
    # tininess after rounding: 0x007fffff * (1 + 2**-23) = just below 2**-126 before
    # rounding, rounds up to the smallest normal 0x00800000 -> tiny before, not after: no UF
    assert softfp.fmul_f32(0x007FFFFF, 0x3F800001, RNE) == (0x00800000, NX)
    # same in RTZ stays subnormal: tiny and inexact
    assert softfp.fmul_f32(0x007FFFFF, 0x3F800001, RTZ) == (0x007FFFFF, UF | NX)
    # f64 1e-310 * 1e-10 is deep in the subnormals
    r, fl = softfp.fmul_f64(_b(1e-310), _b(1e-10), RNE)
    assert r == _b(1e-310 * 1e-10) and fl == UF | NX


def test_special_values():
    cnan = 0x7FC00000
    snan = 0x7F800001
    qnan_payload = 0x7FC12345
    assert softfp.fadd_f32(INF32, INF32 | 1 << 31, RNE) == (cnan, NV)
    assert softfp.fmul_f32(INF32, 0, RNE) == (cnan, NV)
    assert softfp.fdiv_f32(0, 0, RNE) == (cnan, NV)
    assert softfp.fdiv_f32(ONE32, 0, RNE) == (INF32, DZ)
    assert softfp.fdiv_f32(ONE32, 0x80000000, RNE) == (INF32 | 1 << 31, DZ)
    assert softfp.fsqrt_f32(0xBF800000, RNE) == (cnan, NV)
    assert softfp.fsqrt_f32(0x80000000, RNE) == (0x80000000, 0)  # sqrt(-0) = -0
    # NaN payloads are not propagated (RISC-V): canonical NaN, NV only for signalling
    assert softfp.fadd_f32(qnan_payload, ONE32, RNE) == (cnan, 0)
    assert softfp.fadd_f32(snan, ONE32, RNE) == (cnan, NV)
    assert softfp.fadd_f64(0x7FF0000000000001, ONE64, RNE) == (0x7FF8000000000000, NV)
    assert softfp.fadd_f16(0x7C01, 0x3C00, RNE) == (0x7E00, NV)
    # conversions of NaNs: canonical, NV for signalling only
    assert softfp.cvt_f32_f64(snan, RNE) == (0x7FF8000000000000, NV)
    assert softfp.cvt_f32_f64(qnan_payload, RNE) == (0x7FF8000000000000, 0)
    assert softfp.cvt_f64_f32(0xFFF0000000000001, RNE) == (cnan, NV)


def test_signed_zero():
    nz = 0x80000000
    assert softfp.fadd_f32(ONE32, ONE32 | 1 << 31, RNE) == (0, 0)
    assert softfp.fadd_f32(ONE32, ONE32 | 1 << 31, RDN) == (nz, 0)
    assert softfp.fadd_f32(nz, nz, RNE) == (nz, 0)
    assert softfp.fadd_f32(nz, 0, RNE) == (0, 0)
    assert softfp.fadd_f32(nz, 0, RDN) == (nz, 0)
    assert softfp.fmul_f32(nz, ONE32, RNE) == (nz, 0)
    assert softfp.feq_f32(nz, 0) == (1, 0)
    assert softfp.flt_f32(nz, 0) == (0, 0)
    assert softfp.fle_f32(0, nz) == (1, 0)


def test_compare_nan_flags():
    q, s = 0x7FC00000, 0x7F800001
    assert softfp.feq_f32(q, ONE32) == (0, 0)
    assert softfp.feq_f32(s, ONE32) == (0, NV)
    assert softfp.flt_f32(q, ONE32) == (0, NV)
    assert softfp.fle_f32(ONE32, q) == (0, NV)
    assert softfp.feq_f64(0x7FF8000000000000, 0x7FF8000000000000) == (0, 0)


def test_fma_single_rounding():
    # (1 + 2**-23) * (1 - 2**-23) - 1 = -2**-46 exactly; a rounded product would give 0
    a, b, c = 0x3F800001, 0x3F7FFFFE, 0xBF800000
    assert softfp.fma_f32(a, b, c, RNE) == (0xA8800000, 0)
    p, _ = softfp.fmul_f32(a, b, RNE)
    assert softfp.fadd_f32(p, c, RNE) == (0, 0)
    # 0 * inf + qNaN is invalid in RISC-V
    assert softfp.fma_f32(0, INF32, 0x7FC00000, RNE) == (0x7FC00000, NV)
    # f64: same identity
    assert softfp.fma_f64(0x3FF0000000000001, 0x3FEFFFFFFFFFFFFE, 0xBFF0000000000000, RNE) == (
        _b(-(2.0**-104)),
        0,
    )


@pytest.mark.parametrize(
    ("fn", "arg", "rm", "expect"),
    [
        # fcvt.w.s: NaN -> 2**31-1, +inf -> 2**31-1, -inf -> -2**31 (as 32-bit pattern)
        ("cvt_f32_i32", 0x7FC00000, RNE, (0x7FFFFFFF, NV)),
        ("cvt_f32_i32", 0xFFC00000, RNE, (0x7FFFFFFF, NV)),
        ("cvt_f32_i32", INF32, RNE, (0x7FFFFFFF, NV)),
        ("cvt_f32_i32", INF32 | 1 << 31, RNE, (0x80000000, NV)),
        ("cvt_f32_i32", 0x4F000000, RNE, (0x7FFFFFFF, NV)),  # 2**31 overflows
        ("cvt_f32_i32", 0xCF000000, RNE, (0x80000000, 0)),  # -2**31 fits exactly
        ("cvt_f32_i32", 0xBFC00000, RNE, (0xFFFFFFFE, NX)),  # -1.5 -> -2 (even)
        ("cvt_f32_i32", 0xBFC00000, RTZ, (0xFFFFFFFF, NX)),
        ("cvt_f32_i32", 0xBFC00000, RMM, (0xFFFFFFFE, NX)),
        ("cvt_f32_i32", 0x3FC00000, RDN, (1, NX)),
        ("cvt_f32_i32", 0x3FC00000, RUP, (2, NX)),
        # fcvt.wu.s: negative -> 0 with NV, but -0.5 rounding to 0 is only inexact
        ("cvt_f32_ui32", 0xBF800000, RNE, (0, NV)),
        ("cvt_f32_ui32", 0xBF000000, RTZ, (0, NX)),
        ("cvt_f32_ui32", 0x7FC00000, RNE, (0xFFFFFFFF, NV)),
        ("cvt_f32_ui32", 0x4F800000, RNE, (0xFFFFFFFF, NV)),  # 2**32
        ("cvt_f64_i64", 0x7FF8000000000000, RNE, (0x7FFFFFFFFFFFFFFF, NV)),
        ("cvt_f64_i64", 0xC3E0000000000000, RNE, (1 << 63, 0)),  # -2**63 exact
        ("cvt_f64_i64", 0x43E0000000000000, RNE, (0x7FFFFFFFFFFFFFFF, NV)),  # 2**63
        ("cvt_f64_ui64", 0xFFF0000000000000, RNE, (0, NV)),
        ("cvt_f64_ui64", 0x43F0000000000000, RNE, ((1 << 64) - 1, NV)),  # 2**64
        ("cvt_f64_i32", _b(-2147483648.9), RTZ, (0x80000000, NX)),
        ("cvt_f64_i32", _b(-2147483648.9), RNE, (0x80000000, NV)),
        ("cvt_i32_f32", 0xFFFFFFFF, RNE, (0xBF800000, 0)),
        ("cvt_ui32_f32", 0xFFFFFFFF, RNE, (0x4F800000, NX)),
        ("cvt_ui32_f32", 0xFFFFFFFF, RTZ, (0x4F7FFFFF, NX)),
        ("cvt_i64_f64", 1 << 63, RNE, (0xC3E0000000000000, 0)),
        ("cvt_ui64_f64", (1 << 64) - 1, RDN, (0x43EFFFFFFFFFFFFF, NX)),
        ("cvt_i32_f64", 0x80000000, RNE, (_b(-2147483648.0), 0)),
        ("cvt_f64_f32", _b(1e300), RNE, (INF32, OF | NX)),
        ("cvt_f64_f32", _b(1e300), RTZ, (MAX32, OF | NX)),
        ("cvt_f64_f32", _b(1 / 3), RNE, (0x3EAAAAAB, NX)),
        ("cvt_f32_f64", 0x3EAAAAAB, RTZ, (_b(struct.unpack("<f", b"\xab\xaa\xaa\x3e")[0]), 0)),
        ("cvt_f32_f16", 0x3F800000, RNE, (0x3C00, 0)),
        ("cvt_f32_f16", 0x477FF000, RNE, (0x7C00, OF | NX)),  # 65520 rounds to inf
        ("cvt_f32_f16", 0x477FF000, RTZ, (0x7BFF, NX)),  # rounds down to max: no OF
        ("cvt_f16_f64", 0x0001, RNE, (_b(2.0**-24), 0)),
    ],
)
def test_conversion_edges(fn, arg, rm, expect):
    assert getattr(softfp, fn)(arg, rm) == expect


def test_f128_where_cheap():
    one = 0x3FFF << 112
    two = 0x4000 << 112
    three = (0x4000 << 112) | (1 << 111)
    assert softfp.fadd_f128(one, two, RNE) == (three, 0)
    r, fl = softfp.fdiv_f128(one, three, RNE)
    assert fl == NX and r >> 112 == 0x3FFD and r & ((1 << 112) - 1) == int("5" * 28, 16)
    assert softfp.cvt_f128_f64(three, RNE) == (_b(3.0), 0)
    assert softfp.cvt_f64_f128(_b(-0.5), RNE) == ((1 << 127) | (0x3FFE << 112), 0)
    assert softfp.cvt_i64_f128((1 << 64) - 1, RNE) == ((1 << 127) | one, 0)


def test_flags_are_per_operation():
    softfp.fdiv_f32(ONE32, 0, RNE)  # raises DZ
    assert softfp.fadd_f32(ONE32, ONE32, RNE) == (0x40000000, 0)
    softfp.fdiv_f32(ONE32, THREE32, RUP)  # leaves the rounding mode at RUP
    assert softfp.fdiv_f32(ONE32, THREE32, RTZ) == (0x3EAAAAAA, NX)


def test_exports_every_name_the_engine_uses():
    names = set(softfp.OPERATIONS)
    for f in ("f16", "f32", "f64", "f128"):
        for op in ("fadd", "fsub", "fmul", "fdiv", "fsqrt", "fma", "feq", "flt", "fle"):
            assert f"{op}_{f}" in names
        for k in ("i32", "ui32", "i64", "ui64"):
            assert f"cvt_{f}_{k}" in names and f"cvt_{k}_{f}" in names
        for g in ("f16", "f32", "f64", "f128"):
            assert (f"cvt_{f}_{g}" in names) == (f != g)
    assert all(callable(getattr(softfp, n)) for n in softfp.__all__ if n[0].islower())


@pytest.mark.parametrize("fmt", ["f32", "f64"])
def test_products_near_the_underflow_threshold(fmt):
    """Random operands whose product lands next to the smallest normal: where tininess
    before and after rounding differ."""
    w, e, m = FMT[fmt]
    bias = (1 << (e - 1)) - 1

    @given(st.integers(0, (1 << m) - 1), st.integers(-3, 3), st.integers(1, 20), rms)
    @SETTINGS
    def check(frac_a, delta, shift, rm):
        ea = bias + shift  # a = 1.frac * 2**shift
        a = (ea << m) | frac_a
        target = Fraction(2) ** (1 - bias) / decode(fmt, a)[1]
        b, _ = round_to(fmt, target, RNE)
        b += delta
        assert getattr(softfp, f"fmul_{fmt}")(a, b, rm) == ref_mul(fmt, a, b, rm)

    check()
