"""Extra RAM at a chosen address (``--device ram,base=0x90000000,size=64M``), for memory
maps a board does not provide on its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from vmcore.config import parse_int, parse_size
from vmcore.memory import RAM

if TYPE_CHECKING:
    from vmcore.machine import Machine


@attrs.define
class RamOptions:
    """Options of the ``ram`` device."""

    #: physical address of the first byte
    base: int = attrs.field(converter=parse_int)
    #: size in bytes ("64M" and the like are accepted)
    size: int = attrs.field(converter=lambda v: parse_size(v, "size"))


def create(machine: Machine, name: str, options: RamOptions) -> RAM:
    """Device factory: map a RAM region; it is reached through ``machine.bus``."""
    ram = machine.bus.add_ram(options.base, options.size, name)
    machine.add_device(name, ram)
    return ram
