"""The riscv64 ISA object: decoding, lifting, traps and interrupts for RV64GC harts."""

from __future__ import annotations

import capstone

from vmcore import Access, Builder, BusError, Cpu, GuestTrap, Isa
from vmcore_isa_riscv import csr, decoder
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.lifting import Lift
from vmcore_isa_riscv.linux import LINUX_ABI
from vmcore_isa_riscv.traps import Cause

_ACCESS_FAULT = {
    Access.FETCH: Cause.INSN_ACCESS,
    Access.LOAD: Cause.LOAD_ACCESS,
    Access.STORE: Cause.STORE_ACCESS,
}
_MISALIGNED = {
    Access.FETCH: Cause.INSN_MISALIGNED,
    Access.LOAD: Cause.LOAD_MISALIGNED,
    Access.STORE: Cause.STORE_MISALIGNED,
}


class HartState:
    """What a hart keeps beside its slots."""

    def __init__(self, cpu: Cpu) -> None:
        self.csrs = csr.CsrFile(cpu)


class RiscV64(Isa):
    """RV64GC with M, S (without paging unless the MMU pages) and U modes."""

    name = "riscv64"
    xlen = 64
    capstone = (capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)
    gdb_arch = "riscv:rv64"
    max_insn_len = 4
    linux = LINUX_ABI

    def __init__(self) -> None:
        self.regs = R.register_file()
        self.decoder32, self.decoder16 = decoder.build()

    def create_state(self, cpu: Cpu) -> HartState:
        return HartState(cpu)

    def reset(self, cpu: Cpu, pc: int) -> None:
        cpu.s[:] = [0] * R.NSLOTS
        cpu.s[R.PRIV] = csr.M
        cpu.s[R.MSTATUS] = csr.MSTATUS_UXL | csr.MSTATUS_SXL
        cpu.s[R.RESERVATION] = R.RESERVATION_NONE
        cpu.arch.csrs.reset()
        cpu.pc = pc

    def mode_key(self, cpu: Cpu) -> int:
        s = cpu.s
        return s[R.PRIV] | (4 if s[R.MSTATUS] & csr.MSTATUS_FS else 0)

    def decode(self, cpu: Cpu, pc: int) -> tuple[int, int, object]:
        """(length, bits, encoding or None) of the instruction at ``pc``."""
        lo = cpu.fetch(pc, 2)
        if lo & 3 != 3:
            return 2, lo, self.decoder16.decode(lo) if self.decoder16 else None
        bits = lo | (cpu.fetch(pc + 2, 2) << 16)
        return 4, bits, self.decoder32.decode(bits)

    def lift(self, b: Builder, cpu: Cpu, pc: int) -> int:
        length, bits, enc = self.decode(cpu, pc)
        b.insn(pc, length, bits)
        c = Lift(b, cpu, pc, length, bits)
        if enc is None:
            c.illegal()
        else:
            enc.payload(c, **enc.extract(bits))
        return length

    def enter_trap(self, cpu: Cpu, trap: GuestTrap, pc: int) -> int:
        return csr.take_trap(cpu, trap.cause, trap.tval, pc, trap.info == "interrupt")

    def bus_fault(self, err: BusError) -> GuestTrap:
        return GuestTrap(_ACCESS_FAULT[err.access], err.addr)

    def misaligned(self, access: Access, addr: int) -> GuestTrap:
        return GuestTrap(_MISALIGNED[access], addr)

    def pending_interrupt(self, cpu: Cpu) -> GuestTrap | None:
        irq = csr.pending_interrupt(cpu)
        return None if irq is None else GuestTrap(irq, 0, info="interrupt")

    def interrupt_waiting(self, cpu: Cpu) -> bool:
        """wfi wakes on any pending interrupt enabled in mie, whatever the global enables
        (the machine then takes it, if enabled, before the hart runs again)."""
        v = cpu.arch.csrs.values
        return bool(v[csr.MIP] & v[csr.MIE])
