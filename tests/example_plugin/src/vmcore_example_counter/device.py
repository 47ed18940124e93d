"""The counter: a device with three 32-bit registers (see the README's table)."""

from __future__ import annotations

import attrs

import vmcore

VALUE, TICKET, STEP = 0x0, 0x4, 0x8
SIZE = 0x10
MASK = 0xFFFF_FFFF


def _int(value: int | str) -> int:
    return value if isinstance(value, int) else int(value, 0)


@attrs.define
class CounterOptions:
    """Options of the ``counter`` device: ``--device counter,base=0x10002000,step=2``."""

    #: physical address of the register window
    base: int = attrs.field(default=0x1000_2000, converter=_int)
    #: added to the value by each read of TICKET
    step: int = attrs.field(default=1, converter=_int)


class Counter:
    """A counter guests and hosts can read, set and bump through MMIO."""

    def __init__(self, options: CounterOptions) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        self.value = 0
        self.step = self.options.step

    def mmio_read(self, offset: int, size: int) -> int:
        if offset == VALUE:
            return self.value
        if offset == TICKET:
            value = self.value
            self.value = (self.value + self.step) & MASK
            return value
        if offset == STEP:
            return self.step
        return 0

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        if offset == VALUE:
            self.value = value & MASK
        elif offset == TICKET:
            self.value = (self.value + value) & MASK
        elif offset == STEP:
            self.step = value & MASK


def create(machine: vmcore.Machine, name: str, options: CounterOptions) -> Counter:
    """Device factory (docs/contracts.md): map the registers, register the device."""
    counter = Counter(options)
    machine.bus.add_mmio(options.base, SIZE, counter, name)
    machine.add_device(name, counter)
    return counter
