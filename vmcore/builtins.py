"""The kernel's own components, registered through the same hooks as any plugin.

Factories are strings so that listing them imports nothing (the ``interp`` engine module
is only imported when a machine uses it).
"""

from __future__ import annotations

from vmcore import hookimpl
from vmcore.components import Component
from vmcore.devices.ram import RamOptions
from vmcore.devices.uart16550 import Uart16550Options


@hookimpl
def vmcore_register_engines() -> list[Component]:
    return [
        Component(
            kind="engine",
            name="interp",
            factory="vmcore.engines.interp:InterpEngine",
            help="reference engine: each IR block compiled to a Python function",
        )
    ]


@hookimpl
def vmcore_register_mmus() -> list[Component]:
    return [
        Component(
            kind="mmu",
            name="flat",
            factory="vmcore.mmu:FlatMmu",
            help="no translation: virtual = physical (bare metal, Linux user mode)",
        )
    ]


@hookimpl
def vmcore_register_devices() -> list[Component]:
    return [
        Component(
            kind="device",
            name="uart16550",
            factory="vmcore.devices.uart16550:create",
            help="NS16550A serial port (THR/RBR, FIFOs, interrupts, loopback)",
            options=Uart16550Options,
        ),
        Component(
            kind="device",
            name="ram",
            factory="vmcore.devices.ram:create",
            help="extra RAM at base= of size= bytes",
            options=RamOptions,
        ),
    ]
