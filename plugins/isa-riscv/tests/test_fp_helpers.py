"""RISC-V fclass and fmin/fmax (the 2019 minimumNumber/maximumNumber) on raw bits,
against hand-derived values and a reference written here."""

from __future__ import annotations

import struct

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vmcore_isa_riscv import fp_helpers

NV = 16
ONE32 = 0x3F800000
CNAN64 = 0x7FF8000000000000
SPECIALS64 = [
    0,
    1,
    (1 << 52) - 1,
    1 << 52,
    0x7FEFFFFFFFFFFFFF,
    0x7FF0000000000000,
    0x7FF0000000000001,
    0x7FF4000000000000,
    CNAN64,
    0x3FF0000000000000,
]


def bits64():
    mag = st.one_of(st.integers(0, (1 << 63) - 1), st.sampled_from(SPECIALS64))
    return st.builds(lambda sign, m: sign << 63 | m, st.integers(0, 1), mag)


def kind(b: int):
    """('nan', quiet?) or ('num',)."""
    if (b & ~(1 << 63)) > 0x7FF0000000000000:
        return ("nan", bool(b >> 51 & 1))
    return ("num",)


def _d(b: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", b))[0]


@pytest.mark.parametrize(
    ("bits32", "cls"),
    [
        (0xFF800000, 0),
        (0xBF800000, 1),
        (0x80000001, 2),
        (0x80000000, 3),
        (0x00000000, 4),
        (0x00000001, 5),
        (0x3F800000, 6),
        (0x7F800000, 7),
        (0x7F800001, 8),
        (0xFFC00000, 9),
    ],
)
def test_fclass_f32(bits32, cls):
    assert fp_helpers.fclass_f32(bits32) == 1 << cls


def test_fclass_f64_and_f16():
    assert fp_helpers.fclass_f64(0xFFF0000000000000) == 1
    assert fp_helpers.fclass_f64(0x000FFFFFFFFFFFFF) == 1 << 5
    assert fp_helpers.fclass_f64(0x7FF4000000000000) == 1 << 8
    assert fp_helpers.fclass_f64(0x7FF8000000000000) == 1 << 9
    assert fp_helpers.fclass_f16(0x8000) == 1 << 3
    assert fp_helpers.fclass_f16(0x7C00) == 1 << 7


def test_fmin_fmax():
    q, s, nz = 0x7FC00000, 0x7F800001, 0x80000000
    two = 0x40000000
    assert fp_helpers.fmin_f32(ONE32, two) == (ONE32, 0)
    assert fp_helpers.fmax_f32(ONE32, two) == (two, 0)
    assert fp_helpers.fmin_f32(0xC0000000, ONE32) == (0xC0000000, 0)
    assert fp_helpers.fmin_f32(nz, 0) == (nz, 0)
    assert fp_helpers.fmin_f32(0, nz) == (nz, 0)
    assert fp_helpers.fmax_f32(nz, 0) == (0, 0)
    assert fp_helpers.fmax_f32(0, nz) == (0, 0)
    assert fp_helpers.fmin_f32(q, ONE32) == (ONE32, 0)
    assert fp_helpers.fmax_f32(ONE32, q) == (ONE32, 0)
    assert fp_helpers.fmin_f32(s, ONE32) == (ONE32, NV)
    assert fp_helpers.fmin_f32(q, q) == (q, 0)
    assert fp_helpers.fmin_f32(0x7FC00123, 0xFFC00000) == (q, 0)
    assert fp_helpers.fmax_f32(s, s) == (q, NV)
    assert fp_helpers.fmin_f64(0xFFF0000000000000, 0x7FF0000000000000) == (0xFFF0000000000000, 0)
    assert fp_helpers.fmax_f64(0x7FF8000000000000, 0x7FF0000000000001) == (0x7FF8000000000000, NV)
    assert fp_helpers.fmin_f16(0x7E00, 0xBC00) == (0xBC00, 0)


@given(bits64(), bits64())
@settings(max_examples=300, deadline=None)
def test_fmin_fmax_vs_reference(a, b):
    x, y = kind(a), kind(b)
    lo, flo = fp_helpers.fmin_f64(a, b)
    hi, fhi = fp_helpers.fmax_f64(a, b)
    snan = any(o[0] == "nan" and not o[1] for o in (x, y))
    assert flo == fhi == (NV if snan else 0)
    if x[0] == "nan" and y[0] == "nan":
        assert lo == hi == CNAN64
        return
    if x[0] == "nan" or y[0] == "nan":
        assert lo == hi == (b if x[0] == "nan" else a)
        return
    assume(a != b)
    da, db = _d(a), _d(b)
    if da == db:  # +0 and -0
        assert lo >> 63 == 1 and hi >> 63 == 0
    else:
        assert (lo, hi) == ((a, b) if da < db else (b, a))
