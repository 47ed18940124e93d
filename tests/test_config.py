"""MachineConfig: sizes, device specs, TOML files, flag overrides and their errors."""

from __future__ import annotations

import pytest

from vmcore.components import ConfigError
from vmcore.config import (
    DeviceConfig,
    MachineConfig,
    load_toml,
    parse_device_spec,
    parse_int,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("128M", 128 << 20),
        ("2G", 2 << 30),
        ("2g", 2 << 30),
        ("512K", 512 << 10),
        ("64MiB", 64 << 20),
        ("1T", 1 << 40),
        ("4096", 4096),
        ("0x8000000", 0x800_0000),
        ("1_000", 1000),
        (65536, 65536),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["12X", "", "M", "-1M", "0", "1.5G", True])
def test_parse_size_errors_name_the_field(bad):
    with pytest.raises(ConfigError, match=r"^memory: .*(128M|positive)"):
        parse_size(bad)


def test_parse_int_any_base():
    assert [parse_int(x) for x in ("0x10", "0o10", "0b10", "10", 10)] == [16, 8, 2, 10, 10]
    with pytest.raises(ValueError, match="integer"):
        parse_int("ten")


def test_device_spec():
    dev = parse_device_spec("uart16550,base=0x10000000,irq=10,name=ttyS1")
    assert dev == DeviceConfig("uart16550", "ttyS1", {"base": "0x10000000", "irq": "10"})
    assert parse_device_spec("ram") == DeviceConfig("ram", "", {})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "must start with a device kind"),
        ("base=1", "must start with a device kind"),
        ("uart16550,base", "'base' is not key=value"),
        ("uart16550,irq=1,irq=2", "option 'irq' given twice"),
    ],
)
def test_device_spec_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_device_spec(spec)


def test_defaults_and_validation():
    c = MachineConfig()
    assert (c.engine, c.memory, c.smp, c.clock, c.mmu, c.board) == (
        "interp",
        128 << 20,
        1,
        "virtual",
        None,
        None,
    )
    with pytest.raises(ConfigError, match=r"clock: 'wall' is not one of virtual, host"):
        MachineConfig(clock="wall")
    with pytest.raises(ConfigError, match="smp: need at least one hart"):
        MachineConfig(smp=0)
    with pytest.raises(ConfigError, match="limit: must be a positive"):
        MachineConfig(limit=0)
    with pytest.raises(ConfigError, match="two devices named 'u'"):
        MachineConfig(devices=[DeviceConfig("uart16550", "u"), DeviceConfig("ram", "u")])


def test_unnamed_devices_get_distinct_names():
    c = MachineConfig(
        devices=[DeviceConfig("uart16550"), DeviceConfig("uart16550"), DeviceConfig("ram")]
    )
    assert [d.name for d in c.devices] == ["uart16550", "uart16550-1", "ram"]


MACHINE_TOML = """
isa = "riscv64"
board = "virt"
memory = "256M"
smp = 2
kernel = "images/Image"
append = "console=ttyS0"
drives = ["disk.img"]

[[devices]]
kind = "uart16550"
base = 0x10001000
irq = 11

[[devices]]
kind = "ram"
name = "sram"
base = 0x20000000
size = "1M"
"""


def test_toml_file(tmp_path):
    path = tmp_path / "machine.toml"
    path.write_text(MACHINE_TOML)
    c = load_toml(path)
    assert (c.isa, c.board, c.memory, c.smp, c.engine) == (
        "riscv64",
        "virt",
        256 << 20,
        2,
        "interp",
    )
    assert c.kernel == str(tmp_path / "images/Image")  # relative to the file
    assert c.drives == [str(tmp_path / "disk.img")]
    assert c.append == "console=ttyS0"
    assert c.devices == [
        DeviceConfig("uart16550", "uart16550", {"base": 0x1000_1000, "irq": 11}),
        DeviceConfig("ram", "sram", {"base": 0x2000_0000, "size": "1M"}),
    ]


def test_flags_override_the_file_and_lists_append(tmp_path):
    path = tmp_path / "machine.toml"
    path.write_text(MACHINE_TOML)
    c = load_toml(path).merged(
        {
            "engine": "jit",
            "memory": "1G",
            "smp": None,  # flag not given: the file's value stays
            "devices": ("uart16550,base=0x10002000",),
            "drives": ("second.img",),
            "trace": True,
        }
    )
    assert (c.engine, c.memory, c.smp, c.trace) == ("jit", 1 << 30, 2, True)
    assert [d.name for d in c.devices] == ["uart16550", "sram", "uart16550-1"]
    assert c.drives == [str(tmp_path / "disk.img"), "second.img"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('isa = "riscv64"\ncores = 4\n', r"unknown setting 'cores'; valid: isa, engine, mmu"),
        ('smp = "two"\n', "smp must be int"),
        ("memory = 1.5\n", "memory must be int or str"),
        ('clock = "sundial"\n', "clock: 'sundial' is not one of virtual, host"),
        ("[[devices]]\nbase = 1\n", r"devices\[0\] needs a kind"),
        ("isa = \n", "machine.toml"),
    ],
)
def test_toml_errors_name_the_field(tmp_path, text, message):
    path = tmp_path / "machine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_toml(path)


def test_missing_toml_and_missing_boot_files(tmp_path):
    with pytest.raises(ConfigError, match="config: no such file"):
        load_toml(tmp_path / "nope.toml")
    c = MachineConfig(kernel=str(tmp_path / "Image"))
    with pytest.raises(ConfigError, match=r"^kernel: no such file: .*Image"):
        c.check_files()
    (tmp_path / "Image").write_bytes(b"\0")
    c.check_files()
    with pytest.raises(ConfigError, match="drive: no such file"):
        c.merged({"drives": [str(tmp_path / "disk.img")]}).check_files()


def test_unknown_override_is_an_error():
    with pytest.raises(ConfigError, match="unknown machine setting 'cpus'"):
        MachineConfig().merged({"cpus": 2})
