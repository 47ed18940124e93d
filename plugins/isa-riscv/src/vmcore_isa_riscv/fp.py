"""Lifting shared by the F and D extensions: FS checks, rounding modes, NaN boxing, flags.

Each factory here returns the lifter of one kind of instruction for one format, so
``ext/rv64f.py`` and ``ext/rv64d.py`` are a table plus one line per instruction. The rules
follow the unprivileged spec as Spike implements it:

* ``mstatus.FS`` is part of the mode key, so "FS is Off -> illegal instruction" is decided
  at translation time; so is a reserved static rounding mode (5, 6). A dynamic mode
  (rm = 7) reads ``frm`` and traps at run time if it holds 5, 6 or 7.
* A single is held NaN-boxed (upper 32 bits all ones); reading a single that is not boxed
  gives the canonical NaN, except for the raw moves (``fmv.x.w``, ``fsw``).
* An instruction writing an f register makes FS Dirty; one writing only an x register makes
  it Dirty only when it raised a flag (Spike's ``set_fp_exceptions``).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from vmcore import Helper, Value, softfp
from vmcore_isa_riscv import csr, fp_helpers
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.lifting import sext
from vmcore_isa_riscv.traps import Cause

BOX = 0xFFFFFFFF00000000
DIRTY = csr.FS_DIRTY | csr.MSTATUS_SD


@attrs.define(frozen=True)
class Fmt:
    """An FP format as the lifters see it: the softfp name and its width."""

    name: str
    width: int

    @property
    def sign(self) -> int:
        return 1 << (self.width - 1)


S = Fmt("f32", 32)
D = Fmt("f64", 64)


# -- checks, rounding, flags ----------------------------------------------------------------


def enabled(c) -> bool:
    """False (after emitting the trap) when FS is Off."""
    if c.cpu.s[R.MSTATUS] & csr.MSTATUS_FS:
        return True
    c.illegal()
    return False


def rounding(c, rm: int) -> Value | None:
    """The rounding mode operand, or None (after emitting the trap) for FS Off or reserved rm."""
    if not enabled(c):
        return None
    if rm in (5, 6):
        c.illegal()
        return None
    if rm != 7:
        return c.b.const(rm, 8)
    frm = c.b.get(R.FRM)
    c.b.trap_if(c.b.uge(frm, 5), Cause.ILLEGAL_INSN, c.bits)
    return c.b.trunc(frm, 8)


def dirty(c) -> None:
    b = c.b
    b.set(R.MSTATUS, b.or_(b.get(R.MSTATUS), DIRTY))


def to_x(c, rd: int, emit: Callable[[int], Value]) -> None:
    """Write ``emit(flags_slot)`` (a 64-bit value) to x[rd]; FS turns Dirty only if flags rose."""
    b = c.b
    old = b.get(R.FFLAGS)
    b.set(R.FFLAGS, 0)
    value = emit(R.FFLAGS)
    raised = b.get(R.FFLAGS)
    b.set(R.FFLAGS, b.or_(old, raised))
    status = b.get(R.MSTATUS)
    b.set(R.MSTATUS, b.select(b.ne(raised, 0), b.or_(status, DIRTY), status))
    c.set_x(rd, value)


# -- f registers -------------------------------------------------------------------------------


def raw(c, r: int) -> Value:
    return c.b.get(R.F0 + r)


def read(c, fmt: Fmt, r: int) -> Value:
    """f[r] as ``fmt``: a single that is not NaN-boxed reads as the canonical NaN."""
    b = c.b
    v = raw(c, r)
    if fmt is D:
        return v
    return b.select(b.uge(v, BOX), b.trunc(v, 32), softfp.CANONICAL_NAN["f32"])


def write(c, fmt: Fmt, rd: int, value: Value) -> None:
    b = c.b
    if fmt is S:
        value = b.or_(b.zext(value, 64), BOX)
    b.set(R.F0 + rd, value)
    dirty(c)


# -- instruction factories -----------------------------------------------------------------


def load(fmt: Fmt):
    """``fl{w,d} rd, imm(rs1)``; ``imm`` is the 12-bit field (c.fld passes its offset)."""

    def lift(c, rd, rs1, imm):
        if enabled(c):
            write(c, fmt, rd, c.b.load(fmt.width, c.addr(rs1, sext(imm, 12))))

    return lift


def store(fmt: Fmt):
    """``fs{w,d} rs2, imm(rs1)`` storing the raw low bits; offset = imm7 << 5 | imm5."""

    def lift(c, rs1, rs2, imm7, imm5):
        if enabled(c):
            offset = sext((imm7 << 5) | imm5, 12)
            c.b.store(c.addr(rs1, offset), c.b.trunc(raw(c, rs2), fmt.width))

    return lift


def arith(op: str, fmt: Fmt):
    def lift(c, rd, rs1, rs2, rm):
        mode = rounding(c, rm)
        if mode is not None:
            a, b = read(c, fmt, rs1), read(c, fmt, rs2)
            write(c, fmt, rd, getattr(c.b, op)(fmt.name, a, b, mode, flags=R.FFLAGS))

    return lift


def sqrt(fmt: Fmt):
    def lift(c, rd, rs1, rm):
        mode = rounding(c, rm)
        if mode is not None:
            write(c, fmt, rd, c.b.fsqrt(fmt.name, read(c, fmt, rs1), mode, flags=R.FFLAGS))

    return lift


def fused(fmt: Fmt, negate_product: bool, negate_addend: bool):
    """a * b + c with Spike's sign flips: fmsub (-c), fnmsub (-a), fnmadd (-a, -c)."""

    def lift(c, rd, rs1, rs2, rs3, rm):
        mode = rounding(c, rm)
        if mode is None:
            return
        b = c.b
        x, y, z = read(c, fmt, rs1), read(c, fmt, rs2), read(c, fmt, rs3)
        if negate_product:
            x = b.xor(x, fmt.sign)
        if negate_addend:
            z = b.xor(z, fmt.sign)
        write(c, fmt, rd, b.fma(fmt.name, x, y, z, mode, flags=R.FFLAGS))

    return lift


def sign_inject(fmt: Fmt, kind: str):
    """fsgnj (kind "j"), fsgnjn ("n"), fsgnjx ("x")."""

    def lift(c, rd, rs1, rs2):
        if not enabled(c):
            return
        b = c.b
        x, y = read(c, fmt, rs1), read(c, fmt, rs2)
        source = {"j": y, "n": b.not_(y), "x": b.xor(x, y)}[kind]
        sign = b.and_(source, fmt.sign)
        write(c, fmt, rd, b.or_(b.and_(x, fmt.sign - 1), sign))

    return lift


def _bits_of(fn: Callable[[int, int], tuple[int, int]]) -> Helper:
    def bits(a: int, b: int) -> int:
        return fn(a, b)[0]

    bits.__name__ = bits.__qualname__ = fn.__name__
    return Helper(bits, width=64, name=fn.__name__)


MINMAX = {
    (op, f.name): _bits_of(getattr(fp_helpers, f"{op}_{f.name}"))
    for op in ("fmin", "fmax")
    for f in (S, D)
}
FCLASS = {
    f.name: Helper(getattr(fp_helpers, f"fclass_{f.name}"), width=64, name=f"fclass_{f.name}")
    for f in (S, D)
}


def minmax(op: str, fmt: Fmt):
    """fmin/fmax (2019 minimumNumber/maximumNumber); NV iff an operand is a signalling NaN,
    which is exactly what a quiet comparison raises."""
    helper = MINMAX[op, fmt.name]

    def lift(c, rd, rs1, rs2):
        if not enabled(c):
            return
        b = c.b
        x, y = read(c, fmt, rs1), read(c, fmt, rs2)
        b.feq(fmt.name, x, y, flags=R.FFLAGS)
        write(c, fmt, rd, b.trunc(b.call(helper, b.zext(x, 64), b.zext(y, 64)), fmt.width))

    return lift


def compare(op: str, fmt: Fmt):
    def lift(c, rd, rs1, rs2):
        if not enabled(c):
            return
        b = c.b
        x, y = read(c, fmt, rs1), read(c, fmt, rs2)
        to_x(c, rd, lambda flags: b.zext(getattr(b, op)(fmt.name, x, y, flags=flags), 64))

    return lift


def classify(fmt: Fmt):
    helper = FCLASS[fmt.name]

    def lift(c, rd, rs1):
        if enabled(c):
            c.set_x(rd, c.b.call(helper, c.b.zext(read(c, fmt, rs1), 64)))

    return lift


def to_int(fmt: Fmt, width: int, signed: bool):
    """fcvt.{w,wu,l,lu}.fmt: saturating; 32-bit results are sign-extended, even wu."""

    def lift(c, rd, rs1, rm):
        mode = rounding(c, rm)
        if mode is None:
            return
        b = c.b
        x = read(c, fmt, rs1)
        to_x(c, rd, lambda flags: b.sext(b.fcvt_fi(fmt.name, x, width, signed, mode, flags), 64))

    return lift


def from_int(fmt: Fmt, width: int, signed: bool):
    """fcvt.fmt.{w,wu,l,lu}: from the low ``width`` bits of x[rs1]."""

    def lift(c, rd, rs1, rm):
        mode = rounding(c, rm)
        if mode is not None:
            x = c.x32(rs1) if width == 32 else c.x(rs1)
            write(c, fmt, rd, c.b.fcvt_if(fmt.name, x, signed, mode, flags=R.FFLAGS))

    return lift


def convert(src: Fmt, dst: Fmt):
    def lift(c, rd, rs1, rm):
        mode = rounding(c, rm)
        if mode is not None:
            x = read(c, src, rs1)
            write(c, dst, rd, c.b.fcvt_ff(src.name, dst.name, x, mode, flags=R.FFLAGS))

    return lift


def move_to_x(fmt: Fmt):
    """fmv.x.w (raw low word, sign-extended) and fmv.x.d."""

    def lift(c, rd, rs1):
        if enabled(c):
            c.set_x(rd, c.b.sext(c.b.trunc(raw(c, rs1), fmt.width), 64))

    return lift


def move_from_x(fmt: Fmt):
    """fmv.w.x (NaN-boxes the low word) and fmv.d.x."""

    def lift(c, rd, rs1):
        if enabled(c):
            write(c, fmt, rd, c.b.trunc(c.x(rs1), fmt.width))

    return lift
