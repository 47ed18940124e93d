"""A toy ISA exercising every IR op, for testing engines against interp.

Encoding (32-bit words): op = bits 0-7, rd = 8-11, rs = 12-15, rt = 16-19, imm = 20-31
(signed). Registers r0-r7 (slots 0-7), pc slot 8, fflags slot 9, cause/tval/epc/tvec
slots 10-13, a helper counter slot 14.
"""

from __future__ import annotations

from vmcore import FlatMmu, GuestTrap, Helper, Isa, Machine, Reg, RegisterFile, to_signed
from vmcore.ir import Access

PC, FFLAGS, CAUSE, TVAL, EPC, TVEC, COUNT = 8, 9, 10, 11, 12, 13, 14

LI, ADD, ADDI, LD, ST, BNE, JR, TRAP, ALU, CALLS, HALT, LDA, FADD, TRAPIF, PURE = range(15)
LDB, STB, ERET, LD16, ST16, ST32A, FCVT, ALU2, NOP, BEQ = range(15, 25)

#: ALU sub-ops (imm bits 0-5) and widths (imm bits 6-8)
ALU_OPS = [
    "add", "sub", "mul", "mulhu", "mulhs", "mulhsu", "udiv", "sdiv", "urem", "srem",
    "and", "or", "xor", "shl", "lshr", "ashr", "rotl", "rotr",
    "eq", "ne", "ult", "ule", "slt", "sle",
    "not", "neg", "clz", "ctz", "popcnt", "bswap", "sext", "select",
]  # fmt: skip
ALU_WIDTHS = [1, 8, 16, 32, 64, 128]


def enc(op: int, rd: int = 0, rs: int = 0, rt: int = 0, imm: int = 0) -> int:
    return op | rd << 8 | rs << 12 | rt << 16 | (imm & 0xFFF) << 20


def alu(name: str, width: int, rd: int, rs: int, rt: int) -> int:
    return enc(ALU, rd, rs, rt, ALU_OPS.index(name) | ALU_WIDTHS.index(width) << 6)


def _count(cpu, x):
    cpu.s[COUNT] += x + cpu.retired()
    return cpu.s[COUNT] & 0xFFFF


def _halt(cpu):
    cpu.machine.halt(cpu.s[0] & 0xFF)


def _pure(a, b):
    return (a * 31 + b) & 0xFFFFFFFF


COUNT_H = Helper(_count, width=64, state=True, name="count")
HALT_H = Helper(_halt, state=True, ends_block=True, name="halt")
PURE_H = Helper(_pure, width=32, name="pure")


class Toy(Isa):
    name = "toy"
    regs = RegisterFile(
        [Reg(f"r{i}", i) for i in range(8)]
        + [Reg("pc", PC, group="pc"), Reg("fflags", FFLAGS, group="sys")]
        + [Reg(n, s, group="sys") for n, s in (("cause", 10), ("tval", 11), ("epc", 12))]
        + [Reg("tvec", TVEC, group="sys"), Reg("count", COUNT, group="sys")],
        pc=PC,
        nslots=15,
    )

    def reset(self, cpu, pc):
        cpu.s[:] = [0] * 15
        cpu.pc = pc

    def lift(self, b, cpu, pc):
        w = cpu.fetch(pc, 4)
        b.insn(pc, 4, w)
        op, rd, rs, rt = w & 0xFF, (w >> 8) & 0xF, (w >> 12) & 0xF, (w >> 16) & 0xF
        imm = to_signed(w >> 20, 12)
        g = b.get
        if op == LI:
            b.set(rd, b.const(imm))
        elif op == ADD:
            b.set(rd, b.add(g(rs), g(rt)))
        elif op == ADDI:
            b.set(rd, b.add(g(rs), imm))
        elif op in (LD, LDB, LD16, LDA):
            width = {LD: 64, LDB: 8, LD16: 16, LDA: 32}[op]
            v = b.load(width, b.add(g(rs), imm), aligned=op == LDA)
            b.set(rd, b.zext(v, 64))
        elif op in (ST, STB, ST16, ST32A):
            width = {ST: 64, STB: 8, ST16: 16, ST32A: 32}[op]
            b.store(b.add(g(rs), imm), b.trunc(g(rt), width), aligned=op == ST32A)
        elif op in (BNE, BEQ):
            c = b.ne(g(rs), g(rt)) if op == BNE else b.eq(g(rs), g(rt))
            b.branch(c, pc + 4 * imm, pc + 4)
        elif op == JR:
            b.goto(g(rs))
        elif op == TRAP:
            b.trap(imm & 0xFF, pc)
        elif op == TRAPIF:
            b.trap_if(b.eq(g(rs), 0), 3, g(rt))
        elif op == CALLS:
            b.set(rd, b.call(COUNT_H, g(rs)))
        elif op == HALT:
            b.call(HALT_H)
            b.goto(pc + 4)
        elif op == PURE:
            b.set(rd, b.zext(b.call(PURE_H, g(rs), g(rt)), 64))
        elif op == FADD:
            b.set(rd, b.fadd("f64", g(rs), g(rt), imm & 7, flags=FFLAGS))
        elif op == FCVT:
            f = b.fcvt_if("f32", g(rs), True, 0, flags=FFLAGS)
            i = b.fcvt_fi("f32", f, 32, True, 1, flags=FFLAGS)
            b.set(rd, b.sext(i, 64))
        elif op == ERET:
            b.goto(b.add(g(EPC), 4))
        elif op == ALU:
            self._alu(b, rd, rs, rt, imm & 0xFFF)
        elif op == NOP:
            pass
        else:
            b.trap(2, w)
        return 4

    def _alu(self, b, rd, rs, rt, imm):
        name = ALU_OPS[(imm & 63) % len(ALU_OPS)]
        width = ALU_WIDTHS[((imm >> 6) & 7) % len(ALU_WIDTHS)]
        if name == "bswap" and width == 1:
            name = "popcnt"
        if width == 128:
            a = b.get(rs & 6, 128)
            c = b.get(rt & 6, 128)
        else:
            a = b.trunc(b.get(rs), width)
            c = b.trunc(b.get(rt), width)
        if name in ("not", "neg", "clz", "ctz", "popcnt", "bswap"):
            r = getattr(b, name + "_" if name == "not" else name)(a)
        elif name == "sext":
            r = b.sext(b.trunc(a, 1), width) if width > 1 else a
        elif name == "select":
            r = b.select(b.trunc(b.get(rd), 1), a, c)
        else:
            r = getattr(b, {"and": "and_", "or": "or_"}.get(name, name))(a, c)
        if width == 128:
            b.set(rd & 6, b.zext(r, 128), 128)
        else:
            b.set(rd, b.zext(r, 64))

    def enter_trap(self, cpu, trap, pc):
        cpu.s[CAUSE] = trap.cause
        cpu.s[TVAL] = trap.tval & 0xFFFFFFFFFFFFFFFF
        cpu.s[EPC] = pc
        if cpu.s[TVEC] == 0:
            cpu.machine.halt(100 + trap.cause)
            return pc
        return cpu.s[TVEC]

    def bus_fault(self, err):
        return GuestTrap(5, err.addr)

    def misaligned(self, access, addr):
        return GuestTrap(4 if access == Access.LOAD else 6, addr)


class Mmio:
    """A device answering reads with a counter, recording writes; writing 0xdead halts."""

    def __init__(self, machine):
        self.machine = machine
        self.reads = 0
        self.writes = []

    def mmio_read(self, offset, size):
        self.reads += 1
        return (0x1122334455667788 + self.reads + offset) & ((1 << (8 * size)) - 1)

    def mmio_write(self, offset, size, value):
        self.writes.append((offset, size, value))
        if value == 0xDEAD:
            self.machine.halt(7)


BASE = 0x1000
MMIO_BASE = 0x100000


def make_machine(engine, words, data=None, ram=0x40000):
    m = Machine(Toy(), engine, FlatMmu)
    m.bus.add_ram(BASE, ram)
    m.dev = Mmio(m)
    m.bus.add_mmio(MMIO_BASE, 0x1000, m.dev, "mmio")
    code = b"".join(w.to_bytes(4, "little") for w in words)
    m.bus.write_bytes(BASE, code)
    for addr, blob in (data or {}).items():
        m.bus.write_bytes(addr, blob)
    m.reset(BASE)
    return m
