"""Machine assembly: a :class:`~vmcore.config.MachineConfig` and the registry in, a reset
:class:`~vmcore.machine.Machine` out.

Every name is resolved and every pairing checked before anything is constructed, so a bad
config fails fast with a :class:`ConfigError` that lists what is available instead of a
half-built machine.
"""

from __future__ import annotations

from typing import Any

from vmcore.components import Component, ConfigError
from vmcore.config import MachineConfig
from vmcore.machine import Machine
from vmcore.plugins import Registry, get_registry

__all__ = ["build_machine"]


def build_machine(config: MachineConfig, registry: Registry | None = None) -> Machine:
    """Assemble the machine ``config`` describes.

    Order: ISA, engine, MMU, board and devices are looked up and checked against the ISA;
    then the ISA object is created, the :class:`Machine`, the board (which maps memory and
    loads boot files), the devices, ``vmcore_machine_assembled`` runs, and every hart is
    reset to the board's ``reset_pc``.
    """
    registry = registry or get_registry()
    config.validate()
    isa_c = registry.get("isa", config.isa)
    isa_name = isa_c.name
    engine_c = registry.get("engine", config.engine)
    registry.check_compatible(engine_c, isa_name)
    if config.board is None:
        raise ConfigError(
            f"board: no board given; available for {isa_name}: {_boards(registry, isa_name)}"
        )
    board_c = registry.get("board", config.board)
    registry.check_compatible(board_c, isa_name)
    devices = []
    for dev in config.devices:
        comp = registry.get("device", dev.kind)
        registry.check_compatible(comp, isa_name)
        devices.append((dev.name, comp, comp.make_options(dev.options)))
    config.check_files()

    isa = isa_c.load()()
    mmu_c = registry.get("mmu", config.mmu or isa.default_mmu)
    registry.check_compatible(mmu_c, isa_name)
    machine = Machine(
        isa,
        engine=engine_c.load(),
        mmu=mmu_c.load(),
        smp=config.smp,
        clock=config.clock,
    )
    machine.config = config
    machine.board = _construct(board_c, machine, config)
    for name, comp, options in devices:
        device = _construct(comp, machine, name, options)
        if name not in machine.devices:
            machine.add_device(name, device)
    machine.hooks = registry.hook
    if machine.hooks is not None:
        machine.hooks.vmcore_machine_assembled(machine=machine)
    machine.reset()
    return machine


def _boards(registry: Registry, isa: str) -> str:
    return ", ".join(registry.names("board", isa)) or "(none installed)"


def _construct(comp: Component, *args: Any) -> Any:
    """Call a factory; its ValueErrors (overlapping regions, bad option values) are
    configuration errors and are reported as such, naming the component."""
    factory = comp.load()
    try:
        return factory(*args)
    except ValueError as exc:
        raise ConfigError(f"{comp.kind} {comp.name!r}: {exc}") from None
