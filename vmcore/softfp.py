"""Bit-exact IEEE 754 arithmetic on raw integer bit patterns (Berkeley SoftFloat 3).

Engines and lifters never see a host float: every operand and result is the format's bit
pattern as an unsigned int, and every operation returns ``(result_bits, flags)`` where
``flags`` are the exceptions raised by that operation alone, as :class:`vmcore.ir.FPFlag`
bits (NX=1, UF=2, OF=4, DZ=8, NV=16: RISC-V ``fflags`` order, also SoftFloat's).
Rounding modes are :class:`vmcore.ir.RoundingMode` values (SoftFloat's numbering); a
reserved mode is the lifter's business and must not reach this module.

The backend is PyPI ``softfloatpy``, SoftFloat built with its RISC-V specialisation: a NaN
result is always the canonical NaN (f16 0x7e00, f32 0x7fc00000, f64 0x7ff8000000000000),
float -> integer conversions saturate (NaN and +overflow give the largest integer,
-overflow the smallest; NV raised) and tininess is detected after rounding. Other ISAs
needing other NaN rules (AArch64 default-NaN off, x87) post-process results themselves.

Naming (the interp engine and the JIT call these by name):

* ``fadd_<f>(a, b, rm)``, ``fsub_``, ``fmul_``, ``fdiv_``, ``fsqrt_<f>(a, rm)``,
  ``fma_<f>(a, b, c, rm)`` (a * b + c, one rounding), ``feq_<f>(a, b)`` (quiet),
  ``flt_<f>``/``fle_<f>`` (signalling) returning 0/1 -- for f in f16, f32, f64, f128;
* ``cvt_<f>_<g>(a, rm)`` between any two formats;
* ``cvt_<f>_<i>(a, rm)`` float to integer, i in i32, ui32, i64, ui64, result as an
  unsigned pattern of the integer's width (fcvt.w.s gives 32 bits; the lifter sign-extends);
* ``cvt_<i>_<f>(a, rm)`` integer (unsigned pattern of its width) to float;
* :data:`CANONICAL_NAN` of each format, and :data:`FORMATS` (width, exponent, fraction bits).

ISA-specific semantics beyond these (RISC-V fclass and fmin/fmax, say) belong to the ISA
plugin, built from the same bit patterns.

Why generated source: each operation is one flat function with the bit <-> SoftFloat object
conversions inlined (no helper calls, no per-call lookups). The rounding mode and the flags
are set on every call, so nothing leaks from one operation into the next; the tininess mode
is set once at import (after rounding, also SoftFloat's RISC-V default).

Cost (CPython 3.11, idle machine): about 530 ns for an f64 add, 650 ns for f32 (the
binding takes bits only through bytes or host floats), 300 ns for f16 (objects cached),
400-450 ns for comparisons and conversions. Most of it is turning bits into SoftFloat
objects and back; the arithmetic itself is about 70 ns.
"""

from __future__ import annotations

import struct
from typing import Any

try:
    import softfloatpy as _sf
except ImportError as exc:  # pragma: no cover - the dependency is declared
    raise ImportError(
        "vmcore.softfp needs the 'softfloatpy' package (pip install softfloatpy)"
    ) from exc

#: format name -> (total bits, exponent bits, fraction bits)
FORMATS = {"f16": (16, 5, 10), "f32": (32, 8, 23), "f64": (64, 11, 52), "f128": (128, 15, 112)}
#: integer kinds of conversions -> (width, signed)
INTS = {"i32": (32, True), "ui32": (32, False), "i64": (64, True), "ui64": (64, False)}
#: the RISC-V canonical quiet NaN of each format
CANONICAL_NAN = {f: ((1 << (e + 1)) - 1) << (m - 1) for f, (_, e, m) in FORMATS.items()}

_sf.set_tininess_mode(_sf.TininessMode.AFTER_ROUNDING)

_CLASS = {"f16": _sf.Float16, "f32": _sf.Float32, "f64": _sf.Float64, "f128": _sf.Float128}
_INT_CLASS = {"i32": _sf.Int32, "ui32": _sf.UInt32, "i64": _sf.Int64, "ui64": _sf.UInt64}


class _F16Cache(dict):
    """All f16 objects ever seen, by bits (at most 65536 small immutable objects)."""

    def __missing__(self, bits: int) -> Any:
        obj = self[bits] = _sf.Float16.from_bytes(bits.to_bytes(2, "big"))
        return obj


# the namespace the generated functions run in
_NS: dict[str, Any] = {
    "__name__": __name__,
    "SEF": _sf.set_exception_flags,
    "GEF": _sf.get_exception_flags,
    "SRM": _sf.set_rounding_mode,
    "IB": int.from_bytes,
    "C16": _F16Cache(),
    "FB32": _sf.Float32.from_bytes,
    "FF32": _sf.Float32.from_float,
    "FB128": _sf.Float128.from_bytes,
    "FF64": _sf.Float64.from_float,
    "PI": struct.Struct("<I").pack,
    "UF": struct.Struct("<f").unpack,
    "PQ": struct.Struct("<Q").pack,
    "UD": struct.Struct("<d").unpack,
}
for _k, _cls in _INT_CLASS.items():
    _NS[f"INT_{_k}"] = _cls.from_int


def _load(fmt: str, x: str) -> str:
    """Expression turning bits ``x`` into a SoftFloat object of ``fmt``.

    f32 and f64 go through a host double (exact for every non-NaN f32 and for every f64);
    an f32 NaN would lose its payload and signalling bit that way, so NaNs take the slower
    byte path.
    """
    if fmt == "f64":
        return f"FF64(UD(PQ({x}))[0])"
    if fmt == "f32":
        return (
            f"(FF32(UF(PI({x}))[0]) if ({x} & 0x7fffffff) <= 0x7f800000"
            f" else FB32({x}.to_bytes(4, 'big')))"
        )
    if fmt == "f16":
        return f"C16[{x}]"
    return f"FB128({x}.to_bytes(16, 'big'))"


def _store(r: str) -> str:
    return f"IB({r}.to_bytes(), 'big')"


_SOURCES: list[str] = []
_GENERATED: list[str] = []


def _define(src: str) -> None:
    _SOURCES.append(src)
    _GENERATED.append(src[4 : src.index("(")])


def _generate() -> None:
    for f in FORMATS:
        a, b, c = _load(f, "a"), _load(f, "b"), _load(f, "c")
        for op, sfname in (("fadd", "add"), ("fsub", "sub"), ("fmul", "mul"), ("fdiv", "div")):
            fn = f"SF_{f}_{sfname}"
            _NS[fn] = getattr(_sf, f"{f}_{sfname}")
            _define(
                f"def {op}_{f}(a, b, rm):\n"
                f"    SEF(0); SRM(rm)\n"
                f"    r = {fn}({a}, {b})\n"
                f"    return {_store('r')}, GEF()\n"
            )
        _NS[f"SF_{f}_sqrt"] = getattr(_sf, f"{f}_sqrt")
        _define(
            f"def fsqrt_{f}(a, rm):\n"
            f"    SEF(0); SRM(rm)\n"
            f"    r = SF_{f}_sqrt({a})\n"
            f"    return {_store('r')}, GEF()\n"
        )
        _NS[f"SF_{f}_mul_add"] = getattr(_sf, f"{f}_mul_add")
        _define(
            f"def fma_{f}(a, b, c, rm):\n"
            f"    SEF(0); SRM(rm)\n"
            f"    r = SF_{f}_mul_add({a}, {b}, {c})\n"
            f"    return {_store('r')}, GEF()\n"
        )
        for op, sfname in (("feq", "eq"), ("flt", "lt"), ("fle", "le")):
            _NS[f"SF_{f}_{sfname}"] = getattr(_sf, f"{f}_{sfname}")
            _define(
                f"def {op}_{f}(a, b):\n"
                f"    SEF(0)\n"
                f"    r = SF_{f}_{sfname}({a}, {b})\n"
                f"    return (1 if r else 0), GEF()\n"
            )
        for g in FORMATS:
            if g == f:
                continue
            _NS[f"SF_{f}_to_{g}"] = getattr(_sf, f"{f}_to_{g}")
            _define(
                f"def cvt_{f}_{g}(a, rm):\n"
                f"    SEF(0); SRM(rm)\n"
                f"    r = SF_{f}_to_{g}({a})\n"
                f"    return {_store('r')}, GEF()\n"
            )
        for i, (w, signed) in INTS.items():
            m = hex((1 << w) - 1)
            _NS[f"SF_{f}_to_{i}"] = getattr(_sf, f"{f}_to_{i}")
            _define(
                f"def cvt_{f}_{i}(a, rm):\n"
                f"    SEF(0)\n"
                f"    r = SF_{f}_to_{i}({a}, rm, True).to_int()\n"
                f"    return r & {m}, GEF()\n"
            )
            _NS[f"SF_{i}_to_{f}"] = getattr(_sf, f"{i}_to_{f}")
            arg = f"a - ((a & {1 << (w - 1):#x}) << 1)" if signed else "a"
            _define(
                f"def cvt_{i}_{f}(a, rm):\n"
                f"    SEF(0); SRM(rm)\n"
                f"    r = SF_{i}_to_{f}(INT_{i}({arg}))\n"
                f"    return {_store('r')}, GEF()\n"
            )
    exec(compile("\n".join(_SOURCES), "<vmcore.softfp generated>", "exec"), _NS)


_generate()
for _name in _GENERATED:
    _NS[_name].__qualname__ = _name
globals().update({n: _NS[n] for n in _GENERATED})


#: names of every operation this module exports (for engines that bind them up front)
OPERATIONS = tuple(sorted(_GENERATED))

__all__ = [
    "CANONICAL_NAN",
    "FORMATS",
    "INTS",
    "OPERATIONS",
    *OPERATIONS,
]
