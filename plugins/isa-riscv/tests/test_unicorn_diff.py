"""Random RV64IMAC instruction streams on vmcore (every installed engine) against Unicorn.

Streams are encoded from fields (no assembler). They stay comparable: control flow only
jumps forward, loads and stores stay inside one data page (x8 points into it, sp near its
start, neither is ever written), AMOs are aligned and LR/SC come in pairs with no memory
access between them. Every integer register, the pc and the data page are compared.
Unicorn 2.1.4 (QEMU 5) has no Zba/Zbb/Zbs: those are checked against reference semantics
in ``test_integer_ext.py``.
"""

from __future__ import annotations

import random
import struct

import pytest
import rvutil as U
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV64, Uc
from unicorn import riscv_const as UR

DATA_SIZE = 4096
X8 = U.DATA + 2048
SP = U.DATA + 0x100
WRITABLE = [r for r in range(32) if r not in (2, 8)]
WRITABLE_C = list(range(9, 16))  # x9-x15 as 3-bit fields 1-7
SCRATCH = 31

INTERESTING = [0, 1, 2, U.MASK64, 1 << 63, (1 << 63) - 1, 0x80000000, 0x7FFFFFFF, 0xFFFFFFFF,
               0xFFFFFFFF80000000, 0x100000000, 3, U.MASK64 - 1]  # fmt: skip

reg = st.integers(0, 31)
wreg = st.sampled_from(WRITABLE)
cwreg = st.sampled_from([r - 8 for r in WRITABLE_C])
creg = st.integers(0, 7)
imm12 = st.integers(-2048, 2047)
imm6 = st.integers(-32, 31)
value = st.one_of(st.integers(0, U.MASK64), st.sampled_from(INTERESTING))


def aligned_offset(draw, size, lo=-2048, hi=2047):
    return draw(st.integers(lo // size, (hi - size + 1) // size)) * size


@st.composite
def alu(draw):
    kind = draw(st.sampled_from(["r", "m", "m", "i", "shift", "lui", "auipc"]))
    rd = draw(wreg)
    if kind in ("r", "m"):
        names = sorted(RR - MUL_DIV if kind == "r" else MUL_DIV)
        return [U.rr(draw(st.sampled_from(names)), rd, draw(reg), draw(reg))]
    if kind == "i":
        return [U.ri(draw(st.sampled_from(sorted(U.I_OPS))), rd, draw(reg), draw(imm12))]
    if kind == "shift":
        name = draw(st.sampled_from(["slli", "srli", "srai", "slliw", "srliw", "sraiw"]))
        return [U.shift(name, rd, draw(reg), draw(st.integers(0, 63)))]
    imm = draw(st.integers(0, 0xFFFFF)) << 12
    return [U.u_type(0x37 if kind == "lui" else 0x17, rd, imm)]


RR = set(list(U.R_OPS)[: list(U.R_OPS).index("remuw") + 1])
MUL_DIV = {n for n in RR if U.R_OPS[n][0] == 0x01}


@st.composite
def memory(draw):
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(U.LOADS)))
        size = U.LOADS[name][1]
        off = draw(st.integers(-2048, 2047 - size + 1))
        return [U.load(name, draw(wreg), 8, off)]
    name = draw(st.sampled_from(sorted(U.STORES)))
    off = draw(st.integers(-2048, 2047 - U.STORES[name][1] + 1))
    return [U.store(name, draw(reg), 8, off)]


@st.composite
def atomic(draw):
    size = draw(st.sampled_from(["w", "d"]))
    n = 4 if size == "w" else 8
    setup = U.ri("addi", SCRATCH, 8, aligned_offset(draw, n))
    aq, rl = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    kind = draw(st.sampled_from(["amo", "amo", "amo", "lrsc", "sc"]))
    if kind == "amo":
        op = draw(st.sampled_from(sorted(U.AMO_OPS)))
        return [setup, U.amo(f"{op}.{size}", draw(wreg), SCRATCH, draw(reg), aq, rl)]
    if kind == "sc":
        return [setup, U.amo(f"sc.{size}", draw(wreg), SCRATCH, draw(reg), aq, rl)]
    between = [w for _ in range(draw(st.integers(0, 3))) for w in draw(alu())]
    between = [w for w in between if (w >> 7) & 31 != SCRATCH]
    elsewhere = [U.ri("addi", SCRATCH, SCRATCH, n)] if draw(st.integers(0, 3)) == 0 else []
    rd = draw(st.sampled_from([r for r in WRITABLE if r != SCRATCH]))
    return [
        setup,
        U.amo(f"lr.{size}", rd, SCRATCH, 0, aq, rl),
        *between,
        *elsewhere,
        U.amo(f"sc.{size}", draw(wreg), SCRATCH, draw(reg), aq, rl),
    ]


@st.composite
def compressed(draw):
    kind = draw(st.sampled_from(sorted(C_KINDS)))
    return [("c", C_KINDS[kind](draw))]


def _c_lui(draw):
    v = draw(st.integers(-32, 31).filter(bool))
    return U.c_ci(3, 1, draw(st.sampled_from([r for r in WRITABLE if r])), v << 12, "17|16:12")


#: (funct6, funct2) of c.sub, c.xor, c.or, c.and, c.subw, c.addw
C_ALU = [(0x23, 0), (0x23, 1), (0x23, 2), (0x23, 3), (0x27, 0), (0x27, 1)]

C_KINDS = {
    "addi": lambda d: U.c_ci(0, 1, d(wreg), d(imm6)),
    "addiw": lambda d: U.c_ci(1, 1, d(st.sampled_from(WRITABLE[1:])), d(imm6)),
    "li": lambda d: U.c_ci(2, 1, d(wreg), d(imm6)),
    "lui": _c_lui,
    "slli": lambda d: U.c_ci(0, 2, d(wreg), d(st.integers(0, 63))),
    "srli": lambda d: U.c_shift("srli", d(cwreg), d(st.integers(0, 63))),
    "srai": lambda d: U.c_shift("srai", d(cwreg), d(st.integers(0, 63))),
    "andi": lambda d: U.c_shift("andi", d(cwreg), d(imm6) & 63),
    "alu": lambda d: U.c_ca(*d(st.sampled_from(C_ALU)), d(cwreg), d(creg)),
    "mv": lambda d: U.c_cr(8, d(wreg), d(st.integers(1, 31))),
    "add": lambda d: U.c_cr(9, d(wreg), d(st.integers(1, 31))),
    "addi4spn": lambda d: U.c_addi4spn(d(cwreg), 4 * d(st.integers(1, 255))),
    "lw": lambda d: U.c_cl(2, 0, d(cwreg), 0, 4 * d(st.integers(0, 31)), "5:3|2|6"),
    "ld": lambda d: U.c_cl(3, 0, d(cwreg), 0, 8 * d(st.integers(0, 31)), "5:3|7:6"),
    "sw": lambda d: U.c_cl(6, 0, d(creg), 0, 4 * d(st.integers(0, 31)), "5:3|2|6"),
    "sd": lambda d: U.c_cl(7, 0, d(creg), 0, 8 * d(st.integers(0, 31)), "5:3|7:6"),
    "lwsp": lambda d: U.c_ci(2, 2, d(st.sampled_from(WRITABLE[1:])), 4 * d(st.integers(0, 63)),
                             "5|4:2|7:6"),
    "ldsp": lambda d: U.c_ci(3, 2, d(st.sampled_from(WRITABLE[1:])), 8 * d(st.integers(0, 63)),
                             "5|4:3|8:6"),
    "swsp": lambda d: U.c_css(6, d(reg), 4 * d(st.integers(0, 63)), "5:2|7:6"),
    "sdsp": lambda d: U.c_css(7, d(reg), 8 * d(st.integers(0, 63)), "5:3|8:6"),
    "nop": lambda d: U.C_NOP,
}  # fmt: skip


@st.composite
def jump(draw):
    """A forward branch or jump, resolved once the stream is laid out."""
    skip = draw(st.integers(0, 4))
    kind = draw(st.sampled_from(["b", "b", "jal", "c.b", "c.j"]))
    if kind == "b":
        name = draw(st.sampled_from(sorted(U.BRANCHES)))
        rs1, rs2 = draw(reg), draw(reg)
        return [("fwd", 4, skip, lambda off: U.branch(name, rs1, rs2, off))]
    if kind == "jal":
        rd = draw(wreg)
        return [("fwd", 4, skip, lambda off: U.jal(rd, off))]
    if kind == "c.b":
        funct3, rs1 = draw(st.sampled_from([6, 7])), draw(creg)
        return [("fwd", 2, skip, lambda off: U.c_cb(funct3, rs1, off))]
    return [("fwd", 2, skip, lambda off: U.c_j(off))]


def layout(pieces) -> bytes:
    """Resolve forward jumps: ``skip`` pieces are jumped over (the target may be the end).

    Jumps land only between pieces, so an AMO never runs without its address set-up.
    """

    def size(it):
        if isinstance(it, tuple):
            return it[1] if it[0] == "fwd" else 2
        return 4

    sizes = [sum(size(it) for it in piece) for piece in pieces]
    if sum(sizes) % 4:
        pieces, sizes = [*pieces, [("c", U.C_NOP)]], [*sizes, 2]
    starts = [sum(sizes[:i]) for i in range(len(pieces) + 1)]
    out = b""
    for i, piece in enumerate(pieces):
        for it in piece:
            if isinstance(it, tuple) and it[0] == "fwd":
                _, n, skip, enc = it
                word = enc(starts[min(i + 1 + skip, len(pieces))] - len(out))
                out += struct.pack("<I" if n == 4 else "<H", word)
            elif isinstance(it, tuple):
                out += struct.pack("<H", it[1])
            else:
                out += struct.pack("<I", it)
    return out


@st.composite
def program(draw):
    pieces = st.one_of(alu(), alu(), alu(), memory(), atomic(), compressed(), compressed(),
                       jump())  # fmt: skip
    regs = {r: draw(value) for r in range(1, 32)}
    regs[2], regs[8] = SP, X8
    code = layout(draw(st.lists(pieces, min_size=1, max_size=24)))
    return code, regs, draw(st.integers(0, 2**32 - 1))


def run_unicorn(code: bytes, regs: dict[int, int], data: bytes):
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64)
    uc.mem_map(U.CODE, U.RAM_SIZE)
    uc.mem_write(U.CODE, code)
    uc.mem_write(U.DATA, data)
    for r, v in regs.items():
        uc.reg_write(getattr(UR, f"UC_RISCV_REG_X{r}"), v)
    uc.emu_start(U.CODE, U.CODE + len(code), count=len(code))
    xs = [uc.reg_read(getattr(UR, f"UC_RISCV_REG_X{r}")) & U.MASK64 for r in range(1, 32)]
    return xs, uc.reg_read(UR.UC_RISCV_REG_PC), bytes(uc.mem_read(U.DATA, DATA_SIZE))


@pytest.fixture(scope="module", params=U.engines())
def engine(request):
    return request.param


@settings(max_examples=200, deadline=None)
@given(program())
def test_random_streams_match_unicorn(engine, prog):
    code, regs, seed = prog
    data = random.Random(seed).randbytes(DATA_SIZE)
    want_x, want_pc, want_data = run_unicorn(code, regs, data)
    cpu = U.run(code, regs=regs, data=data, engine=engine)
    assert U.trapped(cpu) is None
    got_x = [cpu.s[r] for r in range(1, 32)]
    assert {f"x{r}": hex(v) for r, v in enumerate(got_x, 1) if v != want_x[r - 1]} == {
        f"x{r}": hex(want_x[r - 1]) for r, v in enumerate(got_x, 1) if v != want_x[r - 1]
    }
    assert cpu.pc == want_pc == U.CODE + len(code)
    assert cpu.bus.read_bytes(U.DATA, DATA_SIZE) == want_data


def test_generator_covers_every_kind():
    """The stream generator can produce each instruction class the diff relies on."""
    assert set(C_KINDS) >= {"addi4spn", "lw", "ld", "sw", "sd", "lwsp", "ldsp", "swsp", "sdsp"}
    assert RR >= {"mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw",
                  "divw", "divuw", "remw", "remuw"}  # fmt: skip
