"""The RISC-V hart's state slots: x0-x31, f0-f31, pc and the hot CSR fields.

CSRs that lifted code reads or writes inline (fflags, frm, mstatus, the privilege level,
the LR/SC reservation) live in slots; the rest live in :class:`~vmcore_isa_riscv.csr.CsrFile`.
"""

from vmcore import Reg, RegisterFile

ABI_NAMES = (
    "zero ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7 "
    "s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6"
).split()
FABI_NAMES = (
    "ft0 ft1 ft2 ft3 ft4 ft5 ft6 ft7 fs0 fs1 fa0 fa1 fa2 fa3 fa4 fa5 fa6 fa7 "
    "fs2 fs3 fs4 fs5 fs6 fs7 fs8 fs9 fs10 fs11 ft8 ft9 ft10 ft11"
).split()

X0 = 0
F0 = 32
PC = 64
FFLAGS = 65
FRM = 66
MSTATUS = 67
#: LR/SC reservation: the reserved address, or RESERVATION_NONE
RESERVATION = 68
PRIV = 69
NSLOTS = 70

RESERVATION_NONE = (1 << 64) - 1


def register_file() -> RegisterFile:
    regs = [Reg(f"x{i}", i, aliases=(ABI_NAMES[i],)) for i in range(32)]
    regs[8] = Reg("x8", 8, aliases=("s0", "fp"))
    regs += [Reg(f"f{i}", F0 + i, group="fpr", aliases=(FABI_NAMES[i],)) for i in range(32)]
    regs += [
        Reg("pc", PC, group="pc"),
        Reg("fflags", FFLAGS, 5, group="csr"),
        Reg("frm", FRM, 3, group="csr"),
        Reg("mstatus", MSTATUS, group="csr"),
        Reg("priv", PRIV, 2, group="sys"),
    ]
    return RegisterFile(regs, pc=PC, nslots=NSLOTS)
