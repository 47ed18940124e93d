"""Native floating point for the jit: generated code calls Berkeley SoftFloat directly.

:mod:`vmcore.softfp` computes every FP op with the SoftFloat 3 build inside PyPI
``softfloatpy`` (its ``_core`` extension module exports SoftFloat's C API). This module
loads that very shared object into LLVM's symbol search (``load_library_permanently``)
and lowers f16/f32/f64 ops to calls of its C functions, so results and exception flags
are bit-identical to softfp's (same code, same ``softfloat_detectTininess`` that softfp
sets at import) at native speed instead of a ctypes callback into Python per op.

Per op, the generated code does what softfp's generated function does: store the rounding
mode in ``softfloat_roundingMode`` (not for comparisons, nor for float -> integer
conversions, which take it as an argument with ``exact`` true), zero
``softfloat_exceptionFlags``, call, then OR the flags into the op's flags slot. Both
globals are plain (not thread-local) ``uint_fast8_t`` bytes; their addresses are baked
into the code. Nothing else runs between the store and the load, so interleaved Python
softfp calls (interp blocks, helpers) cannot disturb an op.

Calling convention: ``float16_t``/``float32_t``/``float64_t`` are structs of one unsigned
integer, passed and returned in integer registers on x86-64 SysV and AArch64 (AAPCS64),
so they are declared as ``i16``/``i32``/``i64``. ``int_fast32_t``/``uint_fast32_t`` are
64-bit on glibc, hence the i64 returns of the 32-bit integer conversions (truncated, as
softfp masks them). ``float128_t`` is passed by value as a two-word struct (ABI-specific
lowering): f128 ops stay on the Python callback, as does everything on other hosts.

``VMCORE_JIT_NATIVE_FP=0`` keeps every FP op on the callback (for A/B comparisons).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
from typing import Any

import llvmlite.binding as llvm

from vmcore import softfp  # noqa: F401  (sets SoftFloat's tininess mode, shared with us)

#: format -> LLVM type of its bit pattern (the formats lowered natively)
_FTY = {"f16": "i16", "f32": "i32", "f64": "i64"}
#: integer kind of a conversion -> (LLVM type, parameter attribute when it is an argument)
_ITY = {
    "i32": ("i32", "signext"),
    "ui32": ("i32", "zeroext"),
    "i64": ("i64", ""),
    "ui64": ("i64", ""),
}
#: softfp op -> SoftFloat function suffix
_ARITH = {
    "fadd": "add",
    "fsub": "sub",
    "fmul": "mul",
    "fdiv": "div",
    "fsqrt": "sqrt",
    "fma": "mulAdd",
}
_CMP = {"feq": "eq", "flt": "lt", "fle": "le"}  # eq quiet, lt/le signalling: as softfp
_HOSTS = {"x86_64", "amd64", "aarch64", "arm64"}


class _Lib:
    """The loaded SoftFloat: path and addresses of its two state bytes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cdll = ctypes.CDLL(path)
        self.rm = ctypes.addressof(ctypes.c_uint8.in_dll(self.cdll, "softfloat_roundingMode"))
        self.flags = ctypes.addressof(ctypes.c_uint8.in_dll(self.cdll, "softfloat_exceptionFlags"))
        llvm.load_library_permanently(path)
        # MCJIT resolves declared functions by name in the process: make sure every name
        # we may call means this library's function (not some other SoftFloat's).
        for name in _symbols():
            addr = ctypes.cast(getattr(self.cdll, name), ctypes.c_void_p).value
            if llvm.address_of_symbol(name) != addr:
                raise RuntimeError(f"{name} does not resolve to {path}")


def _symbols() -> list[str]:
    names = []
    for f in _FTY:
        names += [f"{f}_{s}" for s in (*_ARITH.values(), *_CMP.values())]
        names += [f"{f}_to_{g}" for g in _FTY if g != f]
        for i in _ITY:
            names += [f"{f}_to_{i}", f"{i}_to_{f}"]
    return names


_LIB: _Lib | None = None
_FAILED = False


def core_path() -> str | None:
    """Path of softfloatpy's compiled ``_core`` module, or None."""
    spec = importlib.util.find_spec("softfloatpy._core")
    return spec.origin if spec is not None and spec.origin else None


def library() -> _Lib | None:
    """The SoftFloat library, loaded once; None if it cannot be used on this host."""
    global _LIB, _FAILED
    if _LIB is None and not _FAILED:
        try:
            if platform.machine().lower() not in _HOSTS or os.name != "posix":
                raise RuntimeError("no native FP calling convention for this host")
            path = core_path()
            if path is None:
                raise RuntimeError("softfloatpy._core not found")
            _LIB = _Lib(path)
        except (OSError, ValueError, AttributeError, RuntimeError):
            _FAILED = True
    return _LIB


def enabled() -> bool:
    """Whether FP ops are lowered to native SoftFloat calls (``VMCORE_JIT_NATIVE_FP``)."""
    if os.environ.get("VMCORE_JIT_NATIVE_FP", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return library() is not None


def _plan(name: str) -> tuple[str, str, list[str], str | None] | None:
    """How to compute softfp's operation ``name`` natively, or None (stays a callback).

    Returns the C function, its return type (with attributes), the types (with attributes)
    of the parameters taking the op's operands, and where the rounding mode goes:
    "global" (``softfloat_roundingMode``), "arg" (float -> integer conversions: rounding
    mode and ``exact`` = true follow the operand) or None (comparisons).
    """
    op, _, rest = name.partition("_")
    if op in _ARITH and rest in _FTY:
        n = {"fsqrt": 1, "fma": 3}.get(op, 2)
        return f"{rest}_{_ARITH[op]}", _FTY[rest], [_param(_FTY[rest])] * n, "global"
    if op in _CMP and rest in _FTY:
        return f"{rest}_{_CMP[op]}", "zeroext i1", [_param(_FTY[rest])] * 2, None
    if op != "cvt":
        return None
    src, _, dst = rest.partition("_")
    if src in _FTY and dst in _FTY:
        return f"{src}_to_{dst}", _FTY[dst], [_param(_FTY[src])], "global"
    if src in _FTY and dst in _ITY:
        # int_fast32_t/uint_fast32_t/int_fast64_t/uint_fast64_t: all 64-bit on glibc
        return f"{src}_to_{dst}", "i64", [_param(_FTY[src])], "arg"
    if src in _ITY and dst in _FTY:
        t, attr = _ITY[src]
        return f"{src}_to_{dst}", _FTY[dst], [f"{t} {attr}".strip()], "global"
    return None


def _param(t: str) -> str:
    return f"{t} zeroext" if t == "i16" else t


def lower_fp(gen: Any, op: Any, name: str) -> bool:
    """Emit ``op`` (softfp operation ``name``) as a native SoftFloat call through ``gen``
    (a :class:`~vmcore_jit_llvm.codegen.BlockGen`); False if it is not handled here."""
    plan = _plan(name)
    if plan is None or not enabled():
        return False
    lib = library()
    assert lib is not None
    fn, ret, params, rm_how = plan
    args = list(op.args)
    vals = args[:-1] if rm_how else args
    if len(vals) != len(params):
        return False
    rm = _arg(gen, args[-1], "i8") if rm_how else None
    call_args = [f"{p} {_arg(gen, v, p)}" for p, v in zip(params, vals, strict=True)]
    decl_params = list(params)
    if rm_how == "arg":
        call_args += [f"i8 zeroext {rm}", "i1 zeroext true"]
        decl_params += ["i8 zeroext", "i1 zeroext"]
    gen.decls.add(f"declare {ret} @{fn}({', '.join(decl_params)}) nounwind")
    rm_ptr = f"inttoptr (i64 {lib.rm} to ptr)"
    fl_ptr = f"inttoptr (i64 {lib.flags} to ptr)"
    flags = op.attrs.get("flags")
    if rm_how == "global":
        gen.emit(f"store i8 {rm}, ptr {rm_ptr}")
    if flags is not None:
        gen.emit(f"store i8 0, ptr {fl_ptr}")
    r = gen.ins(f"call {ret} @{fn}({', '.join(call_args)})")
    rty, w = ret.split()[-1], op.dst.width
    if rty != f"i{w}":
        r = gen.ins(f"trunc {rty} {r} to i{w}")
    gen.alias(op, r)
    if flags is not None:
        fl = gen.ins(f"load i8, ptr {fl_ptr}")
        gen.accrue_flags(flags, gen.ins(f"zext i8 {fl} to i64"))
    return True


def _arg(gen: Any, value: Any, param: str) -> str:
    """Operand ``value`` as the parameter type (IR widths already match; be safe)."""
    t = param.split()[0]
    have = gen.ty(value)
    v = gen.v(value)
    if have == t:
        return v
    tw, hw = int(t[1:]), int(have[1:])
    return gen.ins(f"{'trunc' if hw > tw else 'zext'} {have} {v} to {t}")
