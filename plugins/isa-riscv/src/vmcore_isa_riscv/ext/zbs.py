"""Zbs: single-bit instructions."""

WIDTH = 32

ENCODINGS = """
bclr       0100100 rs2:5 rs1:5 001 rd:5 0110011
bext       0100100 rs2:5 rs1:5 101 rd:5 0110011
binv       0110100 rs2:5 rs1:5 001 rd:5 0110011
bset       0010100 rs2:5 rs1:5 001 rd:5 0110011
bclri      010010 shamt:6 rs1:5 001 rd:5 0010011
bexti      010010 shamt:6 rs1:5 101 rd:5 0010011
binvi      011010 shamt:6 rs1:5 001 rd:5 0010011
bseti      001010 shamt:6 rs1:5 001 rd:5 0010011
"""

_OPS = {
    "clr": lambda b, x, bit: b.and_(x, b.not_(bit)),
    "ext": lambda b, x, bit: b.zext(b.ne(b.and_(x, bit), 0), 64),
    "inv": lambda b, x, bit: b.xor(x, bit),
    "set": lambda b, x, bit: b.or_(x, bit),
}


def _bit_reg(op):
    def lift(c, rd, rs1, rs2):
        bit = c.b.shl(c.b.const(1), c.b.and_(c.x(rs2), 63))
        c.set_x(rd, op(c.b, c.x(rs1), bit))

    return lift


def _bit_imm(op):
    def lift(c, rd, rs1, shamt):
        c.set_x(rd, op(c.b, c.x(rs1), c.b.const(1 << shamt)))

    return lift


lift_bclr = _bit_reg(_OPS["clr"])
lift_bext = _bit_reg(_OPS["ext"])
lift_binv = _bit_reg(_OPS["inv"])
lift_bset = _bit_reg(_OPS["set"])
lift_bclri = _bit_imm(_OPS["clr"])
lift_bexti = _bit_imm(_OPS["ext"])
lift_binvi = _bit_imm(_OPS["inv"])
lift_bseti = _bit_imm(_OPS["set"])
