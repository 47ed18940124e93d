"""The IR conformance suite: every op of :data:`vmcore.ir.OPS` and the engine contract.

An engine plugin runs it by subclassing :class:`IRConformance` in one of its test modules
and providing the ``engine_factory`` fixture (``factory(machine) -> Engine``), in the class
or in a ``conftest.py``::

    import pytest
    from vmcore.testing.ir_conformance import IRConformance
    from vmcore_jit_llvm import JitEngine

    class TestJitConformance(IRConformance):
        @pytest.fixture
        def engine_factory(self):
            return JitEngine

The suite runs tiny IR programs on a throwaway ISA (:class:`IrTestIsa`) whose "instruction
words" are keys into a table of Python callbacks, each emitting the IR of one instruction
with :class:`vmcore.ir.Builder`. A test therefore writes IR directly, while the words still
live in guest RAM, so stores over them are self-modifying code. Expected results come from
reference semantics written here from the op documentation, never from an engine's own
helpers; floating point is checked against the host (binary64, round to nearest) and
hand-derived bit patterns.

What is covered: every integer op at widths 8/16/32/64 (and 1 and 128 where the IR allows
them) with edge cases and hypothesis-generated operands, as registers and as constants;
get/set of every width; loads and stores of 1 to 16 bytes, misaligned, across pages, in
the fast RAM, in a second RAM, in ROM, through MMIO and to unmapped addresses, with a flat
and a non-identity MMU; precise traps (ops, trap_if, faulting memory, helpers); pure and
state helpers (up-to-date registers, ``cpu.retired()`` exact mid-block, ``ends_block``);
FP ops with flag accrual and dynamic rounding modes; every exit; self-modifying code;
exact instruction budgets; random multi-instruction blocks against a reference evaluator.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcore.ir import OPS, Access, Builder, GuestTrap, Helper, mask
from vmcore.isa import Isa, Reg, RegisterFile
from vmcore.machine import Machine, StopReason
from vmcore.memory import PAGE_SIZE, BusError
from vmcore.mmu import FlatMmu, Mmu

__all__ = [
    "IRConformance",
    "IRHarness",
    "IrTestIsa",
    "SlowMmu",
]

# -- the test machine --------------------------------------------------------------------------

CODE = 0x8000_0000  #: main RAM (the engines' fast path) and where programs go
RAM_SIZE = 0x20_0000
DATA = CODE + 0x10_0000  #: scratch data area inside main RAM
TRAP_VECTOR = CODE + RAM_SIZE - PAGE_SIZE  #: a halt instruction lives here
RAM2 = 0x4000_0000  #: a second, smaller RAM: reached through the bus, not the fast path
RAM2_SIZE = 0x1_0000
ROM_BASE = 0x5000_0000
ROM_DATA = bytes(range(256)) * 16
MMIO_BASE = 0x1000_0000
MMIO_SIZE = 0x1000
UNMAPPED = 0x2000_0000
FAULT_WINDOW = 0x3000_0000  #: SlowMmu raises a page fault for this page

NGPR = 32
PC, FFLAGS, MODE, CAUSE, TVAL, EPC, NTRAPS, TRAP_RETIRED, W0 = range(NGPR, NGPR + 9)
NSLOTS = W0 + 2

CAUSE_FETCH_FAULT = 1
CAUSE_ILLEGAL = 2
CAUSE_MISALIGNED_LOAD = 4
CAUSE_LOAD_FAULT = 5
CAUSE_MISALIGNED_STORE = 6
CAUSE_STORE_FAULT = 7
CAUSE_PAGE_FAULT = 13
CAUSE_STORE_PAGE_FAULT = 15
CAUSE_TEST = 24
CAUSE_HELPER = 25
CAUSE_IRQ = (1 << 63) | 11

M64 = (1 << 64) - 1


def probe_value(offset: int, size: int) -> int:
    """What the probe device answers: byte ``o`` of its window reads ``7 * o + 3``."""
    return int.from_bytes(bytes((7 * (offset + i) + 3) & 0xFF for i in range(size)), "little")


#: probe registers with side effects: a write asks the machine to stop / raises an interrupt
PROBE_STOP = 0xF00
PROBE_IRQ = 0xF08


class ProbeDevice:
    """An MMIO device that records every access with the exact retired count.

    Writing :data:`PROBE_STOP` calls ``machine.request_stop()``; writing :data:`PROBE_IRQ`
    makes an interrupt pending (taken between blocks, see :meth:`IrTestIsa.pending_interrupt`).
    """

    def __init__(self) -> None:
        self.log: list[tuple] = []
        self.cpu: Any = None

    def mmio_read(self, offset: int, size: int) -> int:
        self.log.append(("r", offset, size, self.cpu.retired()))
        return probe_value(offset, size)

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        self.log.append(("w", offset, size, value, self.cpu.retired()))
        if offset == PROBE_STOP:
            self.cpu.machine.request_stop()
        elif offset == PROBE_IRQ:
            self.cpu.isa.irq_pending = True


class SlowMmu(Mmu):
    """Identity translation that does not say so: every access takes an engine's slow
    (translated) path. The page at :data:`FAULT_WINDOW` raises a page fault (of a store,
    for stores and atomics' reads, translated as stores)."""

    name = "slow"

    def is_identity(self) -> bool:
        return False

    def translate(self, vaddr: int, access: Access) -> int:
        if vaddr >> 12 == FAULT_WINDOW >> 12:
            store = access == Access.STORE
            raise GuestTrap(CAUSE_STORE_PAGE_FAULT if store else CAUSE_PAGE_FAULT, vaddr)
        return vaddr


Emit = Callable[[Builder, int], None]


class IrTestIsa(Isa):
    """A throwaway ISA: a 4-byte instruction word is a key into :attr:`table`, whose
    callback ``fn(b, pc)`` emits that instruction's IR. Unknown words are illegal.

    Traps record cause, tval, pc, ``cpu.retired()`` and a count in slots and continue at
    :data:`TRAP_VECTOR`; the mode key is the MODE slot.
    """

    name = "irtest"
    xlen = 64
    max_insn_len = 4
    regs = RegisterFile(
        [Reg(f"r{i}", i) for i in range(NGPR)]
        + [
            Reg("pc", PC, group="pc"),
            Reg("fflags", FFLAGS, group="sys"),
            Reg("mode", MODE, group="sys"),
            Reg("cause", CAUSE, group="sys"),
            Reg("tval", TVAL, group="sys"),
            Reg("epc", EPC, group="sys"),
            Reg("ntraps", NTRAPS, group="sys"),
            Reg("trap_retired", TRAP_RETIRED, group="sys"),
            Reg("w0", W0, width=128, group="vec"),
        ],
        pc=PC,
        nslots=NSLOTS,
    )

    def __init__(self) -> None:
        self.table: dict[int, Emit] = {}
        self.irq_pending = False

    def reset(self, cpu, pc: int) -> None:
        cpu.s[:] = [0] * NSLOTS
        cpu.pc = pc

    def mode_key(self, cpu) -> int:
        return cpu.s[MODE]

    def lift(self, b: Builder, cpu, pc: int) -> int:
        word = cpu.fetch(pc, 4)
        b.insn(pc, 4, word)
        fn = self.table.get(word)
        if fn is None:
            b.trap(CAUSE_ILLEGAL, word)
        else:
            fn(b, pc)
        return 4

    def enter_trap(self, cpu, trap: GuestTrap, pc: int) -> int:
        s = cpu.s
        s[CAUSE] = trap.cause
        s[TVAL] = trap.tval & M64
        s[EPC] = pc
        s[NTRAPS] += 1
        s[TRAP_RETIRED] = cpu.retired()
        return TRAP_VECTOR

    def bus_fault(self, err: BusError) -> GuestTrap:
        cause = {
            Access.FETCH: CAUSE_FETCH_FAULT,
            Access.LOAD: CAUSE_LOAD_FAULT,
            Access.STORE: CAUSE_STORE_FAULT,
        }[err.access]
        return GuestTrap(cause, err.addr)

    def misaligned(self, access: Access, addr: int) -> GuestTrap:
        cause = CAUSE_MISALIGNED_STORE if access == Access.STORE else CAUSE_MISALIGNED_LOAD
        return GuestTrap(cause, addr)

    def pending_interrupt(self, cpu) -> GuestTrap | None:
        if self.irq_pending:
            self.irq_pending = False
            return GuestTrap(CAUSE_IRQ, 0)
        return None

    def disasm(self, bits: int, length: int, pc: int) -> str:
        return f"irtest {bits:#x}"


def _halt(cpu) -> None:
    cpu.machine.halt(0)


HALT = Helper(_halt, state=True, ends_block=True, name="halt")


def halt_insn(b: Builder, pc: int) -> None:
    """Power off (retires), continuing at pc + 4 if ever run again."""
    b.call(HALT)
    b.goto(pc + 4)


class IRHarness:
    """One test machine on the engine under test, and a tiny assembler for it."""

    def __init__(self, engine_factory: Callable, mmu: str = "flat") -> None:
        self.isa = IrTestIsa()
        mmu_factory = {"flat": FlatMmu, "slow": SlowMmu}[mmu]
        self.machine = Machine(self.isa, engine_factory, mmu_factory)
        bus = self.machine.bus
        bus.add_ram(CODE, RAM_SIZE, "ram")
        bus.add_ram(RAM2, RAM2_SIZE, "ram2")
        bus.add_rom(ROM_BASE, ROM_DATA, "rom")
        self.probe = ProbeDevice()
        bus.add_mmio(MMIO_BASE, MMIO_SIZE, self.probe, "probe")
        self.cpu = self.machine.cpus[0]
        self.probe.cpu = self.cpu
        self.machine.reset(CODE)
        self._next_pc = CODE
        self._next_word = 0x1000
        self.place(halt_insn, TRAP_VECTOR)

    @property
    def s(self) -> list[int]:
        return self.cpu.s

    def opcode(self, fn: Emit) -> int:
        """A fresh instruction word meaning ``fn``."""
        word = self._next_word
        self._next_word += 1
        self.isa.table[word] = fn
        return word

    def place(self, fn: Emit, pc: int | None = None) -> int:
        """Put an instruction emitting ``fn`` at ``pc`` (default: the next free slot)."""
        if pc is None:
            pc = self._next_pc
            self._next_pc += 4
        self.machine.bus.write_bytes(pc, self.opcode(fn).to_bytes(4, "little"))
        return pc

    def program(self, *fns: Emit, halt: bool = True) -> int:
        """Place instructions one after another (then a halt); return the first pc."""
        start = self._next_pc
        for fn in fns:
            self.place(fn)
        if halt:
            self.place(halt_insn)
        return start

    def new_page(self) -> int:
        """Move the assembler to the start of a fresh page; return its address."""
        self._next_pc = (self._next_pc + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        return self._next_pc

    def run(self, pc: int, regs: dict[int, int] | None = None, limit: int = 100_000) -> str:
        s = self.cpu.s
        for slot, value in (regs or {}).items():
            s[slot] = value
        for slot in (CAUSE, TVAL, EPC, NTRAPS, TRAP_RETIRED):
            s[slot] = 0
        self.cpu.pc = pc
        return self.machine.run(limit=limit)

    def read(self, addr: int, size: int) -> int:
        return int.from_bytes(self.machine.bus.read_bytes(addr, size), "little")


# -- reference semantics, written from the op documentation ----------------------------------


def _signed(x: int, w: int) -> int:
    return x - (1 << w) if x >> (w - 1) & 1 else x


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _ref_sdiv(a: int, b: int, w: int) -> int:
    if b == 0:
        return (1 << w) - 1
    sa, sb = _signed(a, w), _signed(b, w)
    if sa == -(1 << (w - 1)) and sb == -1:
        return a
    return _trunc_div(sa, sb) % (1 << w)


def _ref_srem(a: int, b: int, w: int) -> int:
    if b == 0:
        return a
    sa, sb = _signed(a, w), _signed(b, w)
    return (sa - sb * _trunc_div(sa, sb)) % (1 << w)


def _ref_rotl(a: int, b: int, w: int) -> int:
    bits = format(a, f"0{w}b")
    k = b % w
    return int(bits[k:] + bits[:k], 2)


def _ref_rotr(a: int, b: int, w: int) -> int:
    bits = format(a, f"0{w}b")
    k = b % w
    return int(bits[w - k :] + bits[: w - k], 2) if k else a


REF_BINARY: dict[str, Callable[[int, int, int], int]] = {
    "add": lambda a, b, w: (a + b) % (1 << w),
    "sub": lambda a, b, w: (a - b) % (1 << w),
    "mul": lambda a, b, w: (a * b) % (1 << w),
    "mulhu": lambda a, b, w: (a * b) // (1 << w),
    "mulhs": lambda a, b, w: (_signed(a, w) * _signed(b, w) // (1 << w)) % (1 << w),
    "mulhsu": lambda a, b, w: (_signed(a, w) * b // (1 << w)) % (1 << w),
    "udiv": lambda a, b, w: a // b if b else (1 << w) - 1,
    "sdiv": _ref_sdiv,
    "urem": lambda a, b, w: a % b if b else a,
    "srem": _ref_srem,
    "and": lambda a, b, w: a & b,
    "or": lambda a, b, w: a | b,
    "xor": lambda a, b, w: a ^ b,
    "shl": lambda a, b, w: (a * 2**b) % (1 << w) if b < w else 0,
    "lshr": lambda a, b, w: a // 2**b if b < w else 0,
    "ashr": lambda a, b, w: (_signed(a, w) // 2 ** min(b, w)) % (1 << w),
    "rotl": _ref_rotl,
    "rotr": _ref_rotr,
}

REF_UNARY: dict[str, Callable[[int, int], int]] = {
    "not": lambda a, w: (1 << w) - 1 - a,
    "neg": lambda a, w: (-a) % (1 << w),
    "clz": lambda a, w: len(format(a, f"0{w}b")) - len(format(a, f"0{w}b").lstrip("0")),
    "ctz": lambda a, w: len(format(a, f"0{w}b")) - len(format(a, f"0{w}b").rstrip("0")),
    "popcnt": lambda a, w: format(a, "b").count("1"),
    "bswap": lambda a, w: int.from_bytes(a.to_bytes(w // 8, "big"), "little"),
}

REF_COMPARE: dict[str, Callable[[int, int, int], bool]] = {
    "eq": lambda a, b, w: a == b,
    "ne": lambda a, b, w: a != b,
    "ult": lambda a, b, w: a < b,
    "ule": lambda a, b, w: a <= b,
    "slt": lambda a, b, w: _signed(a, w) < _signed(b, w),
    "sle": lambda a, b, w: _signed(a, w) <= _signed(b, w),
    # builder conveniences, lowered to the ops above with swapped operands
    "ugt": lambda a, b, w: a > b,
    "uge": lambda a, b, w: a >= b,
    "sgt": lambda a, b, w: _signed(a, w) > _signed(b, w),
    "sge": lambda a, b, w: _signed(a, w) >= _signed(b, w),
}

_BUILDER_NAME = {"and": "and_", "or": "or_", "not": "not_"}


def _method(b: Builder, op: str) -> Callable:
    return getattr(b, _BUILDER_NAME.get(op, op))


def edge_values(w: int) -> list[int]:
    m = (1 << w) - 1
    vals = {0, 1, 2, 3, m, m - 1, 1 << (w - 1), (1 << (w - 1)) - 1, (1 << (w - 1)) + 1}
    vals |= {0x5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A & m, 0x8421 & m, w - 1, w, w + 1, 2 * w}
    return sorted(v & m for v in vals)


def edge_pairs(w: int) -> list[tuple[int, int]]:
    ev = edge_values(w)
    return [(a, b) for a in ev for b in ev]


def _few_pairs(w: int) -> list[tuple[int, int]]:
    """Edge pairs for the constant-operand variants (each one is a separate translation)."""
    m = (1 << w) - 1
    mn = 1 << (w - 1)
    return [(7, 0), (mn, m), (m, w), (mn | 5, w - 1), (0x5A5A5A5A5A5A5A5A & m, 3), (m, m)]


def _fbits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _ffloat(b: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", b))[0]


NX, UF, OF, DZ, NV = 1, 2, 4, 8, 16
RNE, RTZ, RDN, RUP, RMM = 0, 1, 2, 3, 4

#: hand-derived floating-point cases: (op, fmt, operands, rm, result bits, flags)
FP_CASES = [
    ("fdiv", "f32", (0x3F800000, 0x40400000), RNE, 0x3EAAAAAB, NX),
    ("fdiv", "f32", (0x3F800000, 0x40400000), RTZ, 0x3EAAAAAA, NX),
    ("fdiv", "f32", (0x3F800000, 0x40400000), RDN, 0x3EAAAAAA, NX),
    ("fdiv", "f32", (0x3F800000, 0x40400000), RUP, 0x3EAAAAAB, NX),
    ("fdiv", "f32", (0x3F800000, 0x40400000), RMM, 0x3EAAAAAB, NX),
    ("fdiv", "f64", (0x3FF0000000000000, 0x4008000000000000), RUP, 0x3FD5555555555556, NX),
    ("fdiv", "f64", (0x3FF0000000000000, 0x4008000000000000), RNE, 0x3FD5555555555555, NX),
    ("fdiv", "f32", (0x3F800000, 0x00000000), RNE, 0x7F800000, DZ),
    ("fdiv", "f32", (0x00000000, 0x00000000), RNE, 0x7FC00000, NV),
    ("fadd", "f32", (0x7F800000, 0xFF800000), RNE, 0x7FC00000, NV),
    ("fadd", "f32", (0x7F800001, 0x3F800000), RNE, 0x7FC00000, NV),
    ("fadd", "f32", (0x7FC01234, 0x3F800000), RNE, 0x7FC00000, 0),
    ("fadd", "f32", (0x3F800000, 0xBF800000), RNE, 0x00000000, 0),
    ("fadd", "f32", (0x3F800000, 0xBF800000), RDN, 0x80000000, 0),
    ("fadd", "f16", (0x3C00, 0x3C00), RNE, 0x4000, 0),
    ("fsub", "f64", (0x3FF0000000000000, 0x3FF0000000000000), RNE, 0, 0),
    ("fmul", "f32", (0x7F7FFFFF, 0x40000000), RNE, 0x7F800000, OF | NX),
    ("fmul", "f32", (0x7F7FFFFF, 0x40000000), RTZ, 0x7F7FFFFF, OF | NX),
    ("fmul", "f32", (0xFF7FFFFF, 0x40000000), RUP, 0xFF7FFFFF, OF | NX),
    ("fmul", "f32", (0xFF7FFFFF, 0x40000000), RDN, 0xFF800000, OF | NX),
    ("fmul", "f32", (0x00000001, 0x3F000000), RNE, 0x00000000, UF | NX),
    ("fmul", "f32", (0x00000001, 0x3F000000), RUP, 0x00000001, UF | NX),
    ("fmul", "f32", (0x00800000, 0x3F000000), RNE, 0x00400000, 0),
    ("fmul", "f32", (0x007FFFFF, 0x3F800001), RNE, 0x00800000, NX),  # tiny only before rounding
    ("fsqrt", "f64", (0x4000000000000000,), RNE, 0x3FF6A09E667F3BCD, NX),
    ("fsqrt", "f32", (0xBF800000,), RNE, 0x7FC00000, NV),
    ("fsqrt", "f32", (0x80000000,), RNE, 0x80000000, 0),
    ("fma", "f32", (0x3F800001, 0x3F7FFFFE, 0xBF800000), RNE, 0xA8800000, 0),
    ("fma", "f32", (0x00000000, 0x7F800000, 0x7FC00000), RNE, 0x7FC00000, NV),
    ("feq", "f32", (0x7FC00000, 0x3F800000), None, 0, 0),
    ("feq", "f32", (0x7F800001, 0x3F800000), None, 0, NV),
    ("feq", "f32", (0x80000000, 0x00000000), None, 1, 0),
    ("flt", "f32", (0x7FC00000, 0x3F800000), None, 0, NV),
    ("flt", "f64", (0xBFF0000000000000, 0x3FF0000000000000), None, 1, 0),
    ("flt", "f32", (0x80000000, 0x00000000), None, 0, 0),
    ("fle", "f32", (0x80000000, 0x00000000), None, 1, 0),
    ("fle", "f16", (0x7E00, 0x3C00), None, 0, NV),
]

#: (kind, fmt/to, operand, width or to-format, signed, rm, result, flags)
FP_CONVERSIONS = [
    ("ff", "f64", "f32", 0x3FD5555555555555, RNE, 0x3EAAAAAB, NX),
    ("ff", "f64", "f32", 0x3FD5555555555555, RTZ, 0x3EAAAAAA, NX),
    ("ff", "f64", "f32", _fbits(1e300), RNE, 0x7F800000, OF | NX),
    ("ff", "f64", "f32", _fbits(1e300), RTZ, 0x7F7FFFFF, OF | NX),
    ("ff", "f32", "f64", 0x3EAAAAAB, RNE, 0x3FD5555560000000, 0),
    ("ff", "f32", "f64", 0x7F800001, RNE, 0x7FF8000000000000, NV),
    ("ff", "f32", "f16", 0x3F800000, RNE, 0x3C00, 0),
    ("ff", "f16", "f64", 0x0001, RNE, _fbits(2.0**-24), 0),
    ("fi", "f32", (32, True), 0x7FC00000, RNE, 0x7FFFFFFF, NV),
    ("fi", "f32", (32, True), 0xFF800000, RNE, 0x80000000, NV),
    ("fi", "f32", (32, True), 0xBFC00000, RNE, 0xFFFFFFFE, NX),
    ("fi", "f32", (32, True), 0xBFC00000, RTZ, 0xFFFFFFFF, NX),
    ("fi", "f32", (32, True), 0x3FC00000, RUP, 2, NX),
    ("fi", "f32", (32, False), 0xBF800000, RNE, 0, NV),
    ("fi", "f32", (32, False), 0xBF000000, RTZ, 0, NX),
    ("fi", "f32", (32, False), 0x4F800000, RNE, 0xFFFFFFFF, NV),
    ("fi", "f64", (64, True), 0x43E0000000000000, RNE, 0x7FFFFFFFFFFFFFFF, NV),
    ("fi", "f64", (64, True), 0xC3E0000000000000, RNE, 1 << 63, 0),
    ("fi", "f64", (64, False), 0x7FF8000000000000, RNE, M64, NV),
    ("fi", "f64", (32, True), _fbits(-2147483648.9), RTZ, 0x80000000, NX),
    ("if", "f32", (32, True), 0xFFFFFFFF, RNE, 0xBF800000, 0),
    ("if", "f32", (32, False), 0xFFFFFFFF, RNE, 0x4F800000, NX),
    ("if", "f32", (32, False), 0xFFFFFFFF, RTZ, 0x4F7FFFFF, NX),
    ("if", "f64", (64, True), 1 << 63, RNE, 0xC3E0000000000000, 0),
    ("if", "f64", (64, False), M64, RDN, 0x43EFFFFFFFFFFFFF, NX),
    ("if", "f64", (32, True), 0x80000000, RNE, _fbits(-2147483648.0), 0),
]

FP_WIDTH = {"f16": 16, "f32": 32, "f64": 64}

_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: which tests exercise which op (checked against vmcore.ir.OPS by a test)
OP_COVERAGE = {
    "const": "test_binary_op_constants, test_const_is_reduced",
    "get": "test_get_set_widths",
    "set": "test_get_set_widths",
    **{op: "test_binary_op, test_binary_op_random" for op in REF_BINARY},
    **{op: "test_unary_op" for op in REF_UNARY},
    **{op: "test_compare" for op in ("eq", "ne", "ult", "ule", "slt", "sle")},
    "select": "test_select",
    "zext": "test_extend_trunc",
    "sext": "test_extend_trunc",
    "trunc": "test_extend_trunc",
    "load": "test_load_store_sizes",
    "store": "test_load_store_sizes",
    **{op: "test_fp_cases" for op in ("fadd", "fsub", "fmul", "fdiv", "fsqrt", "fma")},
    **{op: "test_fp_cases" for op in ("feq", "flt", "fle")},
    "fcvt_ff": "test_fp_conversions",
    "fcvt_fi": "test_fp_conversions",
    "fcvt_if": "test_fp_conversions",
    "call": "test_pure_helpers, test_state_helper_*",
    "trap": "test_trap_is_precise",
    "trap_if": "test_trap_is_precise",
    "goto": "test_goto",
    "goto_ind": "test_goto_ind",
    "branch": "test_branch",
}

BINARY_WIDTHS = [(op, w) for op in REF_BINARY for w in (8, 16, 32, 64)]
BINARY_WIDTHS += [(op, 128) for op in ("add", "and", "or", "xor", "shl", "lshr")]
BINARY_WIDTHS += [(op, 1) for op in ("and", "or", "xor")]


class IRConformance:
    """The suite. Subclass it as ``Test...`` and provide an ``engine_factory`` fixture.

    ``SUPPORTS_128``: set False in the subclass if the engine does not implement 128-bit
    values (those cases are then skipped, visibly).
    """

    SUPPORTS_128 = True
    #: known bugs of the engine under test: test name, with or without its parameter id
    #: (``"test_mmio"`` or ``"test_mmio[1-flat]"``) -> reason. Those tests are marked as
    #: strict xfail, so the day the bug is fixed the marker has to go.
    KNOWN_FAILURES: dict[str, str] = {}

    @pytest.fixture(autouse=True)
    def _known_failures(self, request):
        node = request.node
        reason = self.KNOWN_FAILURES.get(node.name) or self.KNOWN_FAILURES.get(
            getattr(node, "originalname", node.name)
        )
        if reason:
            node.add_marker(pytest.mark.xfail(reason=reason, strict=True))

    def _harness(self, engine_factory, mmu: str = "flat") -> IRHarness:
        return IRHarness(engine_factory, mmu)

    def _need(self, width: int) -> None:
        if width == 128 and not self.SUPPORTS_128:
            pytest.skip("engine does not support 128-bit values")

    def _run_ok(self, h: IRHarness, pc: int, regs=None, limit: int = 100_000) -> None:
        reason = h.run(pc, regs, limit)
        assert h.s[NTRAPS] == 0, f"unexpected trap cause={h.s[CAUSE]} tval={h.s[TVAL]:#x}"
        assert reason == StopReason.HALT, reason

    # -- integer ops ---------------------------------------------------------------------------

    @staticmethod
    def _operand(b: Builder, src: int | None, slot: int, w: int):
        if src is None:
            return b.get(slot, w)
        return b.const(src, w)

    def _binop_insn(self, op: str, w: int, ca: int | None = None, cb: int | None = None) -> Emit:
        def emit(b: Builder, pc: int) -> None:
            x = self._operand(b, ca, 1, w)
            y = self._operand(b, cb, 2 if w <= 64 else 4, w)
            r = _method(b, op)(x, y)
            assert r.width == w
            b.set(3 if w <= 64 else W0, r, w if w == 128 else 64)

        return emit

    @staticmethod
    def _wide_regs(slot: int, value: int) -> dict[int, int]:
        return {slot: value & M64, slot + 1: value >> 64}

    def _regs(self, w: int, a: int, b: int) -> dict[int, int]:
        if w == 128:
            return {**self._wide_regs(1, a), **self._wide_regs(4, b)}
        return {1: a, 2: b}

    def _result(self, h: IRHarness, w: int) -> int:
        return h.s[W0] | h.s[W0 + 1] << 64 if w == 128 else h.s[3]

    @pytest.mark.parametrize(("op", "width"), BINARY_WIDTHS)
    def test_binary_op(self, engine_factory, op, width):
        self._need(width)
        h = self._harness(engine_factory)
        pc = h.program(self._binop_insn(op, width))
        ref = REF_BINARY[op]
        for a, b in edge_pairs(width) if width > 1 else [(0, 0), (0, 1), (1, 0), (1, 1)]:
            self._run_ok(h, pc, self._regs(width, a, b))
            got = self._result(h, width)
            assert got == ref(a, b, width), f"{op}.{width}({a:#x}, {b:#x}) = {got:#x}"

    @pytest.mark.parametrize(("op", "width"), [x for x in BINARY_WIDTHS if x[1] in (8, 32, 64)])
    def test_binary_op_constants(self, engine_factory, op, width):
        """Constant operands (engines fold or inline them) give the same answers."""
        h = self._harness(engine_factory)
        ref = REF_BINARY[op]
        for a, b in _few_pairs(width):
            for ca, cb in ((a, b), (a, None), (None, b)):
                pc = h.program(self._binop_insn(op, width, ca, cb))
                self._run_ok(h, pc, {1: a, 2: b, 3: 0xDEAD})
                got = h.s[3]
                assert got == ref(a, b, width), f"{op}.{width} {ca} {cb}: {got:#x}"

    def test_binary_op_random(self, engine_factory):
        h = self._harness(engine_factory)
        pcs: dict[tuple[str, int], int] = {}
        ops = [x for x in BINARY_WIDTHS if x[1] != 1 and (x[1] != 128 or self.SUPPORTS_128)]

        @given(st.sampled_from(ops), st.data())
        @_SETTINGS
        def check(opw, data):
            op, w = opw
            a = data.draw(st.integers(0, (1 << w) - 1), label="a")
            small = st.integers(0, 2 * w)
            b = data.draw(st.one_of(st.integers(0, (1 << w) - 1), small), label="b")
            if (op, w) not in pcs:
                pcs[op, w] = h.program(self._binop_insn(op, w))
            self._run_ok(h, pcs[op, w], self._regs(w, a, b))
            assert self._result(h, w) == REF_BINARY[op](a, b, w)

        check()

    @pytest.mark.parametrize("op", sorted(REF_UNARY))
    @pytest.mark.parametrize("width", [8, 16, 32, 64])
    def test_unary_op(self, engine_factory, op, width):
        h = self._harness(engine_factory)
        ref = REF_UNARY[op]
        pc = h.program(lambda b, pc: b.set(3, _method(b, op)(b.get(1, width))))
        values = edge_values(width) + [1 << k for k in range(width)]
        for a in values:
            self._run_ok(h, pc, {1: a})
            assert h.s[3] == ref(a, width), f"{op}.{width}({a:#x}) = {h.s[3]:#x}"
        # constant operand
        for a in (0, 1, 1 << (width - 1), (1 << width) - 1, 0x0F0 & mask(width)):
            pc = h.program(lambda b, pc, a=a: b.set(3, _method(b, op)(b.const(a, width))))
            self._run_ok(h, pc, {3: 0xDEAD})
            assert h.s[3] == ref(a, width), f"{op}.{width}(const {a:#x}) = {h.s[3]:#x}"

    @pytest.mark.parametrize("op", sorted(REF_COMPARE))
    @pytest.mark.parametrize("width", [8, 16, 32, 64])
    def test_compare(self, engine_factory, op, width):
        h = self._harness(engine_factory)

        def emit(b, pc):
            r = _method(b, op)(b.get(1, width), b.get(2, width))
            assert r.width == 1
            b.set(3, r)
            b.set(4, b.zext(r, 64))
            b.set(5, b.sext(r, 64))

        pc = h.program(emit)
        for a, c in edge_pairs(width):
            self._run_ok(h, pc, {1: a, 2: c})
            expect = int(REF_COMPARE[op](a, c, width))
            assert (h.s[3], h.s[4], h.s[5]) == (expect, expect, M64 * expect), (op, a, c)

    def test_const_is_reduced(self, engine_factory):
        h = self._harness(engine_factory)

        def emit(b, pc):
            b.set(3, b.const(0x1FF, 8))
            b.set(4, b.const(-1, 32))
            b.set(5, b.add(b.const(-1, 64), 0))
            b.set(6, b.const(1 << 64 | 5, 64))

        self._run_ok(h, h.program(emit))
        assert h.s[3:7] == [0xFF, 0xFFFFFFFF, M64, 5]

    def test_get_set_widths(self, engine_factory):
        h = self._harness(engine_factory)
        v = 0xFFEEDDCCBBAA9988

        def emit(b, pc):
            for i, w in enumerate((1, 8, 16, 32, 64)):
                b.set(10 + i, b.zext(b.get(1, w), 64) if w < 64 else b.get(1, w))
                b.set(20 + i, b.get(1, w), w)  # narrow set: the slot holds the value
            b.set(15, b.get(11, 64))  # a slot written earlier in this block
            if self.SUPPORTS_128:
                wide = b.get(W0, 128)
                b.set(2, b.trunc(wide, 64))
                b.set(3, b.trunc(b.lshr(wide, 64), 64))
                b.set(W0, b.add(wide, 1), 128)

        pc = h.program(emit)
        regs = {1: v, 20: M64, 21: M64, 22: M64, 23: M64, 24: 0}
        regs.update(self._wide_regs(W0, (0x1111 << 64) | M64))
        self._run_ok(h, pc, regs)
        want = [v & 1, v & 0xFF, v & 0xFFFF, v & 0xFFFFFFFF, v]
        assert h.s[10:15] == want
        assert h.s[20:25] == want
        assert h.s[15] == want[1]
        if self.SUPPORTS_128:
            assert (h.s[2], h.s[3]) == (M64, 0x1111)
            assert (h.s[W0], h.s[W0 + 1]) == (0, 0x1112)
            assert h.cpu.read_reg("w0") == 0x1112 << 64

    @pytest.mark.parametrize("width", [1, 8, 16, 32, 64])
    def test_select(self, engine_factory, width):
        h = self._harness(engine_factory)

        def emit(b, pc):
            c = b.ne(b.get(1), 0)
            b.set(3, b.select(c, b.get(2, width), b.get(4, width)))
            b.set(6, b.select(b.eq(b.get(1), 7), b.const(5, width), b.get(2, width)))

        pc = h.program(emit)
        m = mask(width)
        for cond in (0, 1, 7, M64):
            self._run_ok(h, pc, {1: cond, 2: 0xA5A5A5A5A5A5A5A5 & m, 4: 0x5A5A5A5A5A5A5A5A & m})
            assert h.s[3] == (0xA5A5A5A5A5A5A5A5 & m if cond else 0x5A5A5A5A5A5A5A5A & m)
            assert h.s[6] == (5 & m if cond == 7 else 0xA5A5A5A5A5A5A5A5 & m)

    @pytest.mark.parametrize("src", [1, 8, 16, 32, 64, 128])
    def test_extend_trunc(self, engine_factory, src):
        self._need(src)
        h = self._harness(engine_factory)
        targets = [w for w in (1, 8, 16, 32, 64, 128) if w != src]
        if not self.SUPPORTS_128:
            targets.remove(128)
        for value in (
            0,
            1,
            mask(src),
            1 << (src - 1),
            0x0123456789ABCDEF0123456789ABCDEF & mask(src),
        ):

            def emit(b, pc):
                x = b.get(W0, 128) if src == 128 else b.get(1, src)
                for i, w in enumerate(targets):
                    if w > src:
                        z, s_ = b.zext(x, w), b.sext(x, w)
                    else:
                        z = s_ = b.trunc(x, w)
                    if w == 128:
                        b.set(10, b.trunc(z, 64))
                        b.set(11, b.trunc(b.lshr(z, 64), 64))
                        b.set(12, b.trunc(s_, 64))
                        b.set(13, b.trunc(b.lshr(s_, 64), 64))
                    else:
                        b.set(16 + 2 * i, z, 64)
                        b.set(17 + 2 * i, s_, 64)

            regs = self._wide_regs(W0, value) if src == 128 else {1: value}
            self._run_ok(h, h.program(emit), regs)
            sign = value >> (src - 1) & 1
            for i, w in enumerate(targets):
                if w > src:
                    zx = value
                    sx = value | (mask(w) ^ mask(src)) if sign else value
                else:
                    zx = sx = value & mask(w)
                if w == 128:
                    got_z = h.s[10] | h.s[11] << 64
                    got_s = h.s[12] | h.s[13] << 64
                else:
                    got_z, got_s = h.s[16 + 2 * i], h.s[17 + 2 * i]
                assert (got_z, got_s) == (zx, sx), f"{src}->{w} of {value:#x}"

    # -- memory ------------------------------------------------------------------------------------

    @staticmethod
    def _store_insn(size: int, aligned: bool = False) -> Emit:
        w = size * 8

        def emit(b, pc):
            val = b.get(W0, 128) if w == 128 else b.get(2, w)
            b.store(b.get(1), val, aligned=aligned)

        return emit

    @staticmethod
    def _load_insn(size: int, aligned: bool = False, rmw: bool = False) -> Emit:
        w = size * 8

        def emit(b, pc):
            v = b.load(w, b.get(1), aligned=aligned, rmw=rmw)
            assert v.width == w
            if w == 128:
                b.set(W0, v, 128)
            else:
                b.set(3, b.zext(v, 64) if w < 64 else v)

        return emit

    @pytest.mark.parametrize("mmu", ["flat", "slow"])
    @pytest.mark.parametrize("size", [1, 2, 4, 8, 16])
    def test_load_store_sizes(self, engine_factory, mmu, size):
        self._need(size * 8)
        h = self._harness(engine_factory, mmu)
        st_pc = h.program(self._store_insn(size))
        ld_pc = h.program(self._load_insn(size))
        offsets = (0, 1, 3, 5, 7) if size > 1 else (0, 1)
        addrs = [base + off for base in (DATA, DATA + 0x100, RAM2 + 0x40) for off in offsets]
        addrs += [DATA + PAGE_SIZE * 3 - size // 2 - 1 + off for off in (0, 1)]  # page crossing
        addrs += [CODE + RAM_SIZE - size, RAM2 + RAM2_SIZE - size]  # the last bytes of a RAM
        value = int.from_bytes(bytes(range(0xA1, 0xA1 + size)), "little")
        for addr in addrs:
            end = h.machine.bus.find(addr).end
            after = min(8, end - addr - size)
            around = bytes((i * 37 + 11) & 0xFF for i in range(size + 8 + after))
            h.machine.bus.write_bytes(addr - 8, around)
            regs = {1: addr, **self._wide_regs(W0, value)} if size == 16 else {1: addr, 2: value}
            self._run_ok(h, st_pc, regs)
            got = h.machine.bus.read_bytes(addr - 8, size + 8 + after)
            assert got[8 : 8 + size] == value.to_bytes(size, "little"), hex(addr)
            assert got[:8] == around[:8] and got[8 + size :] == around[8 + size :], hex(addr)
            # load back what a host write put there
            other = bytes((i * 91 + 5) & 0xFF for i in range(size))
            h.machine.bus.write_bytes(addr, other)
            self._run_ok(h, ld_pc, {1: addr, 3: 0xDEAD})
            got_v = h.s[W0] | h.s[W0 + 1] << 64 if size == 16 else h.s[3]
            assert got_v == int.from_bytes(other, "little"), hex(addr)

    @pytest.mark.parametrize("mmu", ["flat", "slow"])
    @pytest.mark.parametrize("size", [1, 2, 4, 8])
    def test_rmw_load_reads_like_a_load(self, engine_factory, mmu, size):
        """The read of an atomic (``rmw``) reads what a load does, in the fast RAM and
        elsewhere; it differs only in how it faults (test_memory_fault_is_precise)."""
        h = self._harness(engine_factory, mmu)
        pc = h.program(self._load_insn(size, rmw=True))
        rom = ROM_BASE + 0x123
        for addr in (DATA + 3, CODE + RAM_SIZE - size, RAM2 + 0x41, rom):
            want = bytes((addr * 7 + i * 13) & 0xFF for i in range(size))
            if addr == rom:
                want = ROM_DATA[0x123 : 0x123 + size]
            else:
                h.machine.bus.write_bytes(addr, want)
            self._run_ok(h, pc, {1: addr, 3: 0xDEAD})
            assert h.s[3] == int.from_bytes(want, "little"), hex(addr)

    @pytest.mark.parametrize("size", [1, 2, 4, 8])
    def test_rom_loads_and_store_fault(self, engine_factory, size):
        h = self._harness(engine_factory)
        addr = ROM_BASE + 0x123
        self._run_ok(h, h.program(self._load_insn(size)), {1: addr})
        assert h.s[3] == int.from_bytes(ROM_DATA[0x123 : 0x123 + size], "little")
        pc = h.program(self._store_insn(size))
        assert h.run(pc, {1: addr, 2: 0}) == StopReason.HALT
        assert (h.s[NTRAPS], h.s[CAUSE], h.s[TVAL], h.s[EPC]) == (1, CAUSE_STORE_FAULT, addr, pc)
        assert h.machine.bus.read_bytes(addr, size) == ROM_DATA[0x123 : 0x123 + size]

    @pytest.mark.parametrize("mmu", ["flat", "slow"])
    @pytest.mark.parametrize("size", [1, 2, 4, 8])
    def test_mmio(self, engine_factory, mmu, size):
        h = self._harness(engine_factory, mmu)

        def nop(b, pc):
            b.set(9, b.add(b.get(9), 1))

        off = 0x10 + size - 1  # misaligned unless size == 1
        ld = h.program(nop, nop, self._load_insn(size), nop)
        before = h.cpu.retired()
        self._run_ok(h, ld, {1: MMIO_BASE + off})
        assert h.s[3] == probe_value(off, size)
        assert h.probe.log == [("r", off, size, before + 2)]
        h.probe.log.clear()
        st_pc = h.program(nop, self._store_insn(size))
        before = h.cpu.retired()
        self._run_ok(h, st_pc, {1: MMIO_BASE + off, 2: 0x0102030405060708 & mask(size * 8)})
        assert h.probe.log == [("w", off, size, 0x0102030405060708 & mask(size * 8), before + 1)]
        # an access running off the end of the window is a fault, the device sees nothing
        h.probe.log.clear()
        end = MMIO_BASE + MMIO_SIZE - size + 1
        if size > 1:
            assert h.run(ld, {1: end}) == StopReason.HALT
            assert (h.s[CAUSE], h.s[TVAL], h.s[EPC]) == (CAUSE_LOAD_FAULT, end, ld + 8)
            assert h.probe.log == []

    @pytest.mark.parametrize("mmu", ["flat", "slow"])
    @pytest.mark.parametrize("kind", ["load", "rmw", "store"])
    @pytest.mark.parametrize(
        "where",
        ["unmapped", "ram_end", "fault_window", "misaligned", "high"],
    )
    def test_memory_fault_is_precise(self, engine_factory, mmu, kind, where):
        """A faulting access traps at its instruction with the cause of its kind (an
        atomic's read, ``rmw``, that of a store), nothing after it run."""
        h = self._harness(engine_factory, mmu)
        size = 8
        addr = {
            "unmapped": UNMAPPED + 0x10,
            "ram_end": CODE + RAM_SIZE - 4,  # straddles the end of the fast RAM
            "fault_window": FAULT_WINDOW + 8,
            "misaligned": DATA + 4,
            "high": M64 - 3,
        }[where]
        aligned = where == "misaligned"
        if where == "fault_window":
            page_fault = CAUSE_PAGE_FAULT if kind == "load" else CAUSE_STORE_PAGE_FAULT
            cause = page_fault if mmu == "slow" else None
        elif where == "misaligned":
            cause = CAUSE_MISALIGNED_LOAD if kind == "load" else CAUSE_MISALIGNED_STORE
        else:
            cause = None
        if cause is None:
            cause = CAUSE_LOAD_FAULT if kind == "load" else CAUSE_STORE_FAULT
        if kind == "store":
            access = self._store_insn(size, aligned)
        else:
            access = self._load_insn(size, aligned, rmw=kind == "rmw")
        h.machine.bus.write_bytes(DATA, bytes(16))
        pc = h.program(
            lambda b, pc: b.set(5, 11),
            lambda b, pc: b.set(6, b.add(b.get(5), 11)),
            access,
            lambda b, pc: b.set(7, 33),
            lambda b, pc: b.store(b.const(DATA), b.const(0x77, 8)),
        )
        before = h.cpu.retired()
        assert h.run(pc, {1: addr, 2: M64, 3: 0xDEAD, 5: 0, 6: 0, 7: 0}) == StopReason.HALT
        assert (h.s[NTRAPS], h.s[CAUSE], h.s[TVAL], h.s[EPC]) == (1, cause, addr, pc + 8)
        assert (h.s[5], h.s[6], h.s[7]) == (11, 22, 0)
        assert h.s[3] == 0xDEAD
        assert h.s[TRAP_RETIRED] == before + 2
        assert h.cpu.retired() == before + 3  # + the halt at the trap vector
        assert h.machine.bus.read_bytes(DATA, 16) == bytes(16)

    def test_aligned_accesses_that_are_aligned(self, engine_factory):
        h = self._harness(engine_factory)
        for size in (2, 4, 8):
            h.machine.bus.write_bytes(DATA, bytes(range(1, 17)))
            self._run_ok(h, h.program(self._load_insn(size, aligned=True)), {1: DATA + size})
            assert h.s[3] == int.from_bytes(bytes(range(1 + size, 1 + 2 * size)), "little")
            self._run_ok(h, h.program(self._store_insn(size, aligned=True)), {1: DATA, 2: 0})
            assert h.read(DATA, size) == 0

    def test_store_then_load_in_one_block(self, engine_factory):
        h = self._harness(engine_factory)

        def emit(b, pc):
            a = b.const(DATA + 0x40)
            b.store(a, b.const(0x1122334455667788))
            b.store(b.add(a, 1), b.const(0xAB, 8))
            b.set(3, b.load(64, a))
            b.set(4, b.zext(b.load(16, b.add(a, 7)), 64))

        self._run_ok(h, h.program(emit))
        assert h.s[3] == 0x112233445566AB88
        assert h.s[4] == 0x0011 | (h.read(DATA + 0x48, 1) << 8)

    # -- traps -------------------------------------------------------------------------------

    @pytest.mark.parametrize("how", ["trap", "trap_if", "trap_if_reg", "helper"])
    @pytest.mark.parametrize("at", [0, 1, 3])
    def test_trap_is_precise(self, engine_factory, how, at):
        h = self._harness(engine_factory)

        def raiser(cpu, tval):
            raise GuestTrap(CAUSE_TEST, tval)

        helper = Helper(raiser, state=True, name="raiser")

        def make(i):
            def emit(b, pc):
                if i == at:
                    if how == "trap":
                        b.trap(CAUSE_TEST, b.get(8))
                        return
                    if how == "trap_if":
                        b.trap_if(b.eq(b.get(8), 0x99), CAUSE_TEST, b.get(8))
                    elif how == "trap_if_reg":
                        b.trap_if(b.get(12, 1), CAUSE_TEST, b.get(8))
                    else:
                        b.call(helper, b.get(8))
                    b.set(20 + i, 1)
                else:
                    b.trap_if(b.eq(b.get(8), 0x12345), CAUSE_TEST + 1, 0)  # never taken
                    b.set(20 + i, b.add(b.get(20 + i), 1))

            return emit

        pc = h.program(*[make(i) for i in range(5)])
        before = h.cpu.retired()
        regs = {8: 0x99, 12: 1, **{20 + i: 0 for i in range(5)}}
        assert h.run(pc, regs) == StopReason.HALT
        assert (h.s[NTRAPS], h.s[CAUSE], h.s[TVAL]) == (1, CAUSE_TEST, 0x99)
        assert h.s[EPC] == pc + 4 * at
        assert h.s[20:25] == [1] * at + [0] * (5 - at)
        assert h.s[TRAP_RETIRED] == before + at
        assert h.cpu.retired() == before + at + 1
        if how in ("trap_if", "trap_if_reg"):
            # condition false: nothing traps, everything retires
            before = h.cpu.retired()
            self._run_ok(h, pc, {**regs, 8: 0x98, 12: 0, **{20 + i: 0 for i in range(5)}})
            assert h.s[20:25] == [1] * 5
            assert h.cpu.retired() == before + 6

    def test_trap_in_a_hot_loop(self, engine_factory):
        """Traps stay precise in a block the engine has run many times."""
        h = self._harness(engine_factory)
        start = h.new_page()

        def body(b, pc):
            n = b.add(b.get(1), 1)
            b.trap_if(b.eq(n, 1000), CAUSE_TEST, n)
            b.set(1, n)

        h.place(body)
        h.place(lambda b, pc: b.set(2, b.add(b.get(2), b.get(1))))
        h.place(lambda b, pc: b.goto(start))
        before = h.cpu.retired()
        assert h.run(start, {1: 0, 2: 0}) == StopReason.HALT
        assert (h.s[CAUSE], h.s[TVAL], h.s[EPC]) == (CAUSE_TEST, 1000, start)
        assert h.s[2] == sum(range(1, 1000))
        assert h.s[TRAP_RETIRED] - before == 999 * 3
        assert h.s[1] == 999

    def test_fetch_fault(self, engine_factory):
        h = self._harness(engine_factory)
        pc = h.program(lambda b, pc: b.set(5, 1), lambda b, pc: b.goto(UNMAPPED), halt=False)
        before = h.cpu.retired()
        assert h.run(pc, {5: 0}) == StopReason.HALT
        assert (h.s[CAUSE], h.s[TVAL], h.s[EPC]) == (CAUSE_FETCH_FAULT, UNMAPPED, UNMAPPED)
        assert h.s[5] == 1 and h.s[TRAP_RETIRED] == before + 2

    def test_illegal_word_traps(self, engine_factory):
        h = self._harness(engine_factory)
        pc = h.program(lambda b, pc: b.set(5, 1), halt=False)
        h.machine.bus.write_bytes(pc + 4, (0xFFFFFFFF).to_bytes(4, "little"))
        assert h.run(pc) == StopReason.HALT
        assert (h.s[CAUSE], h.s[TVAL], h.s[EPC]) == (CAUSE_ILLEGAL, 0xFFFFFFFF, pc + 4)

    # -- helpers -----------------------------------------------------------------------------------

    def test_pure_helpers(self, engine_factory):
        h = self._harness(engine_factory)
        calls = []

        def mix(a, b, c):
            calls.append((a, b, c))
            return (a * 31 + b * 7 + c) & M64

        def low(a):
            return (a * 3) & 0xFFFFFFFF

        def sink(a):
            calls.append(("sink", a))

        mix_h = Helper(mix, width=64, name="mix")
        low_h = Helper(low, width=32, name="low")
        sink_h = Helper(sink, name="sink")

        def emit(b, pc):
            r = b.call(mix_h, b.get(1), b.get(2), 5)
            assert r.width == 64
            b.set(3, r)
            r32 = b.call(low_h, b.get(1))
            assert r32.width == 32
            b.set(4, b.sext(r32, 64))
            assert b.call(sink_h, b.add(b.get(2), 1)) is None

        self._run_ok(h, h.program(emit), {1: 0x8000_0000_0000_0001, 2: 9})
        a = 0x8000_0000_0000_0001
        assert h.s[3] == (a * 31 + 9 * 7 + 5) & M64
        low_v = (a * 3) & 0xFFFFFFFF
        assert h.s[4] == ((low_v | (M64 ^ 0xFFFFFFFF)) if low_v >> 31 else low_v)
        assert calls == [(a, 9, 5), ("sink", 10)]
        assert all(type(x) is int for c in calls for x in c if x != "sink")

    def test_state_helper_sees_and_changes_registers(self, engine_factory):
        h = self._harness(engine_factory)
        seen = []

        def peek(cpu, arg):
            seen.append((cpu.s[1], cpu.s[2], arg, cpu.retired(), cpu.pc))
            cpu.s[2] = 0x77
            cpu.s[1] += 1
            return cpu.s[1] * 2

        helper = Helper(peek, width=64, state=True, name="peek")
        pc = h.program(
            lambda b, pc: b.set(1, 41),
            lambda b, pc: b.set(3, b.get(2)),  # r2 cached by the block before the call
            lambda b, pc: b.set(4, b.call(helper, b.add(b.get(1), 1))),
            lambda b, pc: (b.set(5, b.get(1)), b.set(6, b.get(2))),
        )
        before = h.cpu.retired()
        self._run_ok(h, pc, {2: 5})
        assert seen[0][:4] == (41, 5, 42, before + 2)
        assert (h.s[3], h.s[4], h.s[5], h.s[6]) == (5, 84, 42, 0x77)
        assert h.cpu.retired() == before + 5

    def test_state_helper_retired_in_a_loop(self, engine_factory):
        h = self._harness(engine_factory)
        seen = []
        helper = Helper(lambda cpu: seen.append(cpu.retired()), state=True, name="count")
        start = h.new_page()
        h.place(lambda b, pc: b.set(1, b.add(b.get(1), 1)))
        h.place(lambda b, pc: b.call(helper))
        h.place(lambda b, pc: b.branch(b.ult(b.get(1), 50), start, pc + 4))
        h.place(halt_insn)
        before = h.cpu.retired()
        self._run_ok(h, start, {1: 0})
        assert seen == [before + 1 + 3 * i for i in range(50)]
        assert h.cpu.retired() == before + 151

    def test_state_helper_ends_block(self, engine_factory):
        """After an ``ends_block`` helper changes the mode, the next instruction is
        translated (and run) in the new mode."""
        h = self._harness(engine_factory)

        def set_mode(cpu, m):
            cpu.s[MODE] = m

        helper = Helper(set_mode, state=True, ends_block=True, name="set_mode")

        def mode_dependent(slot):
            def emit(b, pc):
                b.set(slot, 100 + h.cpu.s[MODE])  # the mode at translation time

            return emit

        pc = h.program(
            lambda b, pc: b.call(helper, b.get(1)),
            mode_dependent(7),
            lambda b, pc: b.call(helper, 0),
            mode_dependent(8),
        )
        self._run_ok(h, pc, {1: 1, MODE: 0})
        assert (h.s[7], h.s[8], h.s[MODE]) == (101, 100, 0)
        self._run_ok(h, pc, {1: 2, MODE: 0})
        assert (h.s[7], h.s[8], h.s[MODE]) == (102, 100, 0)
        seen = []
        probe = Helper(lambda cpu: seen.append(cpu.s[7]), state=True, name="probe")
        pc2 = h.program(
            lambda b, pc: b.call(helper, 3), mode_dependent(7), lambda b, pc: b.call(probe)
        )
        self._run_ok(h, pc2, {MODE: 0})
        assert seen == [103]
        h.s[MODE] = 0

    # -- floating point ------------------------------------------------------------------------

    @staticmethod
    def _fp_insn(op: str, fmt: str, n: int, rm, flags: int | None) -> Emit:
        w = FP_WIDTH[fmt]

        def emit(b, pc):
            args = [b.get(1 + i, w) for i in range(n)]
            if op in ("feq", "flt", "fle"):
                r = getattr(b, op)(fmt, *args, flags=flags)
                assert r.width == 1
            else:
                r = getattr(b, op)(fmt, *args, rm() if callable(rm) else rm, flags=flags)
                assert r.width == w
            b.set(5, b.zext(r, 64) if r.width < 64 else r)

        return emit

    @pytest.mark.parametrize(("op", "fmt", "args", "rm", "bits", "flags"), FP_CASES)
    def test_fp_cases(self, engine_factory, op, fmt, args, rm, bits, flags):
        h = self._harness(engine_factory)
        regs = {1 + i: a for i, a in enumerate(args)}
        pc = h.program(self._fp_insn(op, fmt, len(args), rm, FFLAGS))
        self._run_ok(h, pc, {**regs, FFLAGS: 0})
        assert (h.s[5], h.s[FFLAGS]) == (bits, flags)
        # flags accrue (OR) into what the slot held; flags=None leaves it alone
        self._run_ok(h, pc, {**regs, FFLAGS: 0x20 | DZ})
        assert h.s[FFLAGS] == 0x20 | DZ | flags
        pc = h.program(self._fp_insn(op, fmt, len(args), rm, None))
        self._run_ok(h, pc, {**regs, FFLAGS: 0x40})
        assert (h.s[5], h.s[FFLAGS]) == (bits, 0x40)

    def test_fp_dynamic_rounding_mode(self, engine_factory):
        h = self._harness(engine_factory)

        def emit(b, pc):
            r = b.fdiv("f32", b.get(1, 32), b.get(2, 32), b.get(4, 8), flags=FFLAGS)
            b.set(5, b.zext(r, 64))
            r64 = b.fdiv("f64", b.get(6), b.get(7), b.get(4, 8), flags=FFLAGS)
            b.set(8, r64)

        pc = h.program(emit)
        expect = {
            RNE: (0x3EAAAAAB, 0x3FD5555555555555),
            RTZ: (0x3EAAAAAA, 0x3FD5555555555555),
            RDN: (0x3EAAAAAA, 0x3FD5555555555555),
            RUP: (0x3EAAAAAB, 0x3FD5555555555556),
            RMM: (0x3EAAAAAB, 0x3FD5555555555555),
        }
        for rm, (f32, f64) in expect.items():
            regs = {1: 0x3F800000, 2: 0x40400000, 4: rm, 6: 0x3FF0000000000000}
            self._run_ok(h, pc, {**regs, 7: 0x4008000000000000, FFLAGS: 0})
            assert (h.s[5], h.s[8], h.s[FFLAGS]) == (f32, f64, NX), rm

    @pytest.mark.parametrize("case", FP_CONVERSIONS)
    def test_fp_conversions(self, engine_factory, case):
        kind, fmt, to, a, rm, bits, flags = case
        h = self._harness(engine_factory)

        def emit(b, pc):
            if kind == "ff":
                r = b.fcvt_ff(fmt, to, b.get(1, FP_WIDTH[fmt]), rm, flags=FFLAGS)
                assert r.width == FP_WIDTH[to]
            elif kind == "fi":
                r = b.fcvt_fi(fmt, b.get(1, FP_WIDTH[fmt]), to[0], to[1], rm, flags=FFLAGS)
                assert r.width == to[0]
            else:
                r = b.fcvt_if(fmt, b.get(1, to[0]), to[1], rm, flags=FFLAGS)
                assert r.width == FP_WIDTH[fmt]
            b.set(5, b.zext(r, 64) if r.width < 64 else r)

        self._run_ok(h, h.program(emit), {1: a, FFLAGS: 0})
        assert (h.s[5], h.s[FFLAGS]) == (bits, flags)

    def test_fp_binary64_vs_host(self, engine_factory):
        h = self._harness(engine_factory)
        pcs = {
            op: h.program(self._fp_insn(op, "f64", 2, RNE, FFLAGS))
            for op in "fadd fsub fmul fdiv".split()
        }
        pcs["fsqrt"] = h.program(self._fp_insn("fsqrt", "f64", 1, RNE, FFLAGS))
        host = {
            "fadd": lambda x, y: (x + y, Fraction(x) + Fraction(y)),
            "fsub": lambda x, y: (x - y, Fraction(x) - Fraction(y)),
            "fmul": lambda x, y: (x * y, Fraction(x) * Fraction(y)),
            "fdiv": lambda x, y: (x / y, Fraction(x) / Fraction(y)),
            "fsqrt": lambda x, y: (math.sqrt(x), None),
        }

        @given(
            st.sampled_from(sorted(host)),
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(allow_nan=False, allow_infinity=False),
        )
        @_SETTINGS
        def check(op, x, y):
            if op == "fdiv" and y == 0 or op == "fsqrt" and x < 0:
                return
            r, exact = host[op](x, y)
            if not math.isfinite(r):
                return
            self._run_ok(h, pcs[op], {1: _fbits(x), 2: _fbits(y), FFLAGS: 0})
            assert h.s[5] == _fbits(r)
            if exact is not None and abs(r) > 2.0**-1022:
                assert h.s[FFLAGS] == (0 if exact == Fraction(r) else NX)

        check()

    # -- exits ---------------------------------------------------------------------------------

    def test_goto(self, engine_factory):
        h = self._harness(engine_factory)
        target = h.program(lambda b, pc: b.set(6, 1))
        pc = h.program(lambda b, pc: (b.set(5, 1), b.goto(target)), lambda b, pc: b.set(7, 1))
        self._run_ok(h, pc, {5: 0, 6: 0, 7: 0})
        assert (h.s[5], h.s[6], h.s[7]) == (1, 1, 0)

    def test_goto_ind(self, engine_factory):
        h = self._harness(engine_factory)
        t1 = h.program(lambda b, pc: b.set(6, 1))
        t2 = h.program(lambda b, pc: b.set(6, 2))
        pc = h.program(lambda b, pc: b.goto(b.add(b.get(1), 0)), lambda b, pc: b.set(6, 3))
        for target, mark in ((t1, 1), (t2, 2), (pc + 4, 3), (t1, 1)):
            self._run_ok(h, pc, {1: target, 6: 0})
            assert h.s[6] == mark

    @pytest.mark.parametrize("cond", ["reg", "cmp", "const"])
    def test_branch(self, engine_factory, cond):
        h = self._harness(engine_factory)
        taken = h.program(lambda b, pc: b.set(6, 1))
        fall = h.program(lambda b, pc: b.set(6, 2))

        def make(v):
            def emit(b, pc):
                if cond == "reg":
                    c = b.get(1, 1)
                elif cond == "cmp":
                    c = b.slt(b.get(1), 0)
                else:
                    c = b.const(v & 1, 1)
                b.branch(c, taken, fall)

            return emit

        shared = h.program(make(None), halt=False)
        for v in (1, 0, M64, 2, 1 << 63):
            expect = 1 if (v >> 63 if cond == "cmp" else v & 1) else 2
            pc = h.program(make(v), halt=False) if cond == "const" else shared
            self._run_ok(h, pc, {1: v, 6: 0})
            assert h.s[6] == expect, (cond, v)

    # -- self-modifying code --------------------------------------------------------------------

    @pytest.mark.parametrize("mmu", ["flat", "slow"])
    @pytest.mark.parametrize("how", ["aligned", "crossing", "wide", "host"])
    def test_self_modifying_code(self, engine_factory, mmu, how):
        self._need(128 if how == "wide" else 64)
        h = self._harness(engine_factory, mmu)
        page = h.new_page() + PAGE_SIZE  # leave the page before it free of code
        h._next_pc = page
        target = h.program(lambda b, pc: b.set(5, 1))
        new = h.opcode(lambda b, pc: b.set(5, 2))
        h.new_page()
        self._run_ok(h, target, {5: 0})
        assert h.s[5] == 1
        self._run_ok(h, target, {5: 0})  # runs from the translation cache
        assert h.s[5] == 1
        if how == "host":
            h.machine.bus.write_bytes(target, new.to_bytes(4, "little"))
            self._run_ok(h, target, {5: 0})
            assert h.s[5] == 2
            return

        def patch(b, pc):
            if how == "aligned":
                b.store(b.const(target), b.const(new, 32))
            elif how == "crossing":  # an 8-byte store starting in the page before
                b.store(b.const(target - 4), b.const(new << 32 | 0xCAFE, 64))
            else:
                word = (h.read(target + 4, 4) << 96) | (new << 64) | 0xCAFE
                b.store(b.const(target - 8), b.const(word, 128))
            b.goto(target)

        self._run_ok(h, h.program(patch, halt=False), {5: 0})
        assert h.s[5] == 2
        assert h.read(target, 4) == new

    @pytest.mark.parametrize("mmu", ["flat", "slow"])
    def test_store_into_code_retires_each_instruction_once(self, engine_factory, mmu):
        """A store into a page holding code, in the middle of a block: the block may stop
        after it (its rest may be stale) and go on from a new translation, but every
        instruction is counted once (the retired count is what icount timers and
        ``vmctl bench`` go by)."""
        h = self._harness(engine_factory, mmu)
        page = h.new_page() + PAGE_SIZE
        h._next_pc = page
        first = h.program(lambda b, pc: b.set(5, 7))  # a translated block on the page
        self._run_ok(h, first)

        def patch(b, pc):  # rewrites ``first`` with the same word: a write to a code page
            b.store(b.const(first), b.const(h.read(first, 4), 32))

        def bump(b, pc):
            b.set(6, b.add(b.get(6), 1))

        pc = h.program(patch, bump, bump, bump)  # the same page: one block, then halt
        for _ in range(2):  # and again from the translation cache
            before = h.cpu.instret
            self._run_ok(h, pc, {6: 0})
            assert h.s[6] == 3
            assert h.cpu.instret - before == 5, "patch, 3 bumps and the halt, once each"

    def test_store_rewrites_the_next_instruction_of_its_block(self, engine_factory):
        """A store that rewrites the instruction right after it in the same block: that
        instruction runs as rewritten (the block stops after the store), counted once.
        (On main RAM through an identity MMU, where engines check stores against code
        pages inline; through the slow path a block runs on as translated, as ISAs that
        ask for a fence before fetching written code allow.)"""
        h = self._harness(engine_factory)
        h._next_pc = h.new_page() + PAGE_SIZE
        new = h.opcode(lambda b, pc: b.set(5, 2))

        def patch(b, pc):
            b.store(b.const(pc + 4), b.const(new, 32))

        start = h.program(patch, lambda b, pc: b.set(5, 1))
        old = h.read(start + 4, 4)
        for _ in range(3):  # translated, then from the caches (and native code, if any)
            h.machine.bus.write_bytes(start + 4, old.to_bytes(4, "little"))
            before = h.cpu.instret
            self._run_ok(h, start, {5: 0})
            assert h.s[5] == 2
            assert h.cpu.instret - before == 3, "patch, the rewritten one and the halt"

    def test_stores_just_below_a_code_page(self, engine_factory):
        """A hot loop storing into the last bytes of the page before its own code: every
        store lands and no translation is dropped (an engine may look at the next page's
        code first, as the jit does, but must not take such a store for a code write)."""
        h = self._harness(engine_factory)
        data = h.new_page()
        h._next_pc = start = end = data + PAGE_SIZE  # the loop starts where the data ends
        h.place(lambda b, pc: b.store(b.const(end - 8), b.get(1)))
        h.place(lambda b, pc: b.store(b.const(end - 12), b.trunc(b.get(1), 32)))
        h.place(lambda b, pc: b.store(b.const(end - 1), b.trunc(b.get(1), 8)))
        h.place(lambda b, pc: b.set(1, b.add(b.get(1), 1)))
        h.place(lambda b, pc: b.branch(b.ult(b.get(1), 300), start, pc + 4))
        h.place(halt_insn)
        before = h.cpu.instret
        self._run_ok(h, start, {1: 0})
        assert h.s[1] == 300 and h.cpu.instret - before == 300 * 5 + 1
        assert h.read(end - 12, 4) == h.read(end - 8, 7) == 299
        assert h.read(end - 1, 1) == 299 & 0xFF
        assert h.machine.engine.stats["invalidations"] == 0

    def test_store_crossing_into_a_code_page(self, engine_factory):
        """A misaligned store whose last bytes rewrite the first instruction of the next
        page, which has run before: that instruction runs as rewritten."""
        h = self._harness(engine_factory)
        page = h.new_page()
        h._next_pc = page + PAGE_SIZE
        target = h.program(lambda b, pc: b.set(5, 1))
        new = h.opcode(lambda b, pc: b.set(5, 2))
        h.new_page()
        h._next_pc += PAGE_SIZE
        store_and_go = h.program(
            lambda b, pc: b.store(b.const(target - 4), b.const(new << 32, 64)),
            lambda b, pc: b.goto(target),
            halt=False,
        )
        for _ in range(3):  # translated, then from the caches (and native code, if any)
            self._run_ok(h, target, {5: 0})
            assert h.s[5] == 1
        self._run_ok(h, store_and_go, {5: 0})
        assert h.s[5] == 2 and h.read(target - 4, 8) == new << 32

    def test_self_modifying_loop(self, engine_factory):
        """A hot loop rewrites one of its own later blocks, then runs it."""
        h = self._harness(engine_factory)
        start = h.new_page()
        h.place(lambda b, pc: b.set(1, b.add(b.get(1), 1)))
        h.place(lambda b, pc: b.goto(pc + 4))
        patched = h.place(lambda b, pc: b.set(2, b.add(b.get(2), 1)))
        doubled = h.opcode(lambda b, pc: b.set(2, b.add(b.get(2), 100)))

        def maybe_patch(b, pc):
            c = b.eq(b.get(1), 10)
            addr = b.select(c, b.const(patched), b.const(DATA))
            b.store(addr, b.const(doubled, 32))
            b.branch(b.ult(b.get(1), 20), start, pc + 4)

        h.place(maybe_patch)
        h.place(halt_insn)
        self._run_ok(h, start, {1: 0, 2: 0})
        assert h.s[2] == 10 + 100 * 10

    # -- stop requests and interrupts ---------------------------------------------------------

    def _counted(self, h: IRHarness, n: int, poke_at: int, offset: int) -> int:
        """One block of ``n`` instructions each counting in r9 (the one at ``poke_at`` also
        writes the probe register ``offset``), then a halt."""

        def make(i):
            def emit(b, pc):
                if i == poke_at:
                    b.store(b.const(MMIO_BASE + offset), b.const(1, 32))
                b.set(9, b.add(b.get(9), 1))
                if i == n - 1:
                    b.goto(pc + 4)  # the halt is a block of its own

            return emit

        start = h.new_page()
        for i in range(n):
            h.place(make(i))
        h.place(halt_insn)
        return start

    def test_stop_request_leaves_consistent_state(self, engine_factory):
        h = self._harness(engine_factory)
        start = self._counted(h, 10, 3, PROBE_STOP)
        before = h.cpu.instret
        assert h.run(start, {9: 0}) == StopReason.STOP
        done = h.cpu.instret - before
        assert 4 <= done <= 10
        assert h.s[9] == done and h.cpu.pc == start + 4 * done
        assert h.machine.run() == StopReason.HALT
        assert h.s[9] == 10 and h.cpu.instret - before == 11

    def test_interrupt_raised_by_a_device_is_taken_precisely(self, engine_factory):
        """An interrupt made pending by an MMIO write is taken at an instruction boundary
        with consistent state, within the slice (the machine checks between slices at the
        latest; engines may check more often)."""
        h = self._harness(engine_factory)
        start = h.new_page()
        for i in range(10):
            h.place(
                lambda b, pc, i=i: (
                    b.store(b.const(MMIO_BASE + PROBE_IRQ), b.const(1, 32)) if i == 3 else None,
                    b.set(9, b.add(b.get(9), 1)),
                )
            )
        loop = h.place(lambda b, pc: b.goto(pc + 4))
        loop += 4
        h.place(lambda b, pc: b.set(10, b.add(b.get(10), 1)))
        slice_ = h.machine.engine_slice
        h.place(lambda b, pc: b.branch(b.ult(b.get(10), 4 * slice_), loop, pc + 4))
        h.place(halt_insn)
        before = h.cpu.retired()
        assert h.run(start, {9: 0, 10: 0}, limit=10 * slice_) == StopReason.HALT
        assert (h.s[NTRAPS], h.s[CAUSE]) == (1, CAUSE_IRQ)
        n = h.s[10]
        assert h.s[9] == 10 and n < 4 * slice_
        in_loop = {loop: 2 * n, loop + 4: 2 * n - 1}
        assert h.s[EPC] in in_loop or 4 <= (h.s[EPC] - start) // 4 <= 10
        expected = 11 + in_loop[h.s[EPC]] if h.s[EPC] in in_loop else (h.s[EPC] - start) // 4
        assert h.s[TRAP_RETIRED] == before + expected
        assert expected <= slice_ + 11

    # -- budgets ----------------------------------------------------------------------------------

    @pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 7, 63, 64, 65, 128, 130, 1000, 20_001])
    def test_budget_is_exact(self, engine_factory, limit):
        h = self._harness(engine_factory)
        start = h.new_page()
        h.place(lambda b, pc: b.set(1, b.add(b.get(1), 1)))
        h.place(lambda b, pc: b.set(2, b.add(b.get(2), b.get(1))))
        h.place(lambda b, pc: b.goto(start))
        before = h.cpu.instret
        assert h.run(start, {1: 0, 2: 0}, limit=limit) == StopReason.LIMIT
        assert h.cpu.instret - before == limit
        n1 = (limit + 2) // 3  # executions of the first instruction
        n2 = (limit + 1) // 3
        assert h.s[1] == n1
        assert h.s[2] == n2 * (n2 + 1) // 2
        assert h.cpu.pc == start + 4 * (limit % 3)
        # continuing runs exactly as far as one long run would have
        assert h.machine.run(limit=limit + 5) == StopReason.LIMIT
        n1 = (2 * limit + 5 + 2) // 3
        assert h.s[1] == n1 and h.cpu.instret - before == 2 * limit + 5

    @pytest.mark.parametrize("limit", [1, 63, 64, 65, 100, 199])
    def test_budget_in_straight_line_code(self, engine_factory, limit):
        h = self._harness(engine_factory)
        start = h.new_page()
        for _ in range(200):
            h.place(lambda b, pc: b.set(1, b.add(b.get(1), 1)))
        h.place(halt_insn)
        assert h.run(start, {1: 0}, limit=limit) == StopReason.LIMIT
        assert h.s[1] == limit and h.cpu.pc == start + 4 * limit
        assert h.machine.run() == StopReason.HALT
        assert h.s[1] == 200 and h.cpu.instret == 201

    # -- random blocks ---------------------------------------------------------------------------

    def test_random_blocks(self, engine_factory):
        """Random straight-line programs over registers and memory, against a reference
        evaluator of the same instruction list (with a possible trap in the middle)."""
        h = self._harness(engine_factory)
        nregs = 8
        binops = sorted(REF_BINARY)
        unops = sorted(REF_UNARY)
        cmps = ["eq", "ne", "ult", "ule", "slt", "sle"]
        width = st.sampled_from([8, 16, 32, 64])
        reg = st.integers(1, nregs)
        insn = st.one_of(
            st.tuples(st.just("bin"), st.sampled_from(binops), width, reg, reg, reg),
            st.tuples(st.just("un"), st.sampled_from(unops), width, reg, reg, reg),
            st.tuples(st.just("cmp"), st.sampled_from(cmps), width, reg, reg, reg),
            st.tuples(st.just("sext"), st.sampled_from([8, 16, 32]), width, reg, reg, reg),
            st.tuples(st.just("sel"), st.sampled_from(cmps), width, reg, reg, reg),
            st.tuples(
                st.just("ld"), st.integers(0, 56), st.sampled_from([8, 16, 32, 64]), reg, reg, reg
            ),
            st.tuples(
                st.just("st"), st.integers(0, 56), st.sampled_from([8, 16, 32, 64]), reg, reg, reg
            ),
            st.tuples(st.just("trap"), st.sampled_from(cmps), width, reg, reg, reg),
        )
        val = st.one_of(st.integers(0, M64), st.sampled_from([0, 1, M64, 1 << 63, 63, 64]))

        def emitter(ins):
            kind, op, w, d, x, y = ins

            def emit(b, pc):
                if kind in ("ld", "st"):
                    addr = b.const(DATA + op)
                    if kind == "ld":
                        b.set(d, b.zext(b.load(w, addr), 64) if w < 64 else b.load(w, addr))
                    else:
                        b.store(addr, b.get(x, w))
                    return
                a, c = b.get(x, w), b.get(y, w)
                if kind == "bin":
                    r = _method(b, op)(a, c)
                elif kind == "un":
                    r = _method(b, op)(a)
                elif kind == "cmp":
                    r = _method(b, op)(a, c)
                elif kind == "sext":
                    r = b.sext(b.trunc(a, op), w) if op < w else a
                elif kind == "sel":
                    r = b.select(_method(b, op)(a, c), c, a)
                else:
                    b.trap_if(_method(b, op)(a, c), CAUSE_TEST, pc)
                    return
                b.set(d, b.zext(r, 64) if r.width < 64 else r)

            return emit

        def reference(prog, regs, mem):
            s = dict(regs)
            mem = bytearray(mem)
            for i, (kind, op, w, d, x, y) in enumerate(prog):
                if kind == "ld":
                    s[d] = int.from_bytes(mem[op : op + w // 8], "little")
                    continue
                if kind == "st":
                    mem[op : op + w // 8] = (s[x] & mask(w)).to_bytes(w // 8, "little")
                    continue
                a, c = s[x] & mask(w), s[y] & mask(w)
                if kind == "bin":
                    r = REF_BINARY[op](a, c, w)
                elif kind == "un":
                    r = REF_UNARY[op](a, w)
                elif kind == "cmp":
                    r = int(REF_COMPARE[op](a, c, w))
                elif kind == "sext":
                    r = (_signed(a & mask(op), op) % (1 << w)) if op < w else a
                elif kind == "sel":
                    r = c if REF_COMPARE[op](a, c, w) else a
                else:
                    if REF_COMPARE[op](a, c, w):
                        return s, mem, i
                    continue
                s[d] = r
            return s, mem, None

        @given(
            st.lists(insn, min_size=1, max_size=24), st.lists(val, min_size=nregs, max_size=nregs)
        )
        @_SETTINGS
        def check(prog, values):
            regs = {i + 1: v for i, v in enumerate(values)}
            mem0 = bytes((i * 29 + 7) & 0xFF for i in range(64))
            h.machine.bus.write_bytes(DATA, mem0)
            pc = h.program(*[emitter(ins) for ins in prog])
            before = h.cpu.retired()
            assert h.run(pc, regs) == StopReason.HALT
            s, mem, trapped = reference(prog, regs, mem0)
            assert [h.s[i] for i in range(1, nregs + 1)] == [s[i] for i in range(1, nregs + 1)]
            assert h.machine.bus.read_bytes(DATA, 64) == bytes(mem)
            if trapped is None:
                assert h.s[NTRAPS] == 0
                assert h.cpu.retired() == before + len(prog) + 1
            else:
                assert (h.s[NTRAPS], h.s[EPC]) == (1, pc + 4 * trapped)
                assert h.s[TRAP_RETIRED] == before + trapped

        check()

    # -- the suite itself -------------------------------------------------------------------------

    def test_suite_covers_every_op(self):
        assert set(OP_COVERAGE) == set(OPS)
        for tests in OP_COVERAGE.values():
            for name in tests.split(", "):
                if not name.endswith("*"):
                    assert callable(getattr(self, name, None)), name
