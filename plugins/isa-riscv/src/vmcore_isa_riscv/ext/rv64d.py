"""RV64D: double-precision floating point (shared rules in :mod:`vmcore_isa_riscv.fp`)."""

from vmcore_isa_riscv import fp
from vmcore_isa_riscv.fp import D, S

WIDTH = 32

ENCODINGS = """
fld        imm:12 rs1:5 011 rd:5 0000111
fsd        imm7:7 rs2:5 rs1:5 011 imm5:5 0100111
fmadd.d    rs3:5 01 rs2:5 rs1:5 rm:3 rd:5 1000011
fmsub.d    rs3:5 01 rs2:5 rs1:5 rm:3 rd:5 1000111
fnmsub.d   rs3:5 01 rs2:5 rs1:5 rm:3 rd:5 1001011
fnmadd.d   rs3:5 01 rs2:5 rs1:5 rm:3 rd:5 1001111
fadd.d     0000001 rs2:5 rs1:5 rm:3 rd:5 1010011
fsub.d     0000101 rs2:5 rs1:5 rm:3 rd:5 1010011
fmul.d     0001001 rs2:5 rs1:5 rm:3 rd:5 1010011
fdiv.d     0001101 rs2:5 rs1:5 rm:3 rd:5 1010011
fsqrt.d    0101101 00000 rs1:5 rm:3 rd:5 1010011
fsgnj.d    0010001 rs2:5 rs1:5 000 rd:5 1010011
fsgnjn.d   0010001 rs2:5 rs1:5 001 rd:5 1010011
fsgnjx.d   0010001 rs2:5 rs1:5 010 rd:5 1010011
fmin.d     0010101 rs2:5 rs1:5 000 rd:5 1010011
fmax.d     0010101 rs2:5 rs1:5 001 rd:5 1010011
fcvt.s.d   0100000 00001 rs1:5 rm:3 rd:5 1010011
fcvt.d.s   0100001 00000 rs1:5 rm:3 rd:5 1010011
feq.d      1010001 rs2:5 rs1:5 010 rd:5 1010011
flt.d      1010001 rs2:5 rs1:5 001 rd:5 1010011
fle.d      1010001 rs2:5 rs1:5 000 rd:5 1010011
fclass.d   1110001 00000 rs1:5 001 rd:5 1010011
fcvt.w.d   1100001 00000 rs1:5 rm:3 rd:5 1010011
fcvt.wu.d  1100001 00001 rs1:5 rm:3 rd:5 1010011
fcvt.l.d   1100001 00010 rs1:5 rm:3 rd:5 1010011
fcvt.lu.d  1100001 00011 rs1:5 rm:3 rd:5 1010011
fcvt.d.w   1101001 00000 rs1:5 rm:3 rd:5 1010011
fcvt.d.wu  1101001 00001 rs1:5 rm:3 rd:5 1010011
fcvt.d.l   1101001 00010 rs1:5 rm:3 rd:5 1010011
fcvt.d.lu  1101001 00011 rs1:5 rm:3 rd:5 1010011
fmv.x.d    1110001 00000 rs1:5 000 rd:5 1010011
fmv.d.x    1111001 00000 rs1:5 000 rd:5 1010011
"""

lift_fld = fp.load(D)
lift_fsd = fp.store(D)
lift_fmadd_d = fp.fused(D, negate_product=False, negate_addend=False)
lift_fmsub_d = fp.fused(D, negate_product=False, negate_addend=True)
lift_fnmsub_d = fp.fused(D, negate_product=True, negate_addend=False)
lift_fnmadd_d = fp.fused(D, negate_product=True, negate_addend=True)
lift_fadd_d = fp.arith("fadd", D)
lift_fsub_d = fp.arith("fsub", D)
lift_fmul_d = fp.arith("fmul", D)
lift_fdiv_d = fp.arith("fdiv", D)
lift_fsqrt_d = fp.sqrt(D)
lift_fsgnj_d = fp.sign_inject(D, "j")
lift_fsgnjn_d = fp.sign_inject(D, "n")
lift_fsgnjx_d = fp.sign_inject(D, "x")
lift_fmin_d = fp.minmax("fmin", D)
lift_fmax_d = fp.minmax("fmax", D)
lift_fcvt_s_d = fp.convert(D, S)
lift_fcvt_d_s = fp.convert(S, D)
lift_feq_d = fp.compare("feq", D)
lift_flt_d = fp.compare("flt", D)
lift_fle_d = fp.compare("fle", D)
lift_fclass_d = fp.classify(D)
lift_fcvt_w_d = fp.to_int(D, 32, signed=True)
lift_fcvt_wu_d = fp.to_int(D, 32, signed=False)
lift_fcvt_l_d = fp.to_int(D, 64, signed=True)
lift_fcvt_lu_d = fp.to_int(D, 64, signed=False)
lift_fcvt_d_w = fp.from_int(D, 32, signed=True)
lift_fcvt_d_wu = fp.from_int(D, 32, signed=False)
lift_fcvt_d_l = fp.from_int(D, 64, signed=True)
lift_fcvt_d_lu = fp.from_int(D, 64, signed=False)
lift_fmv_x_d = fp.move_to_x(D)
lift_fmv_d_x = fp.move_from_x(D)
