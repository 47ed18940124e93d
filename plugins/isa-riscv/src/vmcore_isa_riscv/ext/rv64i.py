"""RV64I: the base integer instruction set."""

from vmcore_isa_riscv.registers import PRIV
from vmcore_isa_riscv.traps import Cause

WIDTH = 32

ENCODINGS = """
lui        imm:20 rd:5 0110111
auipc      imm:20 rd:5 0010111
jal        imm:20 rd:5 1101111
jalr       imm:12 rs1:5 000 rd:5 1100111
beq        imm7:7 rs2:5 rs1:5 000 imm5:5 1100011
bne        imm7:7 rs2:5 rs1:5 001 imm5:5 1100011
blt        imm7:7 rs2:5 rs1:5 100 imm5:5 1100011
bge        imm7:7 rs2:5 rs1:5 101 imm5:5 1100011
bltu       imm7:7 rs2:5 rs1:5 110 imm5:5 1100011
bgeu       imm7:7 rs2:5 rs1:5 111 imm5:5 1100011
lb         imm:12 rs1:5 000 rd:5 0000011
lh         imm:12 rs1:5 001 rd:5 0000011
lw         imm:12 rs1:5 010 rd:5 0000011
ld         imm:12 rs1:5 011 rd:5 0000011
lbu        imm:12 rs1:5 100 rd:5 0000011
lhu        imm:12 rs1:5 101 rd:5 0000011
lwu        imm:12 rs1:5 110 rd:5 0000011
sb         imm7:7 rs2:5 rs1:5 000 imm5:5 0100011
sh         imm7:7 rs2:5 rs1:5 001 imm5:5 0100011
sw         imm7:7 rs2:5 rs1:5 010 imm5:5 0100011
sd         imm7:7 rs2:5 rs1:5 011 imm5:5 0100011
addi       imm:12 rs1:5 000 rd:5 0010011
slti       imm:12 rs1:5 010 rd:5 0010011
sltiu      imm:12 rs1:5 011 rd:5 0010011
xori       imm:12 rs1:5 100 rd:5 0010011
ori        imm:12 rs1:5 110 rd:5 0010011
andi       imm:12 rs1:5 111 rd:5 0010011
slli       000000 shamt:6 rs1:5 001 rd:5 0010011
srli       000000 shamt:6 rs1:5 101 rd:5 0010011
srai       010000 shamt:6 rs1:5 101 rd:5 0010011
add        0000000 rs2:5 rs1:5 000 rd:5 0110011
sub        0100000 rs2:5 rs1:5 000 rd:5 0110011
sll        0000000 rs2:5 rs1:5 001 rd:5 0110011
slt        0000000 rs2:5 rs1:5 010 rd:5 0110011
sltu       0000000 rs2:5 rs1:5 011 rd:5 0110011
xor        0000000 rs2:5 rs1:5 100 rd:5 0110011
srl        0000000 rs2:5 rs1:5 101 rd:5 0110011
sra        0100000 rs2:5 rs1:5 101 rd:5 0110011
or         0000000 rs2:5 rs1:5 110 rd:5 0110011
and        0000000 rs2:5 rs1:5 111 rd:5 0110011
addiw      imm:12 rs1:5 000 rd:5 0011011
slliw      0000000 shamt:5 rs1:5 001 rd:5 0011011
srliw      0000000 shamt:5 rs1:5 101 rd:5 0011011
sraiw      0100000 shamt:5 rs1:5 101 rd:5 0011011
addw       0000000 rs2:5 rs1:5 000 rd:5 0111011
subw       0100000 rs2:5 rs1:5 000 rd:5 0111011
sllw       0000000 rs2:5 rs1:5 001 rd:5 0111011
srlw       0000000 rs2:5 rs1:5 101 rd:5 0111011
sraw       0100000 rs2:5 rs1:5 101 rd:5 0111011
fence      fm:4 pred:4 succ:4 rs1:5 000 rd:5 0001111
ecall      000000000000 00000 000 00000 1110011
ebreak     000000000001 00000 000 00000 1110011
"""


def lift_lui(c, rd, imm):
    c.set_x(rd, c.imm_u)


def lift_auipc(c, rd, imm):
    c.set_x(rd, (c.pc + c.imm_u) & ((1 << 64) - 1))


def lift_jal(c, rd, imm):
    c.set_x(rd, c.next_pc)
    c.jump(c.pc + c.imm_j)


def lift_jalr(c, rd, rs1, imm):
    target = c.b.and_(c.addr(rs1, c.imm_i), ~1)
    c.set_x(rd, c.next_pc)
    c.jump(target)


def _branch(op, swap=False):
    def lift(c, rs1, rs2, imm7, imm5):
        a, b = c.x(rs1), c.x(rs2)
        cond = getattr(c.b, op)(b, a) if swap else getattr(c.b, op)(a, b)
        c.b.branch(cond, (c.pc + c.imm_b) & ((1 << 64) - 1), c.next_pc)

    return lift


lift_beq = _branch("eq")
lift_bne = _branch("ne")
lift_blt = _branch("slt")
lift_bge = _branch("sle", swap=True)
lift_bltu = _branch("ult")
lift_bgeu = _branch("ule", swap=True)


def _load(width, signed):
    def lift(c, rd, rs1, imm):
        v = c.b.load(width, c.addr(rs1, c.imm_i))
        c.set_x(rd, c.b.sext(v, 64) if signed else c.b.zext(v, 64))

    return lift


lift_lb = _load(8, True)
lift_lh = _load(16, True)
lift_lw = _load(32, True)
lift_ld = _load(64, True)
lift_lbu = _load(8, False)
lift_lhu = _load(16, False)
lift_lwu = _load(32, False)


def _store(width):
    def lift(c, rs1, rs2, imm7, imm5):
        c.b.store(c.addr(rs1, c.imm_s), c.b.trunc(c.x(rs2), width))

    return lift


lift_sb = _store(8)
lift_sh = _store(16)
lift_sw = _store(32)
lift_sd = _store(64)


def _op_imm(op):
    def lift(c, rd, rs1, imm):
        c.set_x(rd, getattr(c.b, op)(c.x(rs1), c.imm_i & ((1 << 64) - 1)))

    return lift


lift_addi = _op_imm("add")
lift_xori = _op_imm("xor")
lift_ori = _op_imm("or_")
lift_andi = _op_imm("and_")


def lift_slti(c, rd, rs1, imm):
    c.set_x(rd, c.b.zext(c.b.slt(c.x(rs1), c.imm_i & ((1 << 64) - 1)), 64))


def lift_sltiu(c, rd, rs1, imm):
    c.set_x(rd, c.b.zext(c.b.ult(c.x(rs1), c.imm_i & ((1 << 64) - 1)), 64))


def _shift_imm(op):
    def lift(c, rd, rs1, shamt):
        c.set_x(rd, getattr(c.b, op)(c.x(rs1), shamt))

    return lift


lift_slli = _shift_imm("shl")
lift_srli = _shift_imm("lshr")
lift_srai = _shift_imm("ashr")


def _op(op):
    def lift(c, rd, rs1, rs2):
        c.set_x(rd, getattr(c.b, op)(c.x(rs1), c.x(rs2)))

    return lift


lift_add = _op("add")
lift_sub = _op("sub")
lift_xor = _op("xor")
lift_or = _op("or_")
lift_and = _op("and_")


def lift_slt(c, rd, rs1, rs2):
    c.set_x(rd, c.b.zext(c.b.slt(c.x(rs1), c.x(rs2)), 64))


def lift_sltu(c, rd, rs1, rs2):
    c.set_x(rd, c.b.zext(c.b.ult(c.x(rs1), c.x(rs2)), 64))


def _shift(op, width=64):
    def lift(c, rd, rs1, rs2):
        b = c.b
        amount = b.and_(c.x(rs2), width - 1)
        if width == 64:
            c.set_x(rd, getattr(b, op)(c.x(rs1), amount))
        else:
            c.set_x32(rd, getattr(b, op)(c.x32(rs1), b.trunc(amount, 32)))

    return lift


lift_sll = _shift("shl")
lift_srl = _shift("lshr")
lift_sra = _shift("ashr")
lift_sllw = _shift("shl", 32)
lift_srlw = _shift("lshr", 32)
lift_sraw = _shift("ashr", 32)


def lift_addiw(c, rd, rs1, imm):
    c.set_x32(rd, c.b.add(c.x32(rs1), c.imm_i & 0xFFFFFFFF))


def _shift_imm_w(op):
    def lift(c, rd, rs1, shamt):
        c.set_x32(rd, getattr(c.b, op)(c.x32(rs1), shamt))

    return lift


lift_slliw = _shift_imm_w("shl")
lift_srliw = _shift_imm_w("lshr")
lift_sraiw = _shift_imm_w("ashr")


def lift_addw(c, rd, rs1, rs2):
    c.set_x32(rd, c.b.add(c.x32(rs1), c.x32(rs2)))


def lift_subw(c, rd, rs1, rs2):
    c.set_x32(rd, c.b.sub(c.x32(rs1), c.x32(rs2)))


def lift_fence(c, fm, pred, succ, rs1, rd):
    """A single hart with in-order memory: nothing to order."""


def lift_ecall(c):
    c.b.trap(Cause.ECALL_U + c.cpu.s[PRIV], 0)


def lift_ebreak(c):
    c.b.trap(Cause.BREAKPOINT, c.pc)
