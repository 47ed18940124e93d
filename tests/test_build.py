"""build_machine: resolving components, compatibility errors, devices, life-cycle hooks."""

from __future__ import annotations

import types

import pytest
import toy_machine

from vmcore import Component, FlatMmu, hookimpl
from vmcore.build import build_machine
from vmcore.components import ConfigError
from vmcore.config import DeviceConfig, MachineConfig
from vmcore.devices.uart16550 import Uart16550
from vmcore.engines.interp import InterpEngine
from vmcore.plugins import Registry, make_plugin_manager


class Recorder:
    """A plugin that records the machine life-cycle hooks."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    @hookimpl
    def vmcore_machine_assembled(self, machine):
        # board and devices are in place, the harts not yet reset
        self.calls.append(("assembled", sorted(machine.devices), machine.board is not None))

    @hookimpl
    def vmcore_machine_before_run(self, machine):
        self.calls.append(("before_run",))

    @hookimpl
    def vmcore_machine_after_stop(self, machine, reason):
        self.calls.append(("after_stop", reason, machine.exit_code))


def make_registry(*extra) -> Registry:
    plugins = [("toy", toy_machine), *((getattr(p, "__name__", "x"), p) for p in extra)]
    return Registry.from_plugin_manager(make_plugin_manager(entry_points=False, extra=plugins))


@pytest.fixture
def kernel(tmp_path):
    path = tmp_path / "prog.bin"
    path.write_bytes(
        toy_machine.program(
            ("li", 1, 0x41),
            ("stw", 1, 0x1000),
            ("ldw", 2, 0x1000),
            ("addi", 2, 1),
            ("halt", 2),
        )
    )
    return str(path)


def config(**kw) -> MachineConfig:
    base = {"isa": "toy32", "board": "toyboard", "memory": "16K"}
    return MachineConfig(**{**base, **kw})


def test_builds_resets_and_runs(kernel):
    rec = Recorder()
    m = build_machine(config(kernel=kernel), make_registry(rec))
    assert isinstance(m.isa, toy_machine.Toy32)
    assert isinstance(m.board, toy_machine.ToyBoard)
    assert isinstance(m.cpus[0].mmu, FlatMmu)  # the ISA's default MMU
    assert m.config.kernel == kernel
    assert m.cpus[0].pc == 0
    assert rec.calls == [("assembled", [], True)]
    assert m.run() == "halt"
    assert isinstance(m.engine, InterpEngine)
    assert m.exit_code == 0x42
    assert rec.calls[1:] == [("before_run",), ("after_stop", "halt", 0x42)]


def test_smp_and_devices(kernel, tmp_path):
    out = tmp_path / "uart.txt"
    devices = [DeviceConfig("uart16550", "", {"base": "0x8000", "output": str(out)})]
    m = build_machine(config(kernel=kernel, smp=2, devices=devices), make_registry())
    assert len(m.cpus) == 2
    uart = m.devices["uart16550"]
    assert isinstance(uart, Uart16550)
    m.bus.write(0x8000, 1, ord("!"))
    assert out.read_bytes() == b"!"


def test_board_is_required_and_listed():
    with pytest.raises(
        ConfigError, match=r"^board: no board given; available for toy32: toyboard$"
    ):
        build_machine(config(board=None), make_registry())


def test_unknown_names_list_the_valid_ones():
    reg = make_registry()
    with pytest.raises(ConfigError, match=r"^isa: unknown isa 'x86'; available: toy32$"):
        build_machine(config(isa="x86"), reg)
    with pytest.raises(ConfigError, match=r"^isa: no isa given; available: toy32$"):
        build_machine(config(isa=None), reg)
    with pytest.raises(ConfigError, match=r"^engine: unknown engine 'jit'; available: interp$"):
        build_machine(config(engine="jit"), reg)
    with pytest.raises(ConfigError, match=r"^mmu: unknown mmu 'sv39'; available: flat$"):
        build_machine(config(mmu="sv39"), reg)
    with pytest.raises(
        ConfigError, match=r"^device: unknown device 'gpu'; available: ram, uart16550$"
    ):
        build_machine(config(devices=[DeviceConfig("gpu")]), reg)


def test_incompatible_components_are_refused():
    other = types.SimpleNamespace(
        __name__="other",
        vmcore_register_boards=hookimpl(
            lambda: [Component("board", "rvboard", "x:y", isas=("riscv64",))],
        ),
        vmcore_register_mmus=hookimpl(
            lambda: [Component("mmu", "sv39", "x:y", isas=("riscv64",))],
        ),
    )
    reg = make_registry(other)
    with pytest.raises(
        ConfigError, match=r"'rvboard' supports riscv64, not toy32; available for toy32: toyboard"
    ):
        build_machine(config(board="rvboard"), reg)
    with pytest.raises(
        ConfigError, match=r"'sv39' supports riscv64, not toy32; available for toy32: flat"
    ):
        build_machine(config(mmu="sv39"), reg)


def test_device_errors_are_config_errors(kernel):
    reg = make_registry()
    with pytest.raises(ConfigError, match="has no option 'speed'; valid options: base, irq"):
        build_machine(config(devices=[DeviceConfig("uart16550", "", {"speed": 1})]), reg)
    clash = DeviceConfig("ram", "", {"base": "0x100", "size": "4K"})  # inside the board's RAM
    with pytest.raises(ConfigError, match=r"^device 'ram': .*overlaps"):
        build_machine(config(devices=[clash]), reg)
    with pytest.raises(ConfigError, match="^kernel: no such file"):
        build_machine(config(kernel=kernel + ".missing"), reg)


def test_extra_ram_device(kernel):
    dev = DeviceConfig("ram", "sram", {"base": "0x20000", "size": "8K"})
    m = build_machine(config(kernel=kernel, devices=[dev]), make_registry())
    m.bus.write(0x21FFC, 4, 0x12345678)
    assert m.devices["sram"].read(0x1FFC, 4) == 0x12345678
