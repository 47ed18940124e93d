"""The lifter IR: the one description of guest semantics that every engine executes.

An ISA plugin lifts each guest instruction into a short list of typed operations through a
:class:`Builder`; an engine turns a finished :class:`Block` into something it can run
(Python source for ``interp``, LLVM IR for ``jit``). Engines never see the ISA and ISAs never
see an engine, so each new ISA runs on every engine and each new engine runs every ISA.

Values
    Every operation producing a value returns a :class:`Value`: an SSA temporary with a bit
    width (1, 8, 16, 32, 64 or 128). Values are always held *unsigned*, zero-extended to
    their width; signedness lives in the operations (``slt``, ``ashr``, ``sext``, ``sdiv``).

State
    Guest state is a flat array of 64-bit *slots* that the ISA's :class:`RegisterFile`
    names. ``get``/``set`` read and write a slot. Wider registers (128-bit SIMD, vector
    registers) span several consecutive slots; ``get``/``set`` with ``width=128`` access two.

Blocks
    A block is a run of guest instructions, each introduced by ``insn`` (its pc, length and
    bits), ending in exactly one exit: ``goto`` (direct), ``goto_ind`` (computed) or
    ``branch`` (two-way). Traps can happen in the middle (``trap``, ``trap_if``, a faulting
    ``load``/``store``, a helper raising :class:`GuestTrap`); engines keep them precise:
    every instruction before the faulting one has retired, none after it.

Every op's exact semantics, including edge cases, is in :data:`OPS`; the tests in
``tests/test_ir_ops.py`` check each against an independent reference on every engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any

import attrs

WIDTHS = (1, 8, 16, 32, 64, 128)

#: check every finished block with :func:`verify` (tests turn it on; it costs about half
#: of the interp engine's compile time, so it is off by default)
VERIFY = os.environ.get("VMCORE_VERIFY_IR", "") not in ("", "0")


def mask(width: int) -> int:
    """All-ones of ``width`` bits."""
    return (1 << width) - 1


def to_signed(value: int, width: int) -> int:
    """Reinterpret an unsigned ``width``-bit integer as two's complement."""
    sign = 1 << (width - 1)
    return (value ^ sign) - sign


class GuestTrap(Exception):  # noqa: N818 - it is a guest event, not a host error
    """A synchronous guest exception, raised by IR ``trap`` ops, helpers, MMUs and devices.

    ``cause`` and ``tval`` mean whatever the ISA says (RISC-V: mcause and mtval). Engines
    catch it, make the state precise (pc of the faulting instruction) and hand it to the
    ISA's ``enter_trap``; no GuestTrap ever escapes a machine run.
    """

    def __init__(self, cause: int, tval: int = 0, info: Any = None) -> None:
        super().__init__(cause, tval)
        self.cause = cause
        self.tval = tval
        self.info = info


class Access(IntEnum):
    """Kind of memory access, for MMUs, bus errors and fault causes."""

    FETCH = 0
    LOAD = 1
    STORE = 2


class RoundingMode(IntEnum):
    """IEEE 754 rounding modes, numbered as RISC-V ``frm`` and Berkeley SoftFloat do."""

    RNE = 0  #: to nearest, ties to even
    RTZ = 1  #: toward zero
    RDN = 2  #: toward -infinity
    RUP = 3  #: toward +infinity
    RMM = 4  #: to nearest, ties away from zero


class FPFlag(IntEnum):
    """IEEE 754 exception flags as accrued by FP ops (same bits as RISC-V ``fflags``)."""

    NX = 1  #: inexact
    UF = 2  #: underflow
    OF = 4  #: overflow
    DZ = 8  #: divide by zero
    NV = 16  #: invalid


#: Floating-point formats and their widths.
FP_FORMATS = {"f16": 16, "f32": 32, "f64": 64, "f128": 128}


@attrs.define(frozen=True, slots=True)
class Value:
    """An SSA temporary: ``id`` is unique within its block, ``width`` in bits."""

    id: int
    width: int


@attrs.define(slots=True)
class Op:
    """One IR operation: ``name`` from :data:`OPS`, result ``dst`` (or None), operands.

    ``args`` holds :class:`Value` operands and ints (constants, slots, widths) as the op's
    signature in :data:`OPS` says; ``attrs`` holds named attributes (rounding mode, flags
    slot, helper function ...).
    """

    name: str
    dst: Value | None
    args: tuple
    attrs: dict = attrs.field(factory=dict)


def load_access(op: Op) -> Access:
    """The access a ``load`` op makes: STORE for the read of an atomic (attr ``rmw``:
    translated for writing, faulting as a store does), else LOAD."""
    return Access.STORE if op.attrs.get("rmw") else Access.LOAD


@attrs.define(slots=True)
class Insn:
    """Marks the start of a guest instruction inside a block."""

    pc: int
    length: int
    bits: int
    index: int  #: position in the block's op list


@attrs.define(frozen=True, slots=True)
class Helper:
    """A host function the IR may call, with what an engine must know about it.

    ``fn`` is called as ``fn(cpu, *args)`` when ``state`` is true (it may read and write any
    guest state through ``cpu`` and raise :class:`GuestTrap`), otherwise as ``fn(*args)``
    with integer arguments only (a *pure* helper: no state, no traps, deterministic).
    A helper returning a value gives an int of ``width`` bits (0 means no result).
    ``ends_block``: the translation must stop after this instruction because the helper
    may change what later instructions mean (privilege mode, paging, the translation
    cache); the run loop re-reads the ISA's mode after such a block.
    """

    fn: Callable[..., Any]
    width: int = 0
    state: bool = False
    ends_block: bool = False
    name: str = ""


@attrs.define(frozen=True, slots=True)
class OpSpec:
    """Signature and meaning of one op (used by the verifier and the docs)."""

    operands: str  #: one letter per positional arg: v = Value, i = int, * = values...
    result: str  #: "same" (width of first Value), "1", "attr:width", "none", ...
    doc: str


OPS: dict[str, OpSpec] = {
    "const": OpSpec("i", "attr:width", "An integer constant, reduced modulo 2**width."),
    "get": OpSpec("i", "attr:width", "Read state slot(s) starting at the given slot."),
    "set": OpSpec("iv", "none", "Write state slot(s) starting at the given slot."),
    "add": OpSpec("vv", "same", "a + b modulo 2**w."),
    "sub": OpSpec("vv", "same", "a - b modulo 2**w."),
    "mul": OpSpec("vv", "same", "Low w bits of a * b."),
    "mulhu": OpSpec("vv", "same", "High w bits of the 2w-bit product, both unsigned."),
    "mulhs": OpSpec("vv", "same", "High w bits of the 2w-bit product, both signed."),
    "mulhsu": OpSpec("vv", "same", "High w bits of the product, a signed, b unsigned."),
    "udiv": OpSpec("vv", "same", "Unsigned a / b rounded toward zero; b == 0 gives all ones."),
    "sdiv": OpSpec("vv", "same", "Signed a / b toward zero; b == 0 gives -1; MIN / -1 gives MIN."),
    "urem": OpSpec("vv", "same", "Unsigned a % b; b == 0 gives a."),
    "srem": OpSpec("vv", "same", "Signed remainder, sign of a; b == 0 gives a; MIN % -1 gives 0."),
    "and": OpSpec("vv", "same", "Bitwise and."),
    "or": OpSpec("vv", "same", "Bitwise or."),
    "xor": OpSpec("vv", "same", "Bitwise exclusive or."),
    "not": OpSpec("v", "same", "Bitwise complement."),
    "neg": OpSpec("v", "same", "Two's complement negation modulo 2**w."),
    "shl": OpSpec("vv", "same", "a << b; any amount b >= w gives 0 (b is unsigned)."),
    "lshr": OpSpec("vv", "same", "Logical a >> b; b >= w gives 0."),
    "ashr": OpSpec("vv", "same", "Arithmetic a >> b; b >= w gives all sign bits."),
    "rotl": OpSpec("vv", "same", "Rotate left by b modulo w."),
    "rotr": OpSpec("vv", "same", "Rotate right by b modulo w."),
    "clz": OpSpec("v", "same", "Count of leading zero bits; w for zero."),
    "ctz": OpSpec("v", "same", "Count of trailing zero bits; w for zero."),
    "popcnt": OpSpec("v", "same", "Count of one bits."),
    "bswap": OpSpec("v", "same", "Reverse byte order (w a multiple of 8)."),
    "eq": OpSpec("vv", "1", "1 if a == b."),
    "ne": OpSpec("vv", "1", "1 if a != b."),
    "ult": OpSpec("vv", "1", "1 if a < b unsigned."),
    "ule": OpSpec("vv", "1", "1 if a <= b unsigned."),
    "slt": OpSpec("vv", "1", "1 if a < b signed."),
    "sle": OpSpec("vv", "1", "1 if a <= b signed."),
    "select": OpSpec("vvv", "arg1", "b if c (1 bit) is 1 else the third operand."),
    "zext": OpSpec("v", "attr:width", "Zero-extend to a wider width."),
    "sext": OpSpec("v", "attr:width", "Sign-extend to a wider width."),
    "trunc": OpSpec("v", "attr:width", "Keep the low bits."),
    "load": OpSpec(
        "v",
        "attr:width",
        "Little-endian load of width bits at the (virtual) address, through the cpu's MMU."
        " attrs: aligned (misaligned address raises the ISA's misaligned trap); rmw (the"
        " read of a read-modify-write, an atomic: translated for writing and faulting as"
        " a store does, misaligned included).",
    ),
    "store": OpSpec(
        "vv",
        "none",
        "Little-endian store of the value's width at the address, through the MMU."
        " attrs: aligned as for load.",
    ),
    "fadd": OpSpec("vvv", "same", "a + b in format fmt with rounding mode rm (3rd operand)."),
    "fsub": OpSpec("vvv", "same", "a - b."),
    "fmul": OpSpec("vvv", "same", "a * b."),
    "fdiv": OpSpec("vvv", "same", "a / b."),
    "fsqrt": OpSpec("vv", "same", "Square root of a."),
    "fma": OpSpec("vvvv", "same", "a * b + c with a single rounding."),
    "feq": OpSpec("vv", "1", "Quiet equality (NV only for signalling NaNs)."),
    "flt": OpSpec("vv", "1", "Signalling less-than (NV for any NaN)."),
    "fle": OpSpec("vv", "1", "Signalling less-or-equal (NV for any NaN)."),
    "fcvt_ff": OpSpec("vv", "attr:width", "Convert format fmt to format to_fmt, rounding rm."),
    "fcvt_fi": OpSpec(
        "vv",
        "attr:width",
        "Float (fmt) to integer of attr width, signed per attr, rounding rm; NaN and"
        " out-of-range saturate as SoftFloat's RISC-V specialisation (NV raised).",
    ),
    "fcvt_if": OpSpec(
        "vv", "attr:width", "Integer (operand width, signed per attr) to float fmt, rounding rm."
    ),
    "call": OpSpec("*", "attr:width", "Call a Helper (attr helper) with the operands; see Helper."),
    "trap": OpSpec("vv", "none", "Raise GuestTrap(cause, tval) at this instruction."),
    "trap_if": OpSpec("vvv", "none", "If c, raise GuestTrap(cause, tval) here."),
    "goto": OpSpec("v", "exit", "End the block; continue at the constant pc."),
    "goto_ind": OpSpec("v", "exit", "End the block; continue at a computed pc."),
    "branch": OpSpec("vvv", "exit", "End the block; if c go to the first pc else the second."),
}

#: FP ops: all take attrs ``fmt`` and ``flags`` (slot accruing FPFlag bits, or None);
#: rounding mode operand is a Value holding a RoundingMode (a reserved value is the
#: lifter's business: check it first with trap_if).
FP_OPS = frozenset(
    {"fadd", "fsub", "fmul", "fdiv", "fsqrt", "fma", "feq", "flt", "fle"}
    | {"fcvt_ff", "fcvt_fi", "fcvt_if"}
)
EXITS = frozenset({"goto", "goto_ind", "branch"})


@attrs.define(slots=True)
class Block:
    """A lifted translation unit.

    ``pc`` is its first guest pc, ``insns`` the instruction markers in order, ``ops`` the
    operations, ``sync`` true when it must hand control back to the run loop after it (it
    called a helper with ``ends_block`` or changes mode), ``mode`` the ISA mode key it was
    lifted under.
    """

    pc: int
    mode: int
    ops: list[Op] = attrs.field(factory=list)
    insns: list[Insn] = attrs.field(factory=list)
    sync: bool = False
    nvalues: int = 0
    #: whether it calls a helper that reads or writes the state (None: not known, look)
    state_calls: bool | None = None

    @property
    def exit(self) -> Op | None:
        return self.ops[-1] if self.ops and self.ops[-1].name in EXITS else None

    @property
    def end(self) -> int:
        """The pc after the block's last instruction (where a call's return lands)."""
        last = self.insns[-1]
        return last.pc + last.length

    def constants(self) -> dict[int, int]:
        """Value number -> the constant a ``const`` op gives it."""
        return {op.dst.id: op.args[0] for op in self.ops if op.name == "const"}

    def direct_targets(self) -> list[int]:
        """The constant targets of the block's exit (taken, then not taken, for a branch);
        none for an indirect jump or a block without an exit."""
        exit_ = self.exit
        if exit_ is None or exit_.name == "goto_ind":
            return []
        targets = exit_.args[1:] if exit_.name == "branch" else exit_.args
        want = {a.id for a in targets if isinstance(a, Value)}
        found: dict[int, int] = {}
        for op in reversed(self.ops):  # a builder emits the targets just before the exit
            if op.name == "const" and op.dst.id in want:
                found[op.dst.id] = op.args[0]
                if len(found) == len(want):
                    break
        return [found[a.id] for a in targets if isinstance(a, Value) and a.id in found]

    def __str__(self) -> str:
        return format_block(self)


class IRError(Exception):
    """A malformed IR block: what is wrong and where."""


_MASKS = {w: mask(w) for w in WIDTHS}
#: width -> the values of that width numbered 0, 1, ...: values are immutable and compare
#: by (id, width), so every block shares them (fewer objects to build and to collect)
_VALUES: dict[int, list[Value]] = {w: [] for w in WIDTHS}


def _intern_values(width: int, n: int) -> Value:
    """Value ``n`` of ``width``, growing the shared list (a new list, swapped in whole, so
    that ``_VALUES[w][i]`` is ``Value(i, w)`` even while another thread grows it)."""
    values = _VALUES[width]
    if n >= len(values):
        values = values + [Value(i, width) for i in range(len(values), 2 * n + 64)]
        _VALUES[width] = values
    return values[n]


class Builder:
    """Emits IR for one block. ISA lifters receive one and call its methods.

    Methods named after ops append that op and return its result :class:`Value` (or None).
    Integer arguments where a Value is expected are turned into constants of the other
    operand's width, so ``b.add(b.get(5), 4)`` works.
    """

    def __init__(self, pc: int, mode: int = 0) -> None:
        self.block = Block(pc=pc, mode=mode, state_calls=False)
        self._ops = self.block.ops
        self._next = 0
        self.ended = False
        #: an ``ends_block`` helper was called: the block ends after this instruction
        self.end_requested = False
        #: the ISA's own memo for this block, e.g. where the page its instructions come
        #: from lives (a block's instructions share one translation context)
        self.fetch_hint: Any = None

    # -- plumbing -------------------------------------------------------------------------

    def _value(self, width: int) -> Value:
        n = self._next
        self._next = n + 1
        try:
            return _VALUES[width][n]
        except IndexError:
            return _intern_values(width, n)
        except KeyError:
            raise IRError(f"unsupported width {width}") from None

    def _emit(self, name: str, width: int | None, args: tuple, **attrs_: Any) -> Value | None:
        if self.ended:
            raise IRError(f"op {name} after the block's exit")
        dst = self._value(width) if width else None
        self._ops.append(Op(name, dst, args, attrs_))
        return dst

    def _v(self, x: Value | int, width: int) -> Value:
        if isinstance(x, Value):
            return x
        return self.const(x, width)

    def _pair(self, a: Value | int, b: Value | int) -> tuple[Value, Value]:
        if isinstance(a, Value):
            b = self._v(b, a.width)
        elif isinstance(b, Value):
            a = self._v(a, b.width)
        else:
            a, b = self.const(a, 64), self.const(b, 64)
        if a.width != b.width:
            raise IRError(f"width mismatch: {a.width} vs {b.width}")
        return a, b

    # -- instructions and state -------------------------------------------------------------

    def insn(self, pc: int, length: int, bits: int) -> None:
        """Start a guest instruction (engines count and make traps precise by these)."""
        self.block.insns.append(Insn(pc, length, bits, len(self.block.ops)))

    def const(self, value: int, width: int = 64) -> Value:
        if self.ended:
            raise IRError("op const after the block's exit")
        dst = self._value(width)
        self._ops.append(Op("const", dst, (value & _MASKS[width],), {}))
        return dst

    def get(self, slot: int, width: int = 64) -> Value:
        if self.ended:
            raise IRError("op get after the block's exit")
        dst = self._value(width)
        self._ops.append(Op("get", dst, (slot,), {}))
        return dst

    def set(self, slot: int, value: Value | int, width: int = 64) -> None:
        v = value if isinstance(value, Value) else self.const(value, width)
        if self.ended:
            raise IRError("op set after the block's exit")
        self._ops.append(Op("set", None, (slot, v), {}))

    # -- integer arithmetic -------------------------------------------------------------

    def _bin(self, name: str, a: Value | int, b: Value | int) -> Value:
        if not isinstance(a, Value) or not isinstance(b, Value) or a.width != b.width:
            a, b = self._pair(a, b)
        if self.ended:
            raise IRError(f"op {name} after the block's exit")
        dst = self._value(a.width)
        self._ops.append(Op(name, dst, (a, b), {}))
        return dst

    def add(self, a, b):
        return self._bin("add", a, b)

    def sub(self, a, b):
        return self._bin("sub", a, b)

    def mul(self, a, b):
        return self._bin("mul", a, b)

    def mulhu(self, a, b):
        return self._bin("mulhu", a, b)

    def mulhs(self, a, b):
        return self._bin("mulhs", a, b)

    def mulhsu(self, a, b):
        return self._bin("mulhsu", a, b)

    def udiv(self, a, b):
        return self._bin("udiv", a, b)

    def sdiv(self, a, b):
        return self._bin("sdiv", a, b)

    def urem(self, a, b):
        return self._bin("urem", a, b)

    def srem(self, a, b):
        return self._bin("srem", a, b)

    def and_(self, a, b):
        return self._bin("and", a, b)

    def or_(self, a, b):
        return self._bin("or", a, b)

    def xor(self, a, b):
        return self._bin("xor", a, b)

    def shl(self, a, b):
        return self._bin("shl", a, b)

    def lshr(self, a, b):
        return self._bin("lshr", a, b)

    def ashr(self, a, b):
        return self._bin("ashr", a, b)

    def rotl(self, a, b):
        return self._bin("rotl", a, b)

    def rotr(self, a, b):
        return self._bin("rotr", a, b)

    def not_(self, a: Value) -> Value:
        return self._emit("not", a.width, (a,))

    def neg(self, a: Value) -> Value:
        return self._emit("neg", a.width, (a,))

    def clz(self, a: Value) -> Value:
        return self._emit("clz", a.width, (a,))

    def ctz(self, a: Value) -> Value:
        return self._emit("ctz", a.width, (a,))

    def popcnt(self, a: Value) -> Value:
        return self._emit("popcnt", a.width, (a,))

    def bswap(self, a: Value) -> Value:
        return self._emit("bswap", a.width, (a,))

    # -- comparisons and selection -------------------------------------------------------

    def _cmp(self, name: str, a, b) -> Value:
        a, b = self._pair(a, b)
        return self._emit(name, 1, (a, b))

    def eq(self, a, b):
        return self._cmp("eq", a, b)

    def ne(self, a, b):
        return self._cmp("ne", a, b)

    def ult(self, a, b):
        return self._cmp("ult", a, b)

    def ule(self, a, b):
        return self._cmp("ule", a, b)

    def slt(self, a, b):
        return self._cmp("slt", a, b)

    def sle(self, a, b):
        return self._cmp("sle", a, b)

    def ugt(self, a, b):
        return self.ult(*self._swap(a, b))

    def uge(self, a, b):
        return self.ule(*self._swap(a, b))

    def sgt(self, a, b):
        return self.slt(*self._swap(a, b))

    def sge(self, a, b):
        return self.sle(*self._swap(a, b))

    def _swap(self, a, b):
        a, b = self._pair(a, b)
        return b, a

    def select(self, cond: Value, a: Value | int, b: Value | int) -> Value:
        a, b = self._pair(a, b)
        if cond.width != 1:
            raise IRError("select condition must be 1 bit wide")
        return self._emit("select", a.width, (cond, a, b))

    # -- width changes ---------------------------------------------------------------------

    def zext(self, a: Value, width: int) -> Value:
        if width == a.width:
            return a
        return self._emit("zext", width, (a,))

    def sext(self, a: Value, width: int) -> Value:
        if width == a.width:
            return a
        return self._emit("sext", width, (a,))

    def trunc(self, a: Value, width: int) -> Value:
        if width == a.width:
            return a
        return self._emit("trunc", width, (a,))

    # -- memory ------------------------------------------------------------------------------

    def load(self, width: int, addr: Value, aligned: bool = False, rmw: bool = False) -> Value:
        """Load ``width`` bits (8..128) from virtual ``addr`` (64-bit). ``rmw``: the read of
        an atomic read-modify-write, which needs write access and faults as a store."""
        if rmw:
            return self._emit("load", width, (addr,), aligned=aligned, rmw=True)
        return self._emit("load", width, (addr,), aligned=aligned)

    def store(self, addr: Value, value: Value, aligned: bool = False) -> None:
        self._emit("store", None, (addr, value), aligned=aligned)

    # -- floating point ------------------------------------------------------------------------

    def _fp(self, name: str, fmt: str, operands: Sequence, rm, flags: int | None, width=None):
        fw = FP_FORMATS[fmt]
        vals = tuple(self._v(x, fw) for x in operands)
        rmv = self._v(rm, 8) if rm is not None else None
        args = vals + ((rmv,) if rmv is not None else ())
        return self._emit(name, width or fw, args, fmt=fmt, flags=flags)

    def fadd(self, fmt, a, b, rm, flags=None):
        return self._fp("fadd", fmt, (a, b), rm, flags)

    def fsub(self, fmt, a, b, rm, flags=None):
        return self._fp("fsub", fmt, (a, b), rm, flags)

    def fmul(self, fmt, a, b, rm, flags=None):
        return self._fp("fmul", fmt, (a, b), rm, flags)

    def fdiv(self, fmt, a, b, rm, flags=None):
        return self._fp("fdiv", fmt, (a, b), rm, flags)

    def fsqrt(self, fmt, a, rm, flags=None):
        return self._fp("fsqrt", fmt, (a,), rm, flags)

    def fma(self, fmt, a, b, c, rm, flags=None):
        return self._fp("fma", fmt, (a, b, c), rm, flags)

    def feq(self, fmt, a, b, flags=None):
        return self._fp("feq", fmt, (a, b), None, flags, width=1)

    def flt(self, fmt, a, b, flags=None):
        return self._fp("flt", fmt, (a, b), None, flags, width=1)

    def fle(self, fmt, a, b, flags=None):
        return self._fp("fle", fmt, (a, b), None, flags, width=1)

    def fcvt_ff(self, fmt: str, to_fmt: str, a: Value, rm, flags=None) -> Value:
        rmv = self._v(rm, 8)
        return self._emit(
            "fcvt_ff", FP_FORMATS[to_fmt], (a, rmv), fmt=fmt, to_fmt=to_fmt, flags=flags
        )

    def fcvt_fi(self, fmt: str, a: Value, width: int, signed: bool, rm, flags=None) -> Value:
        rmv = self._v(rm, 8)
        return self._emit("fcvt_fi", width, (a, rmv), fmt=fmt, signed=signed, flags=flags)

    def fcvt_if(self, fmt: str, a: Value, signed: bool, rm, flags=None) -> Value:
        rmv = self._v(rm, 8)
        return self._emit("fcvt_if", FP_FORMATS[fmt], (a, rmv), fmt=fmt, signed=signed, flags=flags)

    # -- helpers and traps -----------------------------------------------------------------

    def call(self, helper: Helper, *args: Value | int) -> Value | None:
        vals = tuple(self._v(a, 64) for a in args)
        if helper.ends_block:
            self.block.sync = True
            self.end_requested = True
        if helper.state:
            self.block.state_calls = True
        return self._emit("call", helper.width or None, vals, helper=helper)

    def trap(self, cause: int, tval: Value | int = 0) -> None:
        """Raise a guest exception here. The block ends: nothing after it executes."""
        self._emit("trap", None, (self._v(cause, 64), self._v(tval, 64)))
        self.block.sync = True
        here = self.block.insns[-1].pc if self.block.insns else self.block.pc
        self._emit("goto", None, (self.const(here),))
        self.ended = True

    def trap_if(self, cond: Value, cause: int, tval: Value | int = 0) -> None:
        self._emit("trap_if", None, (cond, self._v(cause, 64), self._v(tval, 64)))

    # -- exits -------------------------------------------------------------------------------

    def goto(self, pc: int | Value) -> None:
        if isinstance(pc, Value):
            self._emit("goto_ind", None, (pc,))
        else:
            self._emit("goto", None, (self.const(pc, 64),))
        self.ended = True

    def branch(self, cond: Value, taken: int, not_taken: int) -> None:
        self._emit("branch", None, (cond, self.const(taken, 64), self.const(not_taken, 64)))
        self.ended = True

    def finish(self) -> Block:
        self.block.nvalues = self._next
        if VERIFY:
            verify(self.block)
        return self.block


_INT_COMPARES = frozenset({"eq", "ne", "ult", "ule", "slt", "sle"})
_FP_INT_WIDTHS = (32, 64)


def _check_signature(i: int, op: Op, spec: OpSpec) -> None:
    """Operand kinds and count as ``spec.operands`` says; a result exactly when it has one."""
    if spec.operands == "*":
        bad = [a for a in op.args if not isinstance(a, Value)]
        if bad:
            raise IRError(f"op {i} ({op.name}): operands must be values, got {bad[0]!r}")
    else:
        if len(op.args) != len(spec.operands):
            raise IRError(
                f"op {i} ({op.name}): {len(op.args)} operands, expected {len(spec.operands)}"
            )
        for n, (kind, a) in enumerate(zip(spec.operands, op.args, strict=True)):
            ok = isinstance(a, Value) if kind == "v" else isinstance(a, int)
            if not ok:
                want = "a value" if kind == "v" else "an int"
                raise IRError(f"op {i} ({op.name}): operand {n} must be {want}, got {a!r}")
    wants_result = spec.result not in ("none", "exit")
    if op.name == "call":
        helper = op.attrs.get("helper")
        if not isinstance(helper, Helper):
            raise IRError(f"op {i}: call without a Helper")
        wants_result = helper.width > 0
    if wants_result and not isinstance(op.dst, Value):
        raise IRError(f"op {i} ({op.name}): missing result value")
    if not wants_result and op.dst is not None:
        raise IRError(f"op {i} ({op.name}): has a result but produces none")


def _check_fp(i: int, op: Op, vals: list[Value]) -> None:
    fmt = op.attrs.get("fmt")
    if fmt not in FP_FORMATS:
        raise IRError(f"op {i} ({op.name}): unknown format {fmt!r}")
    fw = FP_FORMATS[fmt]
    if op.name == "fcvt_if":
        if vals[0].width not in _FP_INT_WIDTHS:
            raise IRError(f"op {i} ({op.name}): integer operand must be 32 or 64 bits")
        if op.dst.width != fw:
            raise IRError(f"op {i} ({op.name}): result width must be {fw} for {fmt}")
        return
    if vals[0].width != fw:
        raise IRError(f"op {i} ({op.name}): operand width {vals[0].width} is not {fmt}")
    if op.name == "fcvt_ff":
        to = op.attrs.get("to_fmt")
        if to not in FP_FORMATS or op.dst.width != FP_FORMATS[to]:
            raise IRError(f"op {i} ({op.name}): bad target format {to!r}")
    elif op.name == "fcvt_fi":
        if op.dst.width not in _FP_INT_WIDTHS:
            raise IRError(f"op {i} ({op.name}): integer result must be 32 or 64 bits")
    else:
        nfp = {"fsqrt": 1, "fma": 3}.get(op.name, 2)
        if any(v.width != fw for v in vals[:nfp]):
            raise IRError(f"op {i} ({op.name}): operand widths differ from {fmt}")
        if op.name in ("feq", "flt", "fle"):
            if op.dst.width != 1:
                raise IRError(f"op {i} ({op.name}): result must be 1 bit")
        elif op.dst.width != fw:
            raise IRError(f"op {i} ({op.name}): result width differs from {fmt}")


def verify(block: Block) -> None:
    """Check a block: known ops, operand kinds and counts, defined operands, matching widths,
    exactly one exit last.

    Raises :class:`IRError` naming the op index and the problem.
    """
    defined: dict[int, int] = {}  # value id -> width
    if not block.ops or block.ops[-1].name not in EXITS:
        raise IRError(f"block at {block.pc:#x} does not end with an exit")
    for i, op in enumerate(block.ops):
        spec = OPS.get(op.name)
        if spec is None:
            raise IRError(f"op {i}: unknown op {op.name!r}")
        if op.name in EXITS and i != len(block.ops) - 1:
            raise IRError(f"op {i}: exit {op.name} before the end of the block")
        _check_signature(i, op, spec)
        vals = [a for a in op.args if isinstance(a, Value)]
        for v in vals:
            if v.id not in defined:
                raise IRError(f"op {i} ({op.name}): operand t{v.id} used before definition")
            if defined[v.id] != v.width:
                raise IRError(
                    f"op {i} ({op.name}): operand t{v.id} used as {v.width} bits,"
                    f" defined as {defined[v.id]}"
                )
        if spec.result == "same" and op.name not in FP_OPS:
            if any(v.width != vals[0].width for v in vals):
                raise IRError(f"op {i} ({op.name}): operand widths differ")
            if op.dst.width != vals[0].width:
                raise IRError(f"op {i} ({op.name}): result width differs from operands")
        if op.name == "const" and not 0 <= op.args[0] <= mask(op.dst.width):
            raise IRError(f"op {i} (const): {op.args[0]:#x} does not fit {op.dst.width} bits")
        if op.name in ("get", "set") and op.args[0] < 0:
            raise IRError(f"op {i} ({op.name}): negative slot {op.args[0]}")
        if op.name in _INT_COMPARES:
            if vals[0].width != vals[1].width:
                raise IRError(f"op {i} ({op.name}): operand widths differ")
            if op.dst.width != 1:
                raise IRError(f"op {i} ({op.name}): result must be 1 bit")
        if op.name == "select":
            if vals[0].width != 1:
                raise IRError(f"op {i}: select condition must be 1 bit")
            if not vals[1].width == vals[2].width == op.dst.width:
                raise IRError(f"op {i} (select): operand and result widths differ")
        if op.name in ("trap_if", "branch") and vals[0].width != 1:
            raise IRError(f"op {i} ({op.name}): condition must be 1 bit")
        if op.name in ("load", "store") and vals[0].width != 64:
            raise IRError(f"op {i} ({op.name}): address must be 64 bits")
        if op.name in ("load", "store"):
            w = op.dst.width if op.name == "load" else vals[1].width
            if w % 8 or not 8 <= w <= 128:
                raise IRError(f"op {i} ({op.name}): cannot access {w} bits")
        if op.name == "bswap" and vals[0].width % 8:
            raise IRError(f"op {i} (bswap): width {vals[0].width} is not whole bytes")
        if op.name in ("zext", "sext") and op.dst.width < vals[0].width:
            raise IRError(f"op {i}: {op.name} to a narrower width")
        if op.name == "trunc" and op.dst.width > vals[0].width:
            raise IRError(f"op {i}: trunc to a wider width")
        if op.name in FP_OPS:
            _check_fp(i, op, vals)
        if op.dst is not None:
            if op.dst.id in defined:
                raise IRError(f"op {i}: t{op.dst.id} defined twice")
            defined[op.dst.id] = op.dst.width


def format_block(block: Block) -> str:
    """Human-readable listing (``--jit-dump``, debugging, test failure messages)."""
    starts = {ins.index: ins for ins in block.insns}
    lines = [f"block {block.pc:#x} mode={block.mode} sync={block.sync}"]
    for i, op in enumerate(block.ops):
        if i in starts:
            ins = starts[i]
            lines.append(f"  ; {ins.pc:#x}: {ins.bits:0{ins.length * 2}x}")
        args = ", ".join(f"t{a.id}:{a.width}" if isinstance(a, Value) else str(a) for a in op.args)
        extra = {k: getattr(v, "name", v) for k, v in op.attrs.items()}
        dst = f"t{op.dst.id}:{op.dst.width} = " if op.dst else ""
        lines.append(f"    {dst}{op.name} {args}" + (f" {extra}" if extra else ""))
    return "\n".join(lines)
