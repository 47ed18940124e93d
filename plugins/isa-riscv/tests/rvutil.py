"""Test helpers: encode RISC-V instructions from fields and run snippets on a small machine.

The encoders here are written from the specification's format tables, independently of
the plugin's decoder tables, so the tests can catch a wrong table line.
"""

from __future__ import annotations

import struct

from vmcore import FlatMmu, Machine
from vmcore.plugins import get_registry
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.isa import RiscV64

CODE = 0x8000_0000
DATA = 0x8010_0000
RAM_SIZE = 2 << 20
MASK64 = (1 << 64) - 1

MCAUSE, MTVAL, MEPC, MTVEC = 0x342, 0x343, 0x341, 0x305


def engines() -> list[str]:
    """Every installed engine (the registry's), for parametrising tests."""
    return [c.name for c in get_registry().all("engine")]


def engine_factory(name: str):
    return get_registry().get("engine", name).load()


# -- 32-bit encoders -------------------------------------------------------------------------

OP, OP_32, OP_IMM, OP_IMM_32 = 0x33, 0x3B, 0x13, 0x1B
LOAD, STORE, BRANCH, AMO = 0x03, 0x23, 0x63, 0x2F


def r_type(funct7, funct3, opcode, rd, rs1, rs2):
    return funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def i_type(funct3, opcode, rd, rs1, imm):
    return (imm & 0xFFF) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def s_type(funct3, opcode, rs1, rs2, imm):
    imm &= 0xFFF
    return (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 31) << 7 | opcode


def b_type(funct3, rs1, rs2, imm):
    v = imm & 0x1FFF
    hi = (v >> 12) << 6 | (v >> 5) & 0x3F
    lo = (v >> 1) & 0xF
    return hi << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (lo << 1 | (v >> 11) & 1) << 7 | BRANCH


def u_type(opcode, rd, imm):
    return (imm & 0xFFFFF000) | rd << 7 | opcode


def j_type(rd, imm):
    v = imm & 0x1FFFFF
    bits = (
        (v >> 20) << 31 | ((v >> 1) & 0x3FF) << 21 | ((v >> 11) & 1) << 20 | (v >> 12 & 0xFF) << 12
    )
    return bits | rd << 7 | 0x6F


#: R-type register-register instructions: name -> (funct7, funct3, opcode)
R_OPS = {
    "add": (0x00, 0, OP), "sub": (0x20, 0, OP), "sll": (0x00, 1, OP), "slt": (0x00, 2, OP),
    "sltu": (0x00, 3, OP), "xor": (0x00, 4, OP), "srl": (0x00, 5, OP), "sra": (0x20, 5, OP),
    "or": (0x00, 6, OP), "and": (0x00, 7, OP),
    "addw": (0x00, 0, OP_32), "subw": (0x20, 0, OP_32), "sllw": (0x00, 1, OP_32),
    "srlw": (0x00, 5, OP_32), "sraw": (0x20, 5, OP_32),
    "mul": (0x01, 0, OP), "mulh": (0x01, 1, OP), "mulhsu": (0x01, 2, OP), "mulhu": (0x01, 3, OP),
    "div": (0x01, 4, OP), "divu": (0x01, 5, OP), "rem": (0x01, 6, OP), "remu": (0x01, 7, OP),
    "mulw": (0x01, 0, OP_32), "divw": (0x01, 4, OP_32), "divuw": (0x01, 5, OP_32),
    "remw": (0x01, 6, OP_32), "remuw": (0x01, 7, OP_32),
    "add.uw": (0x04, 0, OP_32), "sh1add": (0x10, 2, OP), "sh2add": (0x10, 4, OP),
    "sh3add": (0x10, 6, OP), "sh1add.uw": (0x10, 2, OP_32), "sh2add.uw": (0x10, 4, OP_32),
    "sh3add.uw": (0x10, 6, OP_32),
    "andn": (0x20, 7, OP), "orn": (0x20, 6, OP), "xnor": (0x20, 4, OP),
    "max": (0x05, 6, OP), "maxu": (0x05, 7, OP), "min": (0x05, 4, OP), "minu": (0x05, 5, OP),
    "rol": (0x30, 1, OP), "ror": (0x30, 5, OP), "rolw": (0x30, 1, OP_32), "rorw": (0x30, 5, OP_32),
    "bclr": (0x24, 1, OP), "bext": (0x24, 5, OP), "binv": (0x34, 1, OP), "bset": (0x14, 1, OP),
}  # fmt: skip

#: register-immediate instructions: name -> (funct3, opcode)
I_OPS = {
    "addi": (0, OP_IMM), "slti": (2, OP_IMM), "sltiu": (3, OP_IMM), "xori": (4, OP_IMM),
    "ori": (6, OP_IMM), "andi": (7, OP_IMM), "addiw": (0, OP_IMM_32),
}  # fmt: skip

#: shifts by immediate: name -> (top bits of the immediate field, funct3, opcode, shamt bits)
SHIFT_OPS = {
    "slli": (0x000, 1, OP_IMM, 6), "srli": (0x000, 5, OP_IMM, 6), "srai": (0x400, 5, OP_IMM, 6),
    "slliw": (0x000, 1, OP_IMM_32, 5), "srliw": (0x000, 5, OP_IMM_32, 5),
    "sraiw": (0x400, 5, OP_IMM_32, 5), "rori": (0x600, 5, OP_IMM, 6),
    "roriw": (0x600, 5, OP_IMM_32, 5), "slli.uw": (0x080, 1, OP_IMM_32, 6),
    "bclri": (0x480, 1, OP_IMM, 6), "bexti": (0x480, 5, OP_IMM, 6),
    "binvi": (0x680, 1, OP_IMM, 6), "bseti": (0x280, 1, OP_IMM, 6),
}  # fmt: skip

#: one-source instructions: name -> (12-bit immediate field, funct3, opcode)
UNARY_OPS = {
    "clz": (0x600, 1, OP_IMM), "ctz": (0x601, 1, OP_IMM), "cpop": (0x602, 1, OP_IMM),
    "sext.b": (0x604, 1, OP_IMM), "sext.h": (0x605, 1, OP_IMM),
    "clzw": (0x600, 1, OP_IMM_32), "ctzw": (0x601, 1, OP_IMM_32), "cpopw": (0x602, 1, OP_IMM_32),
    "zext.h": (0x080, 4, OP_32), "orc.b": (0x287, 5, OP_IMM), "rev8": (0x6B8, 5, OP_IMM),
}  # fmt: skip

LOADS = {"lb": (0, 1), "lh": (1, 2), "lw": (2, 4), "ld": (3, 8),
         "lbu": (4, 1), "lhu": (5, 2), "lwu": (6, 4)}  # fmt: skip
STORES = {"sb": (0, 1), "sh": (1, 2), "sw": (2, 4), "sd": (3, 8)}
BRANCHES = {"beq": 0, "bne": 1, "blt": 4, "bge": 5, "bltu": 6, "bgeu": 7}
AMO_OPS = {"amoswap": 0x01, "amoadd": 0x00, "amoxor": 0x04, "amoand": 0x0C, "amoor": 0x08,
           "amomin": 0x10, "amomax": 0x14, "amominu": 0x18, "amomaxu": 0x1C}  # fmt: skip


def rr(name, rd, rs1, rs2):
    return r_type(*R_OPS[name], rd, rs1, rs2)


def ri(name, rd, rs1, imm):
    return i_type(*I_OPS[name], rd, rs1, imm)


def shift(name, rd, rs1, shamt):
    top, f3, opcode, nbits = SHIFT_OPS[name]
    return i_type(f3, opcode, rd, rs1, top | (shamt & ((1 << nbits) - 1)))


def unary(name, rd, rs1):
    imm, f3, opcode = UNARY_OPS[name]
    return i_type(f3, opcode, rd, rs1, imm)


def load(name, rd, rs1, imm):
    return i_type(LOADS[name][0], LOAD, rd, rs1, imm)


def store(name, rs2, rs1, imm):
    return s_type(STORES[name][0], STORE, rs1, rs2, imm)


def branch(name, rs1, rs2, imm):
    return b_type(BRANCHES[name], rs1, rs2, imm)


def amo(name, rd, rs1, rs2, aq=0, rl=0):
    """``amoadd.w``, ``lr.d``, ``sc.w`` ..."""
    op, _, size = name.partition(".")
    funct5 = {"lr": 0x02, "sc": 0x03}.get(op, AMO_OPS.get(op))
    funct7 = funct5 << 2 | aq << 1 | rl
    return r_type(funct7, {"w": 2, "d": 3}[size], AMO, rd, rs1, rs2)


def lui(rd, imm):
    return u_type(0x37, rd, imm)


def jal(rd, imm):
    return j_type(rd, imm)


def jalr(rd, rs1, imm):
    return i_type(0, 0x67, rd, rs1, imm)


def csrrw(rd, csr, rs1):
    return csr << 20 | rs1 << 15 | 1 << 12 | rd << 7 | 0x73


FENCE_I = 0x0000100F
EBREAK = 0x00100073
JUMP_SELF = 0x0000006F
C_NOP = 0x0001


# -- 16-bit encoders -------------------------------------------------------------------------


def scatter(value: int, spec: str) -> int:
    """Place immediate ``value``'s bits as the spec's ``"5:3|8:6"`` lists them (MSB first)."""
    out = 0
    bits = []
    for part in spec.split("|"):
        hi, _, lo = part.partition(":")
        bits += range(int(hi), int(lo or hi) - 1, -1)
    for i, b in enumerate(bits):
        out |= ((value >> b) & 1) << (len(bits) - 1 - i)
    return out


def c_ci(funct3, op, rd, imm, spec="5|4:0"):
    """CI format: imm bit 12, rd 11:7, imm 6:2."""
    f = scatter(imm, spec)
    return funct3 << 13 | (f >> 5) << 12 | rd << 7 | (f & 31) << 2 | op


def c_cl(funct3, op, rdp, rs1p, imm, spec):
    """CL/CS formats: imm 12:10, rs1' 9:7, imm 6:5, rd'/rs2' 4:2 (spec: 5 bits, high 3 first)."""
    f = scatter(imm, spec)
    return funct3 << 13 | (f >> 2) << 10 | rs1p << 7 | (f & 3) << 5 | rdp << 2 | op


def c_css(funct3, rs2, imm, spec):
    return funct3 << 13 | scatter(imm, spec) << 7 | rs2 << 2 | 2


def c_ca(funct6, funct2, rdp, rs2p):
    return funct6 << 10 | rdp << 7 | funct2 << 5 | rs2p << 2 | 1


def c_cb(funct3, rs1p, imm):
    f = scatter(imm, "8|4:3|7:6|2:1|5")
    return funct3 << 13 | (f >> 5) << 10 | rs1p << 7 | (f & 31) << 2 | 1


def c_j(imm):
    return 5 << 13 | scatter(imm, "11|4|9:8|10|6|7|3:1|5") << 2 | 1


def c_addi4spn(rdp, imm):
    return scatter(imm, "5:4|9:6|2|3") << 5 | rdp << 2


def c_addi16sp(imm):
    f = scatter(imm, "9|4|6|8:7|5")
    return 3 << 13 | (f >> 5) << 12 | 2 << 7 | (f & 31) << 2 | 1


def c_shift(kind, rdp, shamt):
    """c.srli / c.srai: funct2 0 / 1 in bits 11:10."""
    funct2 = {"srli": 0, "srai": 1, "andi": 2}[kind]
    return 4 << 13 | (shamt >> 5 & 1) << 12 | funct2 << 10 | rdp << 7 | (shamt & 31) << 2 | 1


def c_cr(funct4, rd, rs2):
    return funct4 << 12 | rd << 7 | rs2 << 2 | 2


# -- running ---------------------------------------------------------------------------------


def assemble(words) -> bytes:
    """Items are 32-bit ints, or ``("c", halfword)`` for a compressed instruction."""
    out = b""
    for w in words:
        if isinstance(w, tuple):
            out += struct.pack("<H", w[1])
        else:
            out += struct.pack("<I", w)
    return out


def make_machine(engine: str = "interp") -> Machine:
    m = Machine(RiscV64(), engine_factory(engine), FlatMmu)
    m.bus.add_ram(CODE, RAM_SIZE)
    return m


def run(
    code,
    regs: dict[int, int] | None = None,
    data: bytes = b"",
    engine: str = "interp",
    limit: int | None = None,
    mtvec: int | None = None,
    machine: Machine | None = None,
    prepare=None,
):
    """Run ``code`` (bytes or encoder items) at CODE, followed by ``j .``; return the cpu.

    ``regs`` sets x registers; ``data`` is copied to DATA. ``mtvec`` (default: the final
    ``j .``, 4-aligned) is where traps go, so a trap ends the run there too.
    ``prepare(cpu)`` runs after reset, before the first instruction.
    """
    if not isinstance(code, bytes):
        code = assemble(code)
    if len(code) % 4:
        code += struct.pack("<H", C_NOP)
    code += struct.pack("<I", JUMP_SELF)
    m = machine or make_machine(engine)
    m.bus.write_bytes(CODE, code)
    if data:
        m.bus.write_bytes(DATA, data)
    m.reset(CODE)
    cpu = m.cpus[0]
    end = CODE + len(code) - 4
    cpu.arch.csrs.values[MTVEC] = end if mtvec is None else mtvec
    for i, v in (regs or {}).items():
        if i:
            cpu.s[i] = v & MASK64
    if prepare is not None:
        prepare(cpu)
    m.run(limit=limit if limit is not None else len(code) // 2 + 2)
    return cpu


def x(cpu, i: int) -> int:
    return cpu.s[i]


def csr(cpu, num: int) -> int:
    return cpu.arch.csrs.values.get(num, 0)


def trapped(cpu) -> tuple[int, int] | None:
    """(mcause, mtval) if the run took a trap, else None."""
    if csr(cpu, MEPC) == 0:
        return None
    return csr(cpu, MCAUSE), csr(cpu, MTVAL)


RESERVATION = R.RESERVATION
