"""Zba: address generation (shift-and-add, unsigned word forms)."""

WIDTH = 32

ENCODINGS = """
add.uw     0000100 rs2:5 rs1:5 000 rd:5 0111011
sh1add     0010000 rs2:5 rs1:5 010 rd:5 0110011
sh2add     0010000 rs2:5 rs1:5 100 rd:5 0110011
sh3add     0010000 rs2:5 rs1:5 110 rd:5 0110011
sh1add.uw  0010000 rs2:5 rs1:5 010 rd:5 0111011
sh2add.uw  0010000 rs2:5 rs1:5 100 rd:5 0111011
sh3add.uw  0010000 rs2:5 rs1:5 110 rd:5 0111011
slli.uw    000010 shamt:6 rs1:5 001 rd:5 0011011
"""


def _uw(c, rs1):
    return c.b.zext(c.x32(rs1), 64)


def _shadd(shift, uw):
    def lift(c, rd, rs1, rs2):
        index = _uw(c, rs1) if uw else c.x(rs1)
        c.set_x(rd, c.b.add(c.b.shl(index, shift), c.x(rs2)))

    return lift


lift_add_uw = _shadd(0, True)
lift_sh1add = _shadd(1, False)
lift_sh2add = _shadd(2, False)
lift_sh3add = _shadd(3, False)
lift_sh1add_uw = _shadd(1, True)
lift_sh2add_uw = _shadd(2, True)
lift_sh3add_uw = _shadd(3, True)


def lift_slli_uw(c, rd, rs1, shamt):
    c.set_x(rd, c.b.shl(_uw(c, rs1), shamt))
