"""Privileged instructions: trap return, wait-for-interrupt and sfence.vma.

Their legality depends on mstatus bits (TW, TSR, TVM) that are not part of the mode key,
so the checks run in the helpers at execution time, never at translation time.
"""

from vmcore import GuestTrap, Helper
from vmcore_isa_riscv import csr
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.traps import Cause

WIDTH = 32

ENCODINGS = """
mret       0011000 00010 00000 000 00000 1110011
sret       0001000 00010 00000 000 00000 1110011
wfi        0001000 00101 00000 000 00000 1110011
sfence.vma 0001001 rs2:5 rs1:5 000 00000 1110011
"""


def _wfi(cpu, bits: int) -> None:
    """Spike's rules: TW traps below M; with S mode, U mode may never wait."""
    priv = cpu.s[R.PRIV]
    if priv < csr.M and (cpu.s[R.MSTATUS] & csr.MSTATUS_TW or priv == csr.U):
        raise GuestTrap(Cause.ILLEGAL_INSN, bits)
    if not cpu.isa.interrupt_waiting(cpu):
        cpu.waiting = True


def _sfence_vma(cpu, bits: int, vaddr: int, use_vaddr: int) -> None:
    """Illegal without paging (bare S), in U mode, and in S mode with mstatus.TVM.

    Flushes the MMU's TLB (all, or the mapping of ``vaddr``; an ASID in rs2 is ignored,
    flushing more than asked, which the spec allows) and every translated block, since
    blocks are cached by virtual pc and the mapping of any of them may have changed.
    """
    priv = cpu.s[R.PRIV]
    if (
        not cpu.arch.csrs.paging()
        or priv == csr.U
        or (priv == csr.S and cpu.s[R.MSTATUS] & csr.MSTATUS_TVM)
    ):
        raise GuestTrap(Cause.ILLEGAL_INSN, bits)
    cpu.mmu.flush(vaddr if use_vaddr else None)
    csr.flush_translations(cpu)


MRET = Helper(csr.mret, width=64, state=True, ends_block=True, name="mret")
SRET = Helper(csr.sret, width=64, state=True, ends_block=True, name="sret")
WFI = Helper(_wfi, state=True, ends_block=True, name="wfi")
SFENCE_VMA = Helper(_sfence_vma, state=True, ends_block=True, name="sfence_vma")


def lift_mret(c):
    c.jump(c.b.call(MRET, c.bits))


def lift_sret(c):
    c.jump(c.b.call(SRET, c.bits))


def lift_wfi(c):
    c.b.call(WFI, c.bits)
    c.jump(c.next_pc)


def lift_sfence_vma(c, rs1, rs2):
    c.b.call(SFENCE_VMA, c.bits, c.x(rs1), int(rs1 != 0))
    c.jump(c.next_pc)
