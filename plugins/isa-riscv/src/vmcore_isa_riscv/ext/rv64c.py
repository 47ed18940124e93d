"""RV64C: compressed instructions, each lifted as the 32-bit instruction it expands to.

A lifter builds the base encoding from its fields and hands it to whatever the 32-bit
decoder maps it to (so c.fld exists exactly when fld does). Immediates are scattered over
the 16 bits: ``_imm`` reads them with the bit lists of the specification's tables.
Reserved encodings (a zero immediate where it must not be, x0 where it must not be) trap as
illegal instructions reporting the 16-bit bits.
"""

from functools import cache

from vmcore_isa_riscv.lifting import Lift, sext

WIDTH = 16

ENCODINGS = """
c.addi4spn 000 imm:8 rd:3 00
c.fld      001 hi:3 rs1:3 lo:2 rd:3 00
c.lw       010 hi:3 rs1:3 lo:2 rd:3 00
c.ld       011 hi:3 rs1:3 lo:2 rd:3 00
c.fsd      101 hi:3 rs1:3 lo:2 rs2:3 00
c.sw       110 hi:3 rs1:3 lo:2 rs2:3 00
c.sd       111 hi:3 rs1:3 lo:2 rs2:3 00
c.nop      000 hi:1 00000 lo:5 01
c.addi     000 hi:1 rd:5 lo:5 01
c.addiw    001 hi:1 rd:5 lo:5 01
c.li       010 hi:1 rd:5 lo:5 01
c.addi16sp 011 hi:1 00010 lo:5 01
c.lui      011 hi:1 rd:5 lo:5 01
c.srli     100 hi:1 00 rd:3 lo:5 01
c.srai     100 hi:1 01 rd:3 lo:5 01
c.andi     100 hi:1 10 rd:3 lo:5 01
c.sub      100 0 11 rd:3 00 rs2:3 01
c.xor      100 0 11 rd:3 01 rs2:3 01
c.or       100 0 11 rd:3 10 rs2:3 01
c.and      100 0 11 rd:3 11 rs2:3 01
c.subw     100 1 11 rd:3 00 rs2:3 01
c.addw     100 1 11 rd:3 01 rs2:3 01
c.j        101 imm:11 01
c.beqz     110 hi:3 rs1:3 lo:5 01
c.bnez     111 hi:3 rs1:3 lo:5 01
c.slli     000 hi:1 rd:5 lo:5 10
c.fldsp    001 hi:1 rd:5 lo:5 10
c.lwsp     010 hi:1 rd:5 lo:5 10
c.ldsp     011 hi:1 rd:5 lo:5 10
c.jr       100 0 rs1:5 00000 10
c.mv       100 0 rd:5 rs2:5 10
c.ebreak   100 1 00000 00000 10
c.jalr     100 1 rs1:5 00000 10
c.add      100 1 rd:5 rs2:5 10
c.fsdsp    101 imm:6 rs2:5 10
c.swsp     110 imm:6 rs2:5 10
c.sdsp     111 imm:6 rs2:5 10
"""

LOAD, LOAD_FP, OP_IMM, OP_IMM_32, STORE, STORE_FP = 0x03, 0x07, 0x13, 0x1B, 0x23, 0x27
OP, LUI, OP_32, BRANCH, JALR, JAL, SYSTEM = 0x33, 0x37, 0x3B, 0x63, 0x67, 0x6F, 0x73
SP = 2


@cache
def _positions(spec: str) -> tuple[tuple[int, ...], ...]:
    """``"5:3 2|6"`` -> immediate bit numbers of each field's bits, most significant first."""
    out = []
    for field in spec.split():
        bits: list[int] = []
        for part in field.split("|"):
            hi, _, lo = part.partition(":")
            bits += range(int(hi), int(lo or hi) - 1, -1)
        out.append(tuple(bits))
    return tuple(out)


def _imm(spec: str, *fields: int) -> int:
    value = 0
    for bits, field in zip(_positions(spec), fields, strict=True):
        for i, pos in enumerate(bits):
            value |= ((field >> (len(bits) - 1 - i)) & 1) << pos
    return value


def _i(opcode, funct3, rd, rs1, imm):
    return (imm & 0xFFF) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def _s(opcode, funct3, rs1, rs2, imm):
    imm &= 0xFFF
    return (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 0x1F) << 7 | opcode


def _r(funct7, funct3, rd, rs1, rs2, opcode=OP):
    return funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def _b(funct3, rs1, rs2, imm):
    v = imm & 0x1FFF
    hi = ((v >> 12) & 1) << 6 | ((v >> 5) & 0x3F)
    lo = ((v >> 1) & 0xF) << 1 | ((v >> 11) & 1)
    return _s(BRANCH, funct3, rs1, rs2, hi << 5 | lo)


def _j(rd, imm):
    v = imm & 0x1FFFFF
    f = ((v >> 20) & 1) << 19 | ((v >> 1) & 0x3FF) << 9 | ((v >> 11) & 1) << 8 | (v >> 12) & 0xFF
    return f << 12 | rd << 7 | JAL


def _expand(c, word):
    """Lift ``c`` as the 32-bit ``word``. A lifter calling this does nothing else, so the
    ISA remembers the expansion and lifts these bits as ``word`` directly next time."""
    isa = c.cpu.isa
    enc, fields = isa.decoder32.lookup(word)
    if enc is None:
        c.illegal()
        return
    isa.expansions[c.bits] = (enc, fields, word)
    enc.payload(Lift(c.b, c.cpu, c.pc, c.length, c.bits, word), **fields)


def _reserved_if(c, cond, word):
    if cond:
        c.illegal()
    else:
        _expand(c, word)


def lift_c_addi4spn(c, imm, rd):
    nzuimm = _imm("5:4|9:6|2|3", imm)
    _reserved_if(c, nzuimm == 0, _i(OP_IMM, 0, rd + 8, SP, nzuimm))


def lift_c_fld(c, hi, rs1, lo, rd):
    _expand(c, _i(LOAD_FP, 3, rd + 8, rs1 + 8, _imm("5:3 7:6", hi, lo)))


def lift_c_lw(c, hi, rs1, lo, rd):
    _expand(c, _i(LOAD, 2, rd + 8, rs1 + 8, _imm("5:3 2|6", hi, lo)))


def lift_c_ld(c, hi, rs1, lo, rd):
    _expand(c, _i(LOAD, 3, rd + 8, rs1 + 8, _imm("5:3 7:6", hi, lo)))


def lift_c_fsd(c, hi, rs1, lo, rs2):
    _expand(c, _s(STORE_FP, 3, rs1 + 8, rs2 + 8, _imm("5:3 7:6", hi, lo)))


def lift_c_sw(c, hi, rs1, lo, rs2):
    _expand(c, _s(STORE, 2, rs1 + 8, rs2 + 8, _imm("5:3 2|6", hi, lo)))


def lift_c_sd(c, hi, rs1, lo, rs2):
    _expand(c, _s(STORE, 3, rs1 + 8, rs2 + 8, _imm("5:3 7:6", hi, lo)))


def lift_c_nop(c, hi, lo):
    """c.nop and the c.addi x0 hints: nothing to do."""


def _imm6(hi, lo):
    return sext(_imm("5 4:0", hi, lo), 6)


def lift_c_addi(c, hi, rd, lo):
    _expand(c, _i(OP_IMM, 0, rd, rd, _imm6(hi, lo)))


def lift_c_addiw(c, hi, rd, lo):
    _reserved_if(c, rd == 0, _i(OP_IMM_32, 0, rd, rd, _imm6(hi, lo)))


def lift_c_li(c, hi, rd, lo):
    _expand(c, _i(OP_IMM, 0, rd, 0, _imm6(hi, lo)))


def lift_c_addi16sp(c, hi, lo):
    nzimm = sext(_imm("9 4|6|8:7|5", hi, lo), 10)
    _reserved_if(c, nzimm == 0, _i(OP_IMM, 0, SP, SP, nzimm))


def lift_c_lui(c, hi, rd, lo):
    nzimm = sext(_imm("17 16:12", hi, lo), 18)
    _reserved_if(c, nzimm == 0, (nzimm & 0xFFFFF000) | rd << 7 | LUI)


def lift_c_srli(c, hi, rd, lo):
    _expand(c, _i(OP_IMM, 5, rd + 8, rd + 8, _imm("5 4:0", hi, lo)))


def lift_c_srai(c, hi, rd, lo):
    _expand(c, _i(OP_IMM, 5, rd + 8, rd + 8, 0x400 | _imm("5 4:0", hi, lo)))


def lift_c_andi(c, hi, rd, lo):
    _expand(c, _i(OP_IMM, 7, rd + 8, rd + 8, _imm6(hi, lo)))


def _alu(funct7, funct3, opcode=OP):
    def lift(c, rd, rs2):
        _expand(c, _r(funct7, funct3, rd + 8, rd + 8, rs2 + 8, opcode))

    return lift


lift_c_sub = _alu(0x20, 0)
lift_c_xor = _alu(0, 4)
lift_c_or = _alu(0, 6)
lift_c_and = _alu(0, 7)
lift_c_subw = _alu(0x20, 0, OP_32)
lift_c_addw = _alu(0, 0, OP_32)


def lift_c_j(c, imm):
    _expand(c, _j(0, sext(_imm("11|4|9:8|10|6|7|3:1|5", imm), 12)))


def _branch_zero(funct3):
    def lift(c, hi, rs1, lo):
        _expand(c, _b(funct3, rs1 + 8, 0, sext(_imm("8|4:3 7:6|2:1|5", hi, lo), 9)))

    return lift


lift_c_beqz = _branch_zero(0)
lift_c_bnez = _branch_zero(1)


def lift_c_slli(c, hi, rd, lo):
    _expand(c, _i(OP_IMM, 1, rd, rd, _imm("5 4:0", hi, lo)))


def lift_c_fldsp(c, hi, rd, lo):
    _expand(c, _i(LOAD_FP, 3, rd, SP, _imm("5 4:3|8:6", hi, lo)))


def lift_c_lwsp(c, hi, rd, lo):
    _reserved_if(c, rd == 0, _i(LOAD, 2, rd, SP, _imm("5 4:2|7:6", hi, lo)))


def lift_c_ldsp(c, hi, rd, lo):
    _reserved_if(c, rd == 0, _i(LOAD, 3, rd, SP, _imm("5 4:3|8:6", hi, lo)))


def lift_c_jr(c, rs1):
    _reserved_if(c, rs1 == 0, _i(JALR, 0, 0, rs1, 0))


def lift_c_mv(c, rd, rs2):
    _expand(c, _r(0, 0, rd, 0, rs2))


def lift_c_ebreak(c):
    _expand(c, _i(SYSTEM, 0, 0, 0, 1))


def lift_c_jalr(c, rs1):
    _expand(c, _i(JALR, 0, 1, rs1, 0))


def lift_c_add(c, rd, rs2):
    _expand(c, _r(0, 0, rd, rd, rs2))


def lift_c_fsdsp(c, imm, rs2):
    _expand(c, _s(STORE_FP, 3, SP, rs2, _imm("5:3|8:6", imm)))


def lift_c_swsp(c, imm, rs2):
    _expand(c, _s(STORE, 2, SP, rs2, _imm("5:2|7:6", imm)))


def lift_c_sdsp(c, imm, rs2):
    _expand(c, _s(STORE, 3, SP, rs2, _imm("5:3|8:6", imm)))
