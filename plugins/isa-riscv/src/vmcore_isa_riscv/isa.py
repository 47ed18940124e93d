"""The riscv64 ISA object: decoding, lifting, traps and interrupts for RV64GC harts."""

from __future__ import annotations

from vmcore import RAM, Access, Builder, BusError, Cpu, GuestTrap, Isa
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


_M64 = (1 << 64) - 1
_PAGE = 4096  #: fetches within one 4 KiB page share a translation (every MMU's smallest)


class HartState:
    """What a hart keeps beside its slots."""

    def __init__(self, cpu: Cpu) -> None:
        self.csrs = csr.CsrFile(cpu)


class RiscV64(Isa):
    """RV64GC with M, S and U modes; S mode pages (Sv39/Sv48) under the default MMU."""

    name = "riscv64"
    xlen = 64
    gdb_arch = "riscv:rv64"
    max_insn_len = 4
    linux = LINUX_ABI
    #: satp-driven Bare/Sv39/Sv48 paging (vmcore_isa_riscv.mmu)
    default_mmu = "riscv"

    @property
    def capstone(self) -> tuple[int, int]:  # type: ignore[override]
        """(Imported when something disassembles: capstone loads its library, 10-20 ms of
        every ``vmctl run`` otherwise.)"""
        import capstone

        return capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC

    def __init__(self) -> None:
        self.regs = R.register_file()
        self.decoder32, self.decoder16 = decoder.build()
        self.expansions = decoder.EXPANSIONS

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
        """Privilege and FP enable; with paging on (satp not Bare) also satp.MODE, the
        privilege of loads and stores (MPRV/MPP), SUM and MXR, so the key changes whenever
        the MMU's ``is_identity`` or the translation context does. The ASID and root page
        are left out: every satp write flushes the engine (blocks are cached by virtual pc),
        and one key per ASID would only multiply per-mode tables."""
        s = cpu.s
        ms = s[R.MSTATUS]
        priv = s[R.PRIV]
        key = priv | (4 if ms & csr.MSTATUS_FS else 0)
        satp_mode = cpu.arch.csrs.values[csr.SATP] >> 60
        if satp_mode:
            data_priv = (ms >> 11) & 3 if ms & csr.MSTATUS_MPRV else priv
            key |= satp_mode << 3 | data_priv << 7 | ((ms >> 18) & 3) << 9  # SUM, MXR
        return key

    def fetch(self, cpu: Cpu, pc: int, b: Builder | None = None) -> tuple[int, int]:
        """(length, bits) of the instruction at ``pc``, fetched as two halfwords (the
        second only for a 32-bit instruction, so a fault on it is reported at pc + 2).
        With the block's builder ``b``, a page of RAM found once serves the block's
        other instructions on it."""
        pc &= _M64
        if pc & (_PAGE - 1) <= _PAGE - 4:
            # both halfwords on one page: translate once, read RAM directly
            hint = b.fetch_hint if b is not None else None
            if hint is not None and hint[0] == pc & -_PAGE:
                word = hint[1].read(pc - hint[2], 4)
                return (2, word & 0xFFFF) if word & 3 != 3 else (4, word)
            try:
                paddr = cpu.mmu.translate(pc, Access.FETCH)
            except BusError as err:
                raise self.bus_fault(err) from None
            region = cpu.bus.find(paddr)
            if isinstance(region, RAM) and paddr + 4 <= region.end:
                page = paddr & -_PAGE
                if b is not None and region.base <= page and page + _PAGE <= region.end:
                    # guest pc - this = offset into the region, for the whole page
                    b.fetch_hint = (pc & -_PAGE, region, pc - (paddr - region.base))
                word = region.read(paddr - region.base, 4)
                return (2, word & 0xFFFF) if word & 3 != 3 else (4, word)
        lo = cpu.fetch(pc, 2)
        if lo & 3 != 3:
            return 2, lo
        return 4, lo | (cpu.fetch(pc + 2, 2) << 16)

    def decode(self, cpu: Cpu, pc: int) -> tuple[int, int, object]:
        """(length, bits, encoding or None) of the instruction at ``pc``."""
        length, bits = self.fetch(cpu, pc)
        if length == 2:
            return 2, bits, self.decoder16.decode(bits) if self.decoder16 else None
        return 4, bits, self.decoder32.decode(bits)

    def lift(self, b: Builder, cpu: Cpu, pc: int) -> int:
        length, bits = self.fetch(cpu, pc, b)
        if length == 2:
            hit = self.expansions.get(bits)
            if hit is not None:
                enc, fields, word = hit
                b.insn(pc, 2, bits)
                enc.payload(Lift(b, cpu, pc, 2, bits, word), **fields)
                return 2
        decoder = self.decoder32 if length == 4 else self.decoder16
        enc, fields = decoder.lookup(bits) if decoder is not None else (None, None)
        b.insn(pc, length, bits)
        c = Lift(b, cpu, pc, length, bits)
        if enc is None:
            c.illegal()
        else:
            enc.payload(c, **fields)
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
