"""RV64M: integer multiplication and division."""

WIDTH = 32

ENCODINGS = """
mul        0000001 rs2:5 rs1:5 000 rd:5 0110011
mulh       0000001 rs2:5 rs1:5 001 rd:5 0110011
mulhsu     0000001 rs2:5 rs1:5 010 rd:5 0110011
mulhu      0000001 rs2:5 rs1:5 011 rd:5 0110011
div        0000001 rs2:5 rs1:5 100 rd:5 0110011
divu       0000001 rs2:5 rs1:5 101 rd:5 0110011
rem        0000001 rs2:5 rs1:5 110 rd:5 0110011
remu       0000001 rs2:5 rs1:5 111 rd:5 0110011
mulw       0000001 rs2:5 rs1:5 000 rd:5 0111011
divw       0000001 rs2:5 rs1:5 100 rd:5 0111011
divuw      0000001 rs2:5 rs1:5 101 rd:5 0111011
remw       0000001 rs2:5 rs1:5 110 rd:5 0111011
remuw      0000001 rs2:5 rs1:5 111 rd:5 0111011
"""


def _op(op):
    def lift(c, rd, rs1, rs2):
        c.set_x(rd, getattr(c.b, op)(c.x(rs1), c.x(rs2)))

    return lift


def _op_w(op):
    def lift(c, rd, rs1, rs2):
        c.set_x32(rd, getattr(c.b, op)(c.x32(rs1), c.x32(rs2)))

    return lift


lift_mul = _op("mul")
lift_mulh = _op("mulhs")
lift_mulhsu = _op("mulhsu")
lift_mulhu = _op("mulhu")
lift_div = _op("sdiv")
lift_divu = _op("udiv")
lift_rem = _op("srem")
lift_remu = _op("urem")
lift_mulw = _op_w("mul")
lift_divw = _op_w("sdiv")
lift_divuw = _op_w("udiv")
lift_remw = _op_w("srem")
lift_remuw = _op_w("urem")
