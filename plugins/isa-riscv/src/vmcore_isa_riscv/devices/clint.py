"""The SiFive CLINT: per-hart software interrupts (msip), timer compares and the mtime clock.

Layout (as Spike, QEMU virt and OpenSBI expect)::

    base + 4 * hart            msip      (32 bits, bit 0 drives mip.MSIP)
    base + 0x4000 + 8 * hart   mtimecmp  (64 bits)
    base + 0xBFF8              mtime     (64 bits)

mtime is not stored: it is machine time (``machine.now_ns()``) at ``freq`` Hz plus an
offset that writes to mtime adjust. A machine event scheduled for the moment mtime reaches a
hart's mtimecmp raises its MTIP; writing mtimecmp (or mtime) recomputes the line at once and
reschedules. The machine takes pending interrupts between engine slices (and engines after
blocks that may enable them). The harts' ``time`` CSR reads this mtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from vmcore_isa_riscv import csr

if TYPE_CHECKING:
    from vmcore import Cpu, Machine

MSIP_BASE = 0x0000
MTIMECMP_BASE = 0x4000
MTIME = 0xBFF8
SIZE = 0x10000
MASK64 = (1 << 64) - 1


def _int(value: int | str) -> int:
    return value if isinstance(value, int) else int(str(value).replace("_", ""), 0)


@attrs.define
class ClintOptions:
    """Options of the ``clint`` device (``--device clint,base=0x2000000``)."""

    #: physical address of the register window (64 KiB)
    base: int = attrs.field(default=0x0200_0000, converter=_int)
    #: mtime frequency in Hz (the device tree's timebase-frequency)
    freq: int = attrs.field(default=csr.TIMEBASE_HZ, converter=_int)


class Clint:
    """Register model for every hart of ``machine``."""

    def __init__(self, machine: Machine, options: ClintOptions | None = None) -> None:
        self.machine = machine
        self.options = options or ClintOptions()
        if self.options.freq <= 0:
            raise ValueError(f"clint freq must be positive, got {self.options.freq}")
        self.harts = machine.cpus
        self._events: list = [None] * len(self.harts)
        for cpu in self.harts:
            cpu.arch.csrs.time_source = self._time_csr
        self.reset()

    def reset(self) -> None:
        self.mtime_offset = 0
        self.msip = [0] * len(self.harts)
        self.mtimecmp = [MASK64] * len(self.harts)
        for i, cpu in enumerate(self.harts):
            cpu.arch.csrs.set_pending(csr.MSIP, False)
            self._update_timer(i)

    # -- time -------------------------------------------------------------------------------

    def mtime(self) -> int:
        ticks = self.machine.now_ns() * self.options.freq // 1_000_000_000
        return (ticks + self.mtime_offset) & MASK64

    def _time_csr(self, cpu: Cpu) -> int:
        return self.mtime()

    def _set_mtime(self, value: int) -> None:
        self.mtime_offset += (value & MASK64) - self.mtime()
        for i in range(len(self.harts)):
            self._update_timer(i)

    def _update_timer(self, hart: int) -> None:
        """Set MTIP from mtime >= mtimecmp and schedule the moment it becomes true."""
        ev = self._events[hart]
        if ev is not None:
            ev.cancel()
            self._events[hart] = None
        cpu = self.harts[hart]
        now = self.mtime()
        due = now >= self.mtimecmp[hart]
        cpu.arch.csrs.set_pending(csr.MTIP, due)
        if not due and self.mtimecmp[hart] != MASK64:  # all ones: "never" (OpenSBI's idle)
            ticks = self.mtimecmp[hart] - now
            delay = -(-ticks * 1_000_000_000 // self.options.freq)
            self._events[hart] = self.machine.schedule(delay, lambda: self._fire(hart))

    def _fire(self, hart: int) -> None:
        self._events[hart] = None
        self._update_timer(hart)  # raises MTIP; the delivery event fires in this same round

    # -- MMIO -------------------------------------------------------------------------------

    def mmio_read(self, offset: int, size: int) -> int:
        base, shift = offset & ~7, (offset & 7) * 8
        n = len(self.harts)
        if offset < MSIP_BASE + 4 * n:
            return self.msip[offset // 4] if offset % 4 == 0 else 0
        if MTIMECMP_BASE <= offset < MTIMECMP_BASE + 8 * n:
            return self.mtimecmp[(base - MTIMECMP_BASE) // 8] >> shift
        if base == MTIME:
            return self.mtime() >> shift
        return 0

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        base, shift = offset & ~7, (offset & 7) * 8
        n = len(self.harts)
        if offset < MSIP_BASE + 4 * n:
            if offset % 4 == 0:
                hart = offset // 4
                self.msip[hart] = value & 1
                self.harts[hart].arch.csrs.set_pending(csr.MSIP, bool(value & 1))
        elif MTIMECMP_BASE <= offset < MTIMECMP_BASE + 8 * n:
            hart = (base - MTIMECMP_BASE) // 8
            self.mtimecmp[hart] = _merge(self.mtimecmp[hart], value, shift, size)
            self._update_timer(hart)
        elif base == MTIME:
            self._set_mtime(_merge(self.mtime(), value, shift, size))


def _merge(old: int, value: int, shift: int, size: int) -> int:
    """A 1/2/4/8-byte write into a 64-bit register at bit ``shift`` (32-bit halves work)."""
    field = ((1 << (size * 8)) - 1) << shift
    return (old & ~field | (value << shift) & field) & MASK64


def create(machine: Machine, name: str, options: ClintOptions) -> Clint:
    """Device factory (docs/contracts.md): map the window, register the device."""
    clint = Clint(machine, options)
    machine.bus.add_mmio(options.base, SIZE, clint, name)
    machine.add_device(name, clint)
    return clint
