"""Zbb: basic bit manipulation."""

WIDTH = 32

ENCODINGS = """
andn       0100000 rs2:5 rs1:5 111 rd:5 0110011
orn        0100000 rs2:5 rs1:5 110 rd:5 0110011
xnor       0100000 rs2:5 rs1:5 100 rd:5 0110011
clz        0110000 00000 rs1:5 001 rd:5 0010011
ctz        0110000 00001 rs1:5 001 rd:5 0010011
cpop       0110000 00010 rs1:5 001 rd:5 0010011
sext.b     0110000 00100 rs1:5 001 rd:5 0010011
sext.h     0110000 00101 rs1:5 001 rd:5 0010011
clzw       0110000 00000 rs1:5 001 rd:5 0011011
ctzw       0110000 00001 rs1:5 001 rd:5 0011011
cpopw      0110000 00010 rs1:5 001 rd:5 0011011
max        0000101 rs2:5 rs1:5 110 rd:5 0110011
maxu       0000101 rs2:5 rs1:5 111 rd:5 0110011
min        0000101 rs2:5 rs1:5 100 rd:5 0110011
minu       0000101 rs2:5 rs1:5 101 rd:5 0110011
zext.h     0000100 00000 rs1:5 100 rd:5 0111011
rol        0110000 rs2:5 rs1:5 001 rd:5 0110011
ror        0110000 rs2:5 rs1:5 101 rd:5 0110011
rolw       0110000 rs2:5 rs1:5 001 rd:5 0111011
rorw       0110000 rs2:5 rs1:5 101 rd:5 0111011
rori       011000 shamt:6 rs1:5 101 rd:5 0010011
roriw      0110000 shamt:5 rs1:5 101 rd:5 0011011
orc.b      001010000111 rs1:5 101 rd:5 0010011
rev8       011010111000 rs1:5 101 rd:5 0010011
"""

_LOW7 = 0x7F7F7F7F7F7F7F7F
_HIGH = 0x8080808080808080


def _op(fn):
    def lift(c, rd, rs1, rs2):
        c.set_x(rd, fn(c.b, c.x(rs1), c.x(rs2)))

    return lift


def _op_w(fn):
    def lift(c, rd, rs1, rs2):
        c.set_x32(rd, fn(c.b, c.x32(rs1), c.x32(rs2)))

    return lift


def _unary(fn):
    def lift(c, rd, rs1):
        c.set_x(rd, fn(c.b, c.x(rs1)))

    return lift


def _unary_w(op):
    def lift(c, rd, rs1):
        c.set_x(rd, c.b.zext(getattr(c.b, op)(c.x32(rs1)), 64))

    return lift


lift_andn = _op(lambda b, x, y: b.and_(x, b.not_(y)))
lift_orn = _op(lambda b, x, y: b.or_(x, b.not_(y)))
lift_xnor = _op(lambda b, x, y: b.not_(b.xor(x, y)))
lift_max = _op(lambda b, x, y: b.select(b.slt(x, y), y, x))
lift_maxu = _op(lambda b, x, y: b.select(b.ult(x, y), y, x))
lift_min = _op(lambda b, x, y: b.select(b.slt(x, y), x, y))
lift_minu = _op(lambda b, x, y: b.select(b.ult(x, y), x, y))
lift_rol = _op(lambda b, x, y: b.rotl(x, y))
lift_ror = _op(lambda b, x, y: b.rotr(x, y))
lift_rolw = _op_w(lambda b, x, y: b.rotl(x, y))
lift_rorw = _op_w(lambda b, x, y: b.rotr(x, y))

lift_clz = _unary(lambda b, x: b.clz(x))
lift_ctz = _unary(lambda b, x: b.ctz(x))
lift_cpop = _unary(lambda b, x: b.popcnt(x))
lift_sext_b = _unary(lambda b, x: b.sext(b.trunc(x, 8), 64))
lift_sext_h = _unary(lambda b, x: b.sext(b.trunc(x, 16), 64))
lift_zext_h = _unary(lambda b, x: b.zext(b.trunc(x, 16), 64))
lift_rev8 = _unary(lambda b, x: b.bswap(x))
lift_orc_b = _unary(
    lambda b, x: b.mul(b.lshr(b.and_(b.or_(b.add(b.and_(x, _LOW7), _LOW7), x), _HIGH), 7), 0xFF)
)
lift_clzw = _unary_w("clz")
lift_ctzw = _unary_w("ctz")
lift_cpopw = _unary_w("popcnt")


def lift_rori(c, rd, rs1, shamt):
    c.set_x(rd, c.b.rotr(c.x(rs1), shamt))


def lift_roriw(c, rd, rs1, shamt):
    c.set_x32(rd, c.b.rotr(c.x32(rs1), shamt))
