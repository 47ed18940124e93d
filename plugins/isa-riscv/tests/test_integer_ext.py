"""Known-value tests for M, A, C, Zifencei, Zba, Zbb and Zbs, on every installed engine.

Zba/Zbb/Zbs are also checked against the reference semantics below (Unicorn 2.1.4 lacks
them), written from the specification's pseudo-code.
"""

from __future__ import annotations

import pytest
import rvutil as U
from hypothesis import given, settings
from hypothesis import strategies as st
from rvutil import DATA, MASK64, run

from vmcore_isa_riscv import csr
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.traps import Cause

M64 = MASK64
MIN64 = 1 << 63
MIN32 = 0xFFFFFFFF80000000
A, B, D = 11, 12, 10  # rs1, rs2, rd in the one-instruction tests


@pytest.fixture(scope="module", params=U.engines())
def engine(request):
    return request.param


def one(engine, word, a, b=0, **kw):
    cpu = run([word], regs={A: a, B: b}, engine=engine, **kw)
    assert U.trapped(cpu) is None
    return cpu.s[D]


def sx32(v):
    v &= 0xFFFFFFFF
    return (v ^ 0x80000000) - 0x80000000 & M64


# -- M ------------------------------------------------------------------------------------------

M_CASES = [
    ("div", 7, 0, M64), ("divu", 7, 0, M64), ("rem", 7, 0, 7), ("remu", 7, 0, 7),
    ("div", MIN64, M64, MIN64), ("rem", MIN64, M64, 0),
    ("div", -7 & M64, 2, -3 & M64), ("rem", -7 & M64, 2, -1 & M64),
    ("divu", -7 & M64, 2, (M64 - 6) // 2), ("remu", 9, 4, 1),
    ("divw", 7, 0, M64), ("divuw", 7, 0, M64), ("remw", 0x1_8000_0000, 0, MIN32),
    ("remuw", 0x1_8000_0000, 0, MIN32), ("divw", 0x80000000, M64, MIN32),
    ("remw", 0x80000000, M64, 0), ("divuw", 0xFFFF_FFFF_FFFF_FFFF, 1, M64),
    ("divuw", 0x1_0000_0010, 0x2_0000_0004, 4), ("remuw", 0x1_0000_0011, 0x2_0000_0004, 1),
    ("mul", 1 << 32, 1 << 32, 0), ("mul", M64, 3, M64 - 2),
    ("mulh", M64, M64, 0), ("mulh", MIN64, MIN64, 1 << 62), ("mulh", MIN64, 1, M64),
    ("mulhu", M64, M64, M64 - 1), ("mulhu", MIN64, 2, 1),
    ("mulhsu", M64, M64, M64), ("mulhsu", 1, M64, 0), ("mulhsu", MIN64, 2, M64),
    ("mulw", 0x7FFFFFFF, 2, M64 - 1), ("mulw", 0x1_0001_0000, 0x10000, 0),
]  # fmt: skip


@pytest.mark.parametrize("name,a,b,want", M_CASES)
def test_m_known_values(engine, name, a, b, want):
    assert one(engine, U.rr(name, D, A, B), a, b) == want


# -- Zba / Zbb / Zbs against reference semantics ----------------------------------------------


def _rot(v, n, w):
    n %= w
    v &= (1 << w) - 1
    return ((v << n) | (v >> (w - n))) & ((1 << w) - 1)


def _s64(v):
    return v - (1 << 64) if v >> 63 else v


def _ctz(v, w):
    v &= (1 << w) - 1
    return (v & -v).bit_length() - 1 if v else w


REF_RR = {
    "add.uw": lambda a, b: (a & 0xFFFFFFFF) + b,
    "sh1add": lambda a, b: (a << 1) + b,
    "sh2add": lambda a, b: (a << 2) + b,
    "sh3add": lambda a, b: (a << 3) + b,
    "sh1add.uw": lambda a, b: ((a & 0xFFFFFFFF) << 1) + b,
    "sh2add.uw": lambda a, b: ((a & 0xFFFFFFFF) << 2) + b,
    "sh3add.uw": lambda a, b: ((a & 0xFFFFFFFF) << 3) + b,
    "andn": lambda a, b: a & ~b,
    "orn": lambda a, b: a | ~b,
    "xnor": lambda a, b: ~(a ^ b),
    "max": lambda a, b: a if _s64(a) >= _s64(b) else b,
    "min": lambda a, b: a if _s64(a) <= _s64(b) else b,
    "maxu": max,
    "minu": min,
    "rol": lambda a, b: _rot(a, b & 63, 64),
    "ror": lambda a, b: _rot(a, -(b & 63), 64),
    "rolw": lambda a, b: sx32(_rot(a, b & 31, 32)),
    "rorw": lambda a, b: sx32(_rot(a, -(b & 31), 32)),
    "bclr": lambda a, b: a & ~(1 << (b & 63)),
    "bext": lambda a, b: (a >> (b & 63)) & 1,
    "binv": lambda a, b: a ^ (1 << (b & 63)),
    "bset": lambda a, b: a | (1 << (b & 63)),
}
REF_SHIFT = {
    "slli.uw": lambda a, s: (a & 0xFFFFFFFF) << s,
    "rori": lambda a, s: _rot(a, -s, 64),
    "roriw": lambda a, s: sx32(_rot(a, -(s & 31), 32)),
    "bclri": lambda a, s: a & ~(1 << s),
    "bexti": lambda a, s: (a >> s) & 1,
    "binvi": lambda a, s: a ^ (1 << s),
    "bseti": lambda a, s: a | (1 << s),
}
REF_UNARY = {
    "clz": lambda a: 64 - a.bit_length(),
    "ctz": lambda a: _ctz(a, 64),
    "cpop": lambda a: a.bit_count(),
    "clzw": lambda a: 32 - (a & 0xFFFFFFFF).bit_length(),
    "ctzw": lambda a: _ctz(a, 32),
    "cpopw": lambda a: (a & 0xFFFFFFFF).bit_count(),
    "sext.b": lambda a: (a & 0xFF ^ 0x80) - 0x80,
    "sext.h": lambda a: (a & 0xFFFF ^ 0x8000) - 0x8000,
    "zext.h": lambda a: a & 0xFFFF,
    "orc.b": lambda a: sum(0xFF << i for i in range(0, 64, 8) if (a >> i) & 0xFF),
    "rev8": lambda a: int.from_bytes(a.to_bytes(8, "little"), "big"),
}
WIDE = st.one_of(
    st.integers(0, M64),
    st.sampled_from([0, 1, M64, MIN64, MIN64 - 1, 0xFFFFFFFF, 0x80000000, 0xFF00, 0x7F]),
    st.integers(0, 255).map(lambda i: 1 << (i % 64)),
    st.integers(0, 2**16 - 1).map(lambda i: i << 48),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(REF_RR)), WIDE, WIDE)
def test_zb_register_ops(engine, name, a, b):
    assert one(engine, U.rr(name, D, A, B), a, b) == REF_RR[name](a, b) & M64


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(REF_SHIFT)), WIDE, st.integers(0, 63))
def test_zb_immediate_ops(engine, name, a, shamt):
    if name == "roriw":
        shamt &= 31
    assert one(engine, U.shift(name, D, A, shamt), a) == REF_SHIFT[name](a, shamt) & M64


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(REF_UNARY)), WIDE)
def test_zb_unary_ops(engine, name, a):
    assert one(engine, U.unary(name, D, A), a) == REF_UNARY[name](a) & M64


ZB_CASES = [
    ("clz", 0, 64), ("clz", 1, 63), ("clz", M64, 0), ("ctz", 0, 64), ("ctz", MIN64, 63),
    ("clzw", 0xFFFF_FFFF_0000_0000, 32), ("clzw", 0x8000, 16), ("ctzw", 0x1_0000_0000, 32),
    ("cpop", M64, 64), ("cpopw", M64, 32), ("rev8", 0x0102030405060708, 0x0807060504030201),
    ("orc.b", 0x0001_0200_0000_8000, 0x00FF_FF00_0000_FF00), ("orc.b", 0, 0),
    ("sext.b", 0x80, M64 - 0x7F), ("sext.h", 0x1_7FFF, 0x7FFF), ("zext.h", M64, 0xFFFF),
]  # fmt: skip


@pytest.mark.parametrize("name,a,want", ZB_CASES)
def test_zbb_known_values(engine, name, a, want):
    assert one(engine, U.unary(name, D, A), a) == want


def test_rotates_and_bits_known_values(engine):
    assert one(engine, U.rr("rol", D, A, B), MIN64 | 1, 65) == 3
    assert one(engine, U.rr("rorw", D, A, B), 1, 1) == MIN32
    assert one(engine, U.shift("roriw", D, A, 4), 0x1_0000_0012) == 0x20000001
    assert one(engine, U.rr("bext", D, A, B), MIN64, 127) == 1
    assert one(engine, U.shift("binvi", D, A, 63), 0) == MIN64
    assert one(engine, U.rr("sh3add.uw", D, A, B), 0xFFFF_FFFF_0000_0001, 1) == 9
    assert one(engine, U.shift("slli.uw", D, A, 63), 0xFFFF_FFFF_0000_0001) == MIN64


# -- A -----------------------------------------------------------------------------------------


def test_lr_sc_succeeds_once(engine):
    data = (0xFFFF_FFFF_8000_0001).to_bytes(8, "little")
    cpu = run(
        [U.amo("lr.w", 5, 10, 0), U.amo("sc.w", 6, 10, 11), U.amo("sc.w", 7, 10, 12)],
        regs={10: DATA, 11: 0x1234, 12: 0x5678, 6: 99, 7: 99},
        data=data,
        engine=engine,
    )
    assert (cpu.s[5], cpu.s[6], cpu.s[7]) == (0xFFFF_FFFF_8000_0001, 0, 1)
    assert cpu.bus.read(DATA, 8) == 0xFFFF_FFFF_0000_1234
    assert cpu.s[R.RESERVATION] == R.RESERVATION_NONE


def test_sc_without_reservation_fails(engine):
    cpu = run([U.amo("sc.d", 6, 10, 11)], regs={10: DATA, 11: 7}, data=b"\x05" * 8, engine=engine)
    assert cpu.s[6] == 1 and cpu.bus.read(DATA, 8) == 0x0505050505050505


def test_sc_elsewhere_fails_and_drops_the_reservation(engine):
    cpu = run(
        [U.amo("lr.d", 5, 10, 0), U.amo("sc.d", 6, 13, 11), U.amo("sc.d", 7, 10, 11)],
        regs={10: DATA, 13: DATA + 8, 11: 7},
        engine=engine,
    )
    assert (cpu.s[6], cpu.s[7]) == (1, 1)
    assert cpu.bus.read(DATA, 16) == 0


def test_trap_drops_the_reservation(engine):
    cpu = run(
        [U.amo("lr.d", 5, 10, 0), U.EBREAK, U.amo("sc.d", 6, 10, 11)],
        regs={10: DATA, 11: 7},
        mtvec=U.CODE + 8,
        limit=6,
        engine=engine,
    )
    assert U.trapped(cpu)[0] == Cause.BREAKPOINT
    assert cpu.s[6] == 1 and cpu.bus.read(DATA, 8) == 0


AMO_CASES = [
    ("amoswap.w", 0x8000_0000, 5, MIN32, 5),
    ("amoadd.w", 0xFFFF_FFFF, 2, M64, 1),
    ("amoadd.d", M64, 2, M64, 1),
    ("amoxor.d", 0xF0, 0xFF, 0xF0, 0x0F),
    ("amoand.w", 0xF0, 0x1_0000_003C, 0xF0, 0x30),
    ("amoor.d", 0xF0, 0x0F, 0xF0, 0xFF),
    ("amomin.w", 0x8000_0000, 1, MIN32, 0x8000_0000),
    ("amominu.w", 0x8000_0000, 1, MIN32, 1),
    ("amomax.d", M64, 1, M64, 1),
    ("amomaxu.d", M64, 1, M64, M64),
    ("amomin.d", 5, M64, 5, M64),
    ("amomaxu.w", 7, 0xFFFF_FFFF_0000_0003, 7, 7),
]


@pytest.mark.parametrize("name,old,src,rd,new", AMO_CASES)
def test_amo_known_values(engine, name, old, src, rd, new):
    size = 4 if name.endswith(".w") else 8
    data = old.to_bytes(size, "little") + b"\xaa" * 4
    cpu = run([U.amo(name, 5, 10, 11, 1, 1)], regs={10: DATA, 11: src}, data=data, engine=engine)
    assert U.trapped(cpu) is None
    assert cpu.s[5] == rd
    assert cpu.bus.read(DATA, size) == new
    assert cpu.bus.read(DATA + size, 4) == 0xAAAAAAAA


def test_amo_with_rd_equal_rs2_and_x0(engine):
    cpu = run(
        [U.amo("amoswap.d", 11, 10, 11), U.amo("amoadd.d", 0, 12, 11)],
        regs={10: DATA, 11: 5, 12: DATA + 8},
        data=(9).to_bytes(8, "little") + (1).to_bytes(8, "little"),
        engine=engine,
    )
    assert cpu.s[11] == 9
    assert cpu.bus.read(DATA, 8) == 5 and cpu.bus.read(DATA + 8, 8) == 10


@pytest.mark.parametrize(
    "word,addr,cause",
    [
        (U.amo("amoadd.w", 5, 10, 11), DATA + 2, Cause.STORE_MISALIGNED),
        (U.amo("amoswap.d", 5, 10, 11), DATA + 4, Cause.STORE_MISALIGNED),
        (U.amo("lr.d", 5, 10, 0), DATA + 4, Cause.LOAD_MISALIGNED),
        (U.amo("lr.w", 5, 10, 0), DATA + 1, Cause.LOAD_MISALIGNED),
        (U.amo("sc.w", 5, 10, 11), DATA + 2, Cause.STORE_MISALIGNED),
        (U.amo("amoor.d", 5, 10, 11), 0x1000, Cause.STORE_ACCESS),
        (U.amo("amomax.w", 5, 10, 11), 0x1000, Cause.STORE_ACCESS),
        (U.amo("lr.w", 5, 10, 0), 0x1000, Cause.LOAD_ACCESS),
        (U.amo("amoadd.d", 5, 10, 11), 0x1000_0000, Cause.STORE_ACCESS),
        # an SC passes a store's permission checks even when it fails (no reservation)
        (U.amo("sc.w", 5, 10, 11), 0x1000, Cause.STORE_ACCESS),
        (U.amo("sc.d", 5, 10, 11), 0x1000_0000, Cause.STORE_ACCESS),
    ],
)
def test_amo_faults(engine, word, addr, cause):
    def rom(cpu):
        cpu.bus.add_rom(0x1000_0000, b"\x01" * 64)

    cpu = run([word], regs={10: addr, 11: 3, 5: 42}, engine=engine, prepare=rom)
    assert U.trapped(cpu) == (cause, addr)
    assert U.csr(cpu, U.MEPC) == U.CODE
    assert cpu.s[5] == 42
    assert cpu.bus.read(DATA, 8) == 0
    if addr == 0x1000_0000:
        assert cpu.bus.read(addr, 8) == 0x0101010101010101


# -- C -----------------------------------------------------------------------------------------


def c(word):
    return ("c", word)


def test_c_arithmetic_expansions(engine):
    cpu = run(
        [
            c(U.c_addi4spn(1, 1020)),
            c(U.c_ci(3, 1, 5, -1 << 12, "17|16:12")),
            c(U.c_ci(3, 1, 6, 31 << 12, "17|16:12")),
            c(U.c_ci(2, 1, 7, -32)),
            c(U.c_ci(1, 1, 12, 1)),
            c(U.c_shift("srai", 5, 63)),
            c(U.c_shift("srli", 6, 63)),
            c(U.c_shift("andi", 7, -16 & 63)),
            c(U.c_ci(0, 2, 14, 63)),
            c(U.c_ca(0x23, 0, 4, 7)),
            c(U.c_ca(0x27, 1, 1, 1)),
            c(U.c_cr(8, 16, 5)),
            c(U.c_cr(9, 16, 16)),
            c(U.c_addi16sp(-512)),
        ],
        regs={2: DATA + 0x1000, 12: 0x7FFF_FFFF, 13: -1 & M64, 14: 1, 15: 5},
        engine=engine,
    )
    s = cpu.s
    assert s[9] == sx32(2 * (DATA + 0x1000 + 1020))
    assert s[5] == 0xFFFF_FFFF_FFFF_F000
    assert s[6] == 0x1F000
    assert s[7] == M64 - 31
    assert s[12] == MIN32
    assert s[13] == M64
    assert s[14] == 0
    assert s[15] == 0
    assert s[16] == 2 * s[5] & M64
    assert s[2] == DATA + 0x1000 - 512


def test_c_shift_and_sub_values(engine):
    cpu = run(
        [c(U.c_shift("srai", 5, 63)), c(U.c_shift("srli", 6, 63)), c(U.c_ca(0x23, 0, 7, 4))],
        regs={13: MIN64, 14: MIN64, 15: 10, 12: 3},
        engine=engine,
    )
    assert (cpu.s[13], cpu.s[14], cpu.s[15]) == (M64, 1, 7)


def test_c_loads_stores(engine):
    data = bytes(range(256)) * 4
    cpu = run(
        [
            c(U.c_cl(3, 0, 1, 0, 248, "5:3|7:6")),
            c(U.c_cl(2, 0, 2, 0, 124, "5:3|2|6")),
            c(U.c_ci(3, 2, 5, 504, "5|4:3|8:6")),
            c(U.c_ci(2, 2, 6, 252, "5|4:2|7:6")),
            c(U.c_css(7, 9, 8, "5:3|8:6")),
            c(U.c_css(6, 10, 4, "5:2|7:6")),
            c(U.c_cl(7, 0, 3, 0, 16, "5:3|7:6")),
            c(U.c_cl(6, 0, 3, 0, 24, "5:3|2|6")),
        ],
        regs={2: DATA, 8: DATA + 256, 11: 0x1122334455667788},
        data=data,
        engine=engine,
    )
    assert U.trapped(cpu) is None
    assert cpu.s[9] == int.from_bytes(data[504:512], "little")
    assert cpu.s[10] == sx32(int.from_bytes(data[380:384], "little"))
    assert cpu.s[5] == int.from_bytes(data[504:512], "little")
    assert cpu.s[6] == sx32(int.from_bytes(data[252:256], "little"))
    assert cpu.bus.read(DATA + 8, 8) == cpu.s[9]
    assert cpu.bus.read(DATA + 4, 4) == cpu.s[10] & 0xFFFFFFFF
    assert cpu.bus.read(DATA + 256 + 16, 8) == 0x1122334455667788
    assert cpu.bus.read(DATA + 256 + 24, 4) == 0x55667788


def test_c_control_flow(engine):
    cpu = run(
        [
            c(U.c_cb(6, 1, 4)),
            c(U.c_ci(2, 1, 5, 1)),
            c(U.c_cb(7, 1, 4)),
            c(U.c_ci(2, 1, 6, 1)),
            c(U.c_j(4)),
            c(U.c_ci(2, 1, 7, 1)),
            c(U.c_cr(9, 12, 0)),
            c(U.c_ci(2, 1, 28, 1)),
            c(U.c_ci(2, 1, 29, 1)),
        ],
        regs={9: 0, 12: U.CODE + 16},
        engine=engine,
        limit=9,
    )
    assert (cpu.s[5], cpu.s[6], cpu.s[7], cpu.s[28], cpu.s[29]) == (0, 1, 0, 0, 1)
    assert cpu.s[1] == U.CODE + 14


def test_c_jr_and_jalr(engine):
    cpu = run(
        [c(U.c_cr(9, 12, 0)), c(U.c_ci(2, 1, 5, 9)), c(U.c_j(4)), c(U.c_cr(8, 1, 0))],
        regs={12: U.CODE + 6},
        engine=engine,
        limit=4,
    )
    assert cpu.s[1] == U.CODE + 2
    assert cpu.s[5] == 9
    assert cpu.pc == U.CODE + 8


def test_c_ebreak_reports_pc(engine):
    cpu = run([c(U.C_NOP), c(0x9002)], engine=engine)
    assert U.trapped(cpu) == (Cause.BREAKPOINT, U.CODE + 2)


RESERVED = {
    "all zero": 0x0000,
    "c.addi4spn imm 0": 0x0004,
    "quadrant 0 funct3 100": 0x8000,
    "c.addiw rd 0": 0x2005,
    "c.lui imm 0": 0x6281,
    "c.lui rd 0 imm 0": 0x6001,
    "c.addi16sp imm 0": 0x6101,
    "c.subw funct2 10": 0x9C41,
    "c.subw funct2 11": 0x9C61,
    "c.lwsp rd 0": 0x4002,
    "c.ldsp rd 0": 0x6012,
    "c.jr rs1 0": 0x8002,
}


@pytest.mark.parametrize("half", RESERVED.values(), ids=RESERVED.keys())
def test_c_reserved_is_illegal_with_16_bit_mtval(engine, half):
    cpu = run([c(U.C_NOP), c(half)], engine=engine)
    assert U.trapped(cpu) == (Cause.ILLEGAL_INSN, half)
    assert U.csr(cpu, U.MEPC) == U.CODE + 2


def test_c_fp_with_fs_off_is_illegal(engine):
    c_fldsp = U.c_ci(1, 2, 5, 8, "5|4:3|8:6")
    cpu = run([c(c_fldsp)], regs={2: DATA}, engine=engine)
    assert U.trapped(cpu) == (Cause.ILLEGAL_INSN, c_fldsp)


def test_c_fp_loads_and_stores(engine):
    def fp_on(cpu):
        cpu.s[R.MSTATUS] |= csr.FS_DIRTY

    data = (0x400921FB54442D18).to_bytes(8, "little")
    cpu = run(
        [
            c(U.c_ci(1, 2, 5, 0, "5|4:3|8:6")),
            c(U.c_cl(1, 0, 1, 0, 0, "5:3|7:6")),
            c(U.c_css(5, 5, 16, "5:3|8:6")),
            c(U.c_cl(5, 0, 1, 0, 24, "5:3|7:6")),
        ],
        regs={2: DATA, 8: DATA},
        data=data,
        engine=engine,
        prepare=fp_on,
    )
    assert U.trapped(cpu) is None
    assert cpu.s[R.F0 + 5] == cpu.s[R.F0 + 9] == 0x400921FB54442D18
    assert cpu.bus.read(DATA + 16, 8) == cpu.bus.read(DATA + 24, 8) == 0x400921FB54442D18


# -- Zifencei ----------------------------------------------------------------------------------


def test_fence_i_flushes_translations(engine):
    m = U.make_machine(engine)
    run([U.ri("addi", 5, 0, 1)], machine=m)
    cpu = run([U.ri("addi", 5, 0, 1), U.FENCE_I, U.ri("addi", 6, 5, 1)], machine=m)
    assert (cpu.s[5], cpu.s[6]) == (1, 2)
    assert m.engine.stats["flushes"] >= 2


def test_fence_i_after_code_write(engine):
    new = U.ri("addi", 6, 0, 7)
    code = [
        U.ri("addi", 7, 7, 1),
        U.store("sw", 11, 10, 0),
        U.FENCE_I,
        U.ri("addi", 6, 0, 1),
        U.branch("beq", 7, 12, -16),
    ]
    cpu = run(code, regs={10: U.CODE + 12, 11: new, 12: 1}, engine=engine, limit=12)
    assert cpu.s[6] == 7 and cpu.s[7] == 2
