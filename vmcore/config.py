"""Machine descriptions: :class:`MachineConfig`, read from TOML and from ``vmctl`` flags.

A machine file names its components and boot files at the top level and lists extra
devices as ``[[devices]]`` tables (``kind``, optional ``name``, the rest are the device's
options)::

    isa = "riscv64"
    board = "virt"
    memory = "256M"
    kernel = "Image"              # relative paths are relative to this file
    [[devices]]
    kind = "uart16550"
    base = 0x10001000
    irq = 11

Command-line flags override the file's values; ``--device`` and ``--drive`` add to its
lists. Component names are checked against the registry when the machine is built
(:func:`vmcore.build.build_machine`), where the list of valid names is known.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import attrs

from vmcore.components import ConfigError

__all__ = [
    "CLOCKS",
    "ConfigError",
    "DeviceConfig",
    "MachineConfig",
    "load_toml",
    "parse_device_spec",
    "parse_int",
    "parse_size",
]

#: valid values of ``MachineConfig.clock``
CLOCKS: tuple[str, ...] = ("virtual", "host")

_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE_RE = re.compile(r"\s*(0x[0-9a-f_]+|[0-9_]+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(value: int | str, field: str = "memory") -> int:
    """Bytes from ``128M``, ``2G``, ``512KiB``, ``0x8000000`` or an int (binary units, as
    QEMU's ``-m``)."""
    if isinstance(value, bool):
        raise ConfigError(f"{field}: expected a size like 128M or 2G, got {value!r}")
    if isinstance(value, int):
        size = value
    else:
        m = _SIZE_RE.fullmatch(str(value))
        if m is None:
            raise ConfigError(f"{field}: cannot read size {value!r}; use a size like 128M or 2G")
        size = int(m.group(1), 0) * _SIZE_UNITS[m.group(2).upper()]
    if size <= 0:
        raise ConfigError(f"{field}: size must be positive, got {value!r}")
    return size


def parse_int(value: int | str) -> int:
    """An int from an int or a string in any Python base (``0x10000000``, ``0o17``, ``42``).

    Used as the attrs converter of numeric device options, which arrive as strings from
    ``--device uart16550,base=0x10000000``.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).replace("_", ""), 0)
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


def _optional_int(value: int | str | None) -> int | None:
    return None if value is None else parse_int(value)


def _size(value: int | str) -> int:
    return parse_size(value, "memory")


@attrs.define
class DeviceConfig:
    """One device to add to a machine: the device component ``kind``, the instance
    ``name`` (unique in the machine) and the options for its factory."""

    kind: str
    name: str = ""
    #: option name -> value (strings from the command line, TOML values from a file)
    options: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class MachineConfig:
    """Everything needed to assemble and boot a machine (see docs/contracts.md)."""

    #: guest instruction set (a registered "isa" name)
    isa: str | None = None
    #: execution engine
    engine: str = "interp"
    #: MMU strategy; None picks the ISA's default (``Isa.default_mmu``)
    mmu: str | None = None
    #: board: memory map, default devices and boot protocol
    board: str | None = None
    #: guest RAM in bytes ("128M" and the like are converted)
    memory: int = attrs.field(default=128 << 20, converter=_size)
    #: number of harts
    smp: int = attrs.field(default=1, converter=parse_int)
    #: extra devices beyond the board's own
    devices: list[DeviceConfig] = attrs.field(factory=list)
    #: kernel or bare-metal program the board loads
    kernel: str | None = None
    #: firmware the board runs first (OpenSBI ...)
    bios: str | None = None
    #: initial RAM disk
    initrd: str | None = None
    #: kernel command line
    append: str | None = None
    #: disk images, in order
    drives: list[str] = attrs.field(factory=list)
    #: stop after this many retired instructions (summed over harts)
    limit: int | None = attrs.field(default=None, converter=_optional_int)
    #: file the board writes the test signature to (riscv-arch-test style)
    signature: str | None = None
    #: print every instruction before it executes (``vmcore.tracing``; slow)
    trace: bool = False
    #: "virtual" (time follows retired instructions) or "host" (wall clock)
    clock: str = "virtual"

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check what can be checked without the registry (raising :class:`ConfigError`),
        naming unnamed devices on the way."""
        if self.smp < 1:
            raise ConfigError(f"smp: need at least one hart, got {self.smp}")
        if self.clock not in CLOCKS:
            raise ConfigError(f"clock: {self.clock!r} is not one of {', '.join(CLOCKS)}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit: must be a positive instruction count, got {self.limit}")
        _name_devices(self.devices)
        seen: set[str] = set()
        for dev in self.devices:
            if dev.name in seen:
                raise ConfigError(f"devices: two devices named {dev.name!r}; give one name=...")
            seen.add(dev.name)

    def check_files(self) -> None:
        """Every boot file and drive named must exist (before a board tries to load it)."""
        for field, path in self._files():
            if not os.path.isfile(path):
                raise ConfigError(f"{field}: no such file: {path}")

    def _files(self) -> list[tuple[str, str]]:
        named = [(f, getattr(self, f)) for f in ("kernel", "bios", "initrd")]
        return [(f, p) for f, p in named if p] + [("drive", d) for d in self.drives]

    def merged(self, overrides: dict[str, Any]) -> MachineConfig:
        """A copy with ``overrides`` applied: scalar fields replace, ``devices`` and
        ``drives`` are appended. Keys whose value is None are ignored (flag not given)."""
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if value is None or (key in _LIST_FIELDS and not value):
                continue
            if key not in _FIELDS:
                raise ConfigError(f"unknown machine setting {key!r}; valid: {', '.join(_FIELDS)}")
            if key == "devices":
                value = [d if isinstance(d, DeviceConfig) else parse_device_spec(d) for d in value]
            changes[key] = getattr(self, key) + list(value) if key in _LIST_FIELDS else value
        return attrs.evolve(self, **changes)


_FIELDS: tuple[str, ...] = tuple(f.name for f in attrs.fields(MachineConfig))
_LIST_FIELDS = frozenset({"devices", "drives"})
_PATH_FIELDS = ("kernel", "bios", "initrd", "signature")


def _name_devices(devices: list[DeviceConfig]) -> None:
    """Give unnamed devices a name: the kind for the first of it, then ``kind-1``, ..."""
    taken = {d.name for d in devices if d.name}
    for dev in devices:
        if dev.name:
            continue
        name, n = dev.kind, 0
        while name in taken:
            n += 1
            name = f"{dev.kind}-{n}"
        dev.name = name
        taken.add(name)


def parse_device_spec(spec: str) -> DeviceConfig:
    """``KIND[,key=value...]`` (the ``--device`` syntax, as QEMU's ``-device``); the key
    ``name`` sets the instance name."""
    kind, *pairs = (p.strip() for p in spec.split(","))
    if not kind or "=" in kind:
        raise ConfigError(f"device: {spec!r} must start with a device kind: KIND[,key=value...]")
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"device {kind}: {pair!r} is not key=value")
        if key in options:
            raise ConfigError(f"device {kind}: option {key!r} given twice")
        options[key] = value
    name = options.pop("name", "")
    return DeviceConfig(kind, name, options)


def load_toml(path: str | os.PathLike[str]) -> MachineConfig:
    """Read a machine file. Relative paths in it are taken relative to the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config: no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path}: {exc}") from None
    return from_dict(data, base_dir=path.parent, source=str(path))


def from_dict(
    data: dict[str, Any], base_dir: Path | None = None, source: str = "config"
) -> MachineConfig:
    """A :class:`MachineConfig` from a parsed TOML document (or any dict of the same shape)."""
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        bad = ", ".join(map(repr, unknown))
        raise ConfigError(f"{source}: unknown setting {bad}; valid: {', '.join(_FIELDS)}")
    data = dict(data)
    devices = []
    for i, table in enumerate(data.pop("devices", [])):
        if not isinstance(table, dict) or "kind" not in table:
            raise ConfigError(f'{source}: devices[{i}] needs a kind = "..." entry')
        table = dict(table)
        devices.append(DeviceConfig(table.pop("kind"), table.pop("name", ""), table))
    if base_dir is not None:
        for key in _PATH_FIELDS:
            if isinstance(data.get(key), str):
                data[key] = str(base_dir / data[key])
        if "drives" in data:
            data["drives"] = [str(base_dir / d) for d in data["drives"]]
    for key, kind in _TYPES.items():
        if key in data and not isinstance(data[key], kind):
            want = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
            raise ConfigError(f"{source}: {key} must be {want}, got {data[key]!r}")
    try:
        return MachineConfig(devices=devices, **data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from None


_TYPES: dict[str, type | tuple[type, ...]] = {
    "isa": str,
    "engine": str,
    "mmu": str,
    "board": str,
    "memory": (int, str),
    "smp": int,
    "kernel": str,
    "bios": str,
    "initrd": str,
    "append": str,
    "drives": list,
    "limit": int,
    "signature": str,
    "trace": bool,
    "clock": str,
}
