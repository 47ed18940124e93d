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

Host fast path: f32/f64 add, sub, mul, div, sqrt and fma run on the host FPU when that
provably gives SoftFloat's answer (round-to-nearest-even, NX already accrued, ordinary
operands and result; see :func:`_host_path`), and call SoftFloat otherwise. QEMU's
"hardfloat" makes the same bet; it is what lets FP-heavy guests run at host FP speed.

The engine's options ``native_fp`` (``VMCORE_JIT_NATIVE_FP=0``: every FP op on the
callback) and ``host_fp`` (``VMCORE_JIT_HOST_FP=0``: every op on SoftFloat) switch these
off for A/B comparisons; the generated code reads them from its ``Env``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
from typing import Any

import llvmlite.binding as llvm

from vmcore import softfp  # (importing it sets SoftFloat's tininess mode, shared with us)
from vmcore.ir import FPFlag, RoundingMode

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
    if plan is None or not gen.env.native_fp:
        return False
    lib = library()
    assert lib is not None
    fn, ret, params, rm_how = plan
    args = list(op.args)
    vals = args[:-1] if rm_how else args
    if len(vals) != len(params):
        return False
    rm = _arg(gen, args[-1], "i8") if rm_how else None
    operands = [_arg(gen, v, p) for p, v in zip(params, vals, strict=True)]
    call_args = [f"{p} {x}" for p, x in zip(params, operands, strict=True)]
    decl_params = list(params)
    if rm_how == "arg":
        call_args += [f"i8 zeroext {rm}", "i1 zeroext true"]
        decl_params += ["i8 zeroext", "i1 zeroext"]
    gen.decls.add(f"declare {ret} @{fn}({', '.join(decl_params)}) nounwind")
    rm_ptr = f"inttoptr (i64 {lib.rm} to ptr)"
    fl_ptr = f"inttoptr (i64 {lib.flags} to ptr)"
    flags = op.attrs.get("flags")
    host = _host_path(gen, op, name, rm, operands)
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
    if host is not None:
        host_bits, host_label, join = host
        slow_end = gen.cur
        gen.emit(f"br label %{join}")
        gen.label(join)
        t = f"i{op.dst.width}"
        gen.define(op, f"phi {t} [{host_bits}, %{host_label}], [{gen.v(op.dst)}, %{slow_end}]")
    return True


#: formats the host FP fast path handles -> LLVM's type for them
_HOST_TYPES = {"f32": "float", "f64": "double"}
#: operand kinds of the fast path: zero or normal; normal (a divisor: no DZ, no 0/0);
#: non-negative normal (a square root's operand: no NV; sqrt(+0) is left to SoftFloat)
ANY, NONZERO, POSITIVE = "zero or normal", "normal", "positive normal"
#: op -> (LLVM instruction or intrinsic, kinds of its operands)
_HOST_OPS = {
    "fadd": ("fadd", (ANY, ANY)),
    "fsub": ("fsub", (ANY, ANY)),
    "fmul": ("fmul", (ANY, ANY)),
    "fdiv": ("fdiv", (ANY, NONZERO)),
    "fsqrt": ("@llvm.sqrt", (POSITIVE,)),
    "fma": ("@llvm.fma", (ANY, ANY, ANY)),
}


def _host_path(gen: Any, op: Any, name: str, rm: str | None, args: list[str]) -> Any:
    """The host FP fast path of an arithmetic op (QEMU's "hardfloat" idea), or None.

    The host FPU computes the same correctly rounded result as SoftFloat whenever the
    rounding mode is round-to-nearest-even (the host's, which Python never changes) and
    no exceptional case is involved. So the op runs on the host when
    - the rounding mode is RNE;
    - the guest's accrued flags already hold NX: then the only flag a normal result can
      raise is already set (SoftFloat would OR in NX, a no-op);
    - every operand is zero or normal (no NaN, infinity or subnormal; a divisor is
      non-zero and a square root's operand non-negative), so NV and DZ cannot arise;
    - and the result is normal with magnitude above the smallest normal: not an overflow
      to infinity, not tiny (UF), not a zero whose sign or exactness SoftFloat decides.
    Everything else falls through to the SoftFloat call, which emits the rest and joins.
    Returns (result bits, label of the host block, join label) for the caller's phi.
    """
    opname, _, fmt = name.partition("_")
    flags = op.attrs.get("flags")
    plan = _HOST_OPS.get(opname)
    if plan is None or fmt not in _HOST_TYPES or rm is None or flags is None:
        return None
    if not gen.env.host_fp:
        return None
    how, kinds = plan
    ty, (w, e, m) = _HOST_TYPES[fmt], softfp.FORMATS[fmt]
    it, absmask, min_normal, inf = f"i{w}", (1 << (w - 1)) - 1, 1 << m, ((1 << e) - 1) << m
    conds = [gen.ins(f"icmp eq i8 {rm}, {int(RoundingMode.RNE)}")]
    accrued = gen.ins(f"load i64, ptr {gen.slot(flags)}")
    nx = gen.ins(f"and i64 {accrued}, {int(FPFlag.NX)}")
    conds.append(gen.ins(f"icmp ne i64 {nx}, 0"))
    for a, kind in zip(args, kinds, strict=True):
        mag = gen.ins(f"and {it} {a}, {absmask}")
        off = gen.ins(f"sub {it} {mag}, {min_normal}")
        normal = gen.ins(f"icmp ult {it} {off}, {inf - min_normal}")
        if kind == POSITIVE:
            normal = gen.ins(f"and i1 {normal}, {gen.ins(f'icmp sge {it} {a}, 0')}")
        elif kind == ANY:
            normal = gen.ins(f"or i1 {normal}, {gen.ins(f'icmp eq {it} {mag}, 0')}")
        conds.append(normal)
    ok = conds[0]
    for c in conds[1:]:
        ok = gen.ins(f"and i1 {ok}, {c}")
    host, slow, join = gen.newlabel(), gen.newlabel(), gen.newlabel()
    gen.branch_hot(ok, host, slow)
    gen.label(host)
    fs = [gen.ins(f"bitcast {it} {a} to {ty}") for a in args]
    if how.startswith("@"):
        fn = f"{how}.f{w}"
        gen.decls.add(f"declare {ty} {fn}({', '.join([ty] * len(fs))})")
        r = gen.ins(f"call {ty} {fn}({', '.join(f'{ty} {f}' for f in fs)})")
    else:
        r = gen.ins(f"{how} {ty} {fs[0]}, {fs[1]}")
    bits = gen.ins(f"bitcast {ty} {r} to {it}")
    mag = gen.ins(f"and {it} {bits}, {absmask}")
    off = gen.ins(f"sub {it} {mag}, {min_normal + 1}")
    good = gen.ins(f"icmp ult {it} {off}, {inf - min_normal - 1}")
    gen.emit(f"br i1 {good}, label %{join}, label %{slow}")
    gen.label(slow)
    return bits, host, join


def _arg(gen: Any, value: Any, param: str) -> str:
    """Operand ``value`` as the parameter type (IR widths already match; be safe)."""
    t = param.split()[0]
    have = gen.ty(value)
    v = gen.v(value)
    if have == t:
        return v
    tw, hw = int(t[1:]), int(have[1:])
    return gen.ins(f"{'trunc' if hw > tw else 'zext'} {have} {v} to {t}")
