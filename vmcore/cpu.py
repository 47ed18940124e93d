"""A hart: its state slots, its ISA, MMU and engine, and accessors for debuggers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmcore.ir import Access, mask
from vmcore.memory import PAGE_SIZE, BusError

if TYPE_CHECKING:
    from vmcore.isa import Isa
    from vmcore.machine import Machine
    from vmcore.mmu import Mmu


class Cpu:
    """One hardware thread.

    ``s`` is the state array: a list of unsigned 64-bit ints laid out by the ISA's
    :class:`~vmcore.isa.RegisterFile`. It is the live state while any engine runs (a native
    engine mirrors it into its own buffer and writes back whenever Python may look).
    ``instret`` counts retired instructions; ``progress`` is how many instructions of the
    block now executing have retired, which engines set before calling state helpers so
    that ``retired()`` is exact mid-block.
    """

    def __init__(self, machine: Machine, index: int, isa: Isa) -> None:
        self.machine = machine
        self.index = index
        self.isa = isa
        self.bus = machine.bus
        self.s: list[int] = [0] * isa.regs.nslots
        self.instret = 0
        self.progress = 0
        self.mmu: Mmu | None = None
        self.arch: Any = isa.create_state(self)
        #: set by the hart itself (wfi) while waiting for an interrupt
        self.waiting = False
        #: set to make the engine return at the next block boundary
        self.stop = False
        #: loop blocks: most iterations allowed, and iterations done (engine bookkeeping)
        self.loop_limit = 0
        self.iters = 0

    # -- registers ------------------------------------------------------------------------

    @property
    def pc(self) -> int:
        return self.s[self.isa.regs.pc]

    @pc.setter
    def pc(self, value: int) -> None:
        self.s[self.isa.regs.pc] = value & mask(64)

    def read_reg(self, name: str) -> int:
        reg = self.isa.regs.lookup(name)
        value = 0
        for i in range((reg.width + 63) // 64):
            value |= self.s[reg.slot + i] << (64 * i)
        return value & mask(reg.width)

    def write_reg(self, name: str, value: int) -> None:
        reg = self.isa.regs.lookup(name)
        value &= mask(reg.width)
        for i in range((reg.width + 63) // 64):
            self.s[reg.slot + i] = (value >> (64 * i)) & mask(64)

    def registers(self) -> dict[str, int]:
        return {r.name: self.read_reg(r.name) for r in self.isa.regs.regs}

    def retired(self) -> int:
        """Instructions retired so far, exact even inside a helper."""
        return self.instret + self.progress

    # -- memory through the MMU (helpers, syscalls, debuggers) ------------------------------

    def translate(self, vaddr: int, access: Access) -> int:
        return self.mmu.translate(vaddr & mask(64), access)

    def read_virtual(self, vaddr: int, size: int, access: Access = Access.LOAD) -> int:
        """Read through the MMU. An access crossing into a page mapped elsewhere is split,
        each part translated (and faulting) on its own. Raises GuestTrap or BusError."""
        vaddr &= mask(64)
        first = PAGE_SIZE - (vaddr & (PAGE_SIZE - 1))
        mmu = self.mmu
        if size <= first or mmu.is_identity():
            return self.bus.read(mmu.translate(vaddr, access), size, access)
        lo = mmu.translate(vaddr, access)
        hi = mmu.translate((vaddr + first) & mask(64), access)
        if hi == lo + first:  # physically contiguous: one access, as without paging
            return self.bus.read(lo, size, access)
        value = self.bus.read(lo, first, access)
        return value | self.bus.read(hi, size - first, access) << (8 * first)

    def write_virtual(self, vaddr: int, size: int, value: int) -> None:
        """Write through the MMU, split like :meth:`read_virtual`; both pages are
        translated before any byte is written, so a fault leaves memory unchanged."""
        vaddr &= mask(64)
        first = PAGE_SIZE - (vaddr & (PAGE_SIZE - 1))
        mmu = self.mmu
        if size <= first or mmu.is_identity():
            self.bus.write(mmu.translate(vaddr, Access.STORE), size, value)
            return
        lo = mmu.translate(vaddr, Access.STORE)
        hi = mmu.translate((vaddr + first) & mask(64), Access.STORE)
        if hi == lo + first:
            self.bus.write(lo, size, value)
            return
        self.bus.write(lo, first, value & mask(8 * first))
        self.bus.write(hi, size - first, value >> (8 * first))

    def load(self, vaddr: int, size: int, access: Access = Access.LOAD) -> int:
        """Read ``size`` bytes at a virtual address; faults become GuestTrap."""
        try:
            return self.read_virtual(vaddr, size, access)
        except BusError as err:
            raise self.isa.bus_fault(err) from None

    def store(self, vaddr: int, size: int, value: int) -> None:
        try:
            self.write_virtual(vaddr, size, value)
        except BusError as err:
            raise self.isa.bus_fault(err) from None

    def fetch(self, vaddr: int, size: int) -> int:
        """Instruction fetch (used by lifters); faults become GuestTrap."""
        return self.load(vaddr, size, Access.FETCH)

    def __repr__(self) -> str:
        return f"<Cpu {self.index} {self.isa.name} pc={self.pc:#x}>"
