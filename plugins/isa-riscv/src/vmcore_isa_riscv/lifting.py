"""The context every RISC-V lifter receives: the builder plus the hart's conventions.

Lifters are short functions ``lift_<insn>(c, **fields)``; ``c`` hides x0, the pc and the
trap conventions so each lifter reads like the spec's pseudo-code.
"""

from __future__ import annotations

from vmcore import Builder, Cpu, Value
from vmcore_isa_riscv.traps import Cause


def sext(value: int, bits: int) -> int:
    """Sign-extend a ``bits``-wide immediate to a Python int."""
    sign = 1 << (bits - 1)
    return (value & ((1 << bits) - 1) ^ sign) - sign


class Lift:
    """Per-instruction lifting context."""

    __slots__ = ("b", "cpu", "pc", "length", "bits", "word")

    def __init__(
        self, b: Builder, cpu: Cpu, pc: int, length: int, bits: int, word: int | None = None
    ) -> None:
        self.b = b
        self.cpu = cpu
        self.pc = pc
        self.length = length
        #: the instruction as fetched (what an illegal-instruction trap reports)
        self.bits = bits
        #: the 32-bit encoding immediates are read from: ``bits``, or for a compressed
        #: instruction the base instruction it expands to
        self.word = bits if word is None else word

    @property
    def next_pc(self) -> int:
        return (self.pc + self.length) & ((1 << 64) - 1)

    # -- integer registers --------------------------------------------------------------

    def x(self, i: int) -> Value:
        return self.b.const(0) if i == 0 else self.b.get(i)

    def set_x(self, i: int, value: Value | int) -> None:
        if i != 0:
            self.b.set(i, value)

    def x32(self, i: int) -> Value:
        """Low word of x[i]."""
        return self.b.trunc(self.x(i), 32)

    def set_x32(self, i: int, value: Value) -> None:
        """Write a 32-bit result sign-extended (the ``*w`` instructions)."""
        self.set_x(i, self.b.sext(value, 64))

    # -- immediates from the instruction bits (B, J, S types scatter them) -----------------

    @property
    def imm_i(self) -> int:
        return sext(self.word >> 20, 12)

    @property
    def imm_s(self) -> int:
        return sext(((self.word >> 25) << 5) | ((self.word >> 7) & 0x1F), 12)

    @property
    def imm_b(self) -> int:
        v = self.word
        imm = ((v >> 31) << 12) | (((v >> 7) & 1) << 11) | (((v >> 25) & 0x3F) << 5)
        return sext(imm | (((v >> 8) & 0xF) << 1), 13)

    @property
    def imm_u(self) -> int:
        return sext(self.word & 0xFFFFF000, 32)

    @property
    def imm_j(self) -> int:
        v = self.word
        imm = ((v >> 31) << 20) | (((v >> 12) & 0xFF) << 12) | (((v >> 20) & 1) << 11)
        return sext(imm | (((v >> 21) & 0x3FF) << 1), 21)

    # -- control flow and traps --------------------------------------------------------------

    def addr(self, rs1: int, offset: int) -> Value:
        if offset == 0:
            return self.x(rs1)
        return self.b.add(self.x(rs1), offset & ((1 << 64) - 1))

    def jump(self, target: int | Value) -> None:
        self.b.goto(target if isinstance(target, Value) else target & ((1 << 64) - 1))

    def illegal(self) -> None:
        self.b.trap(Cause.ILLEGAL_INSN, self.bits)
