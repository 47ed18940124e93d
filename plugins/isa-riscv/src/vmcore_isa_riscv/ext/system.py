"""Privileged instructions: trap return and wait-for-interrupt."""

from vmcore import Helper

from vmcore_isa_riscv import csr
from vmcore_isa_riscv.registers import PRIV
from vmcore_isa_riscv.traps import Cause

WIDTH = 32

ENCODINGS = """
mret       0011000 00010 00000 000 00000 1110011
wfi        0001000 00101 00000 000 00000 1110011
"""

MRET = Helper(csr.mret, width=64, state=True, ends_block=True, name="mret")


def _wait(cpu) -> None:
    if not cpu.isa.interrupt_waiting(cpu):
        cpu.waiting = True


WFI = Helper(_wait, state=True, ends_block=True, name="wfi")


def lift_mret(c):
    if c.cpu.s[PRIV] < csr.M:
        c.b.trap(Cause.ILLEGAL_INSN, c.bits)
        return
    c.jump(c.b.call(MRET))


def lift_wfi(c):
    if c.cpu.s[PRIV] < csr.M and c.cpu.s[csr.R.MSTATUS] & csr.MSTATUS_TW:
        c.b.trap(Cause.ILLEGAL_INSN, c.bits)
        return
    c.b.call(WFI)
    c.jump(c.next_pc)
