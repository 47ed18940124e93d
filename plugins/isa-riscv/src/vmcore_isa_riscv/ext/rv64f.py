"""RV64F: single-precision floating point (shared rules in :mod:`vmcore_isa_riscv.fp`)."""

from vmcore_isa_riscv import fp
from vmcore_isa_riscv.fp import S

WIDTH = 32

ENCODINGS = """
flw        imm:12 rs1:5 010 rd:5 0000111
fsw        imm7:7 rs2:5 rs1:5 010 imm5:5 0100111
fmadd.s    rs3:5 00 rs2:5 rs1:5 rm:3 rd:5 1000011
fmsub.s    rs3:5 00 rs2:5 rs1:5 rm:3 rd:5 1000111
fnmsub.s   rs3:5 00 rs2:5 rs1:5 rm:3 rd:5 1001011
fnmadd.s   rs3:5 00 rs2:5 rs1:5 rm:3 rd:5 1001111
fadd.s     0000000 rs2:5 rs1:5 rm:3 rd:5 1010011
fsub.s     0000100 rs2:5 rs1:5 rm:3 rd:5 1010011
fmul.s     0001000 rs2:5 rs1:5 rm:3 rd:5 1010011
fdiv.s     0001100 rs2:5 rs1:5 rm:3 rd:5 1010011
fsqrt.s    0101100 00000 rs1:5 rm:3 rd:5 1010011
fsgnj.s    0010000 rs2:5 rs1:5 000 rd:5 1010011
fsgnjn.s   0010000 rs2:5 rs1:5 001 rd:5 1010011
fsgnjx.s   0010000 rs2:5 rs1:5 010 rd:5 1010011
fmin.s     0010100 rs2:5 rs1:5 000 rd:5 1010011
fmax.s     0010100 rs2:5 rs1:5 001 rd:5 1010011
fcvt.w.s   1100000 00000 rs1:5 rm:3 rd:5 1010011
fcvt.wu.s  1100000 00001 rs1:5 rm:3 rd:5 1010011
fcvt.l.s   1100000 00010 rs1:5 rm:3 rd:5 1010011
fcvt.lu.s  1100000 00011 rs1:5 rm:3 rd:5 1010011
fmv.x.w    1110000 00000 rs1:5 000 rd:5 1010011
feq.s      1010000 rs2:5 rs1:5 010 rd:5 1010011
flt.s      1010000 rs2:5 rs1:5 001 rd:5 1010011
fle.s      1010000 rs2:5 rs1:5 000 rd:5 1010011
fclass.s   1110000 00000 rs1:5 001 rd:5 1010011
fcvt.s.w   1101000 00000 rs1:5 rm:3 rd:5 1010011
fcvt.s.wu  1101000 00001 rs1:5 rm:3 rd:5 1010011
fcvt.s.l   1101000 00010 rs1:5 rm:3 rd:5 1010011
fcvt.s.lu  1101000 00011 rs1:5 rm:3 rd:5 1010011
fmv.w.x    1111000 00000 rs1:5 000 rd:5 1010011
"""

lift_flw = fp.load(S)
lift_fsw = fp.store(S)
lift_fmadd_s = fp.fused(S, negate_product=False, negate_addend=False)
lift_fmsub_s = fp.fused(S, negate_product=False, negate_addend=True)
lift_fnmsub_s = fp.fused(S, negate_product=True, negate_addend=False)
lift_fnmadd_s = fp.fused(S, negate_product=True, negate_addend=True)
lift_fadd_s = fp.arith("fadd", S)
lift_fsub_s = fp.arith("fsub", S)
lift_fmul_s = fp.arith("fmul", S)
lift_fdiv_s = fp.arith("fdiv", S)
lift_fsqrt_s = fp.sqrt(S)
lift_fsgnj_s = fp.sign_inject(S, "j")
lift_fsgnjn_s = fp.sign_inject(S, "n")
lift_fsgnjx_s = fp.sign_inject(S, "x")
lift_fmin_s = fp.minmax("fmin", S)
lift_fmax_s = fp.minmax("fmax", S)
lift_fcvt_w_s = fp.to_int(S, 32, signed=True)
lift_fcvt_wu_s = fp.to_int(S, 32, signed=False)
lift_fcvt_l_s = fp.to_int(S, 64, signed=True)
lift_fcvt_lu_s = fp.to_int(S, 64, signed=False)
lift_fmv_x_w = fp.move_to_x(S)
lift_feq_s = fp.compare("feq", S)
lift_flt_s = fp.compare("flt", S)
lift_fle_s = fp.compare("fle", S)
lift_fclass_s = fp.classify(S)
lift_fcvt_s_w = fp.from_int(S, 32, signed=True)
lift_fcvt_s_wu = fp.from_int(S, 32, signed=False)
lift_fcvt_s_l = fp.from_int(S, 64, signed=True)
lift_fcvt_s_lu = fp.from_int(S, 64, signed=False)
lift_fmv_w_x = fp.move_from_x(S)
