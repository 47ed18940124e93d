"""The physical bus: RAM, ROM, MMIO, bus errors and code-write listeners."""

from __future__ import annotations

import pytest

from vmcore import MMIO, RAM, ROM, Access, Bus, BusError
from vmcore.memory import PAGE_SIZE


class Regs:
    """An MMIO device that logs every access and answers reads with a fixed pattern."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def mmio_read(self, offset: int, size: int) -> int:
        self.log.append(("r", offset, size))
        return 0x1122_3344_5566_7788_99AA  # wider than any access: the bus must mask it

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        self.log.append(("w", offset, size, value))


@pytest.fixture
def bus() -> Bus:
    b = Bus()
    b.add_ram(0x8000_0000, 2 * PAGE_SIZE)
    b.add_rom(0x1000, b"\x13\x00\x00\x00ROM!", name="boot")
    return b


def test_ram_round_trip_little_endian(bus):
    bus.write(0x8000_0010, 8, 0x0102_0304_0506_0708)
    assert bus.read(0x8000_0010, 8) == 0x0102_0304_0506_0708
    assert bus.read(0x8000_0010, 1) == 0x08
    assert bus.read(0x8000_0016, 2) == 0x0102
    assert bus.read_bytes(0x8000_0010, 3) == b"\x08\x07\x06"
    bus.write(0x8000_0000, 2, 0x1_ABCD)  # wider than the access: truncated
    assert bus.read(0x8000_0000, 4) == 0xABCD


def test_rom_reads_but_refuses_guest_writes(bus):
    assert bus.read(0x1000, 4) == 0x13
    assert bus.read_bytes(0x1004, 4) == b"ROM!"
    with pytest.raises(BusError) as err:
        bus.write(0x1000, 4, 0)
    assert err.value.reason == "read-only" and err.value.access is Access.STORE
    with pytest.raises(BusError):
        bus.write_bytes(0x1000, b"x")
    bus.write_bytes(0x1000, b"\x6f", force=True)  # loaders may
    assert bus.read(0x1000, 1) == 0x6F


def test_unmapped_and_straddling_accesses_are_bus_errors(bus):
    with pytest.raises(BusError) as err:
        bus.read(0x4000_0000, 4, Access.FETCH)
    assert (err.value.addr, err.value.access, err.value.size) == (0x4000_0000, Access.FETCH, 4)
    assert "0x40000000" in str(err.value)
    end = 0x8000_0000 + 2 * PAGE_SIZE
    with pytest.raises(BusError):
        bus.read(end - 2, 4)  # runs off the end of RAM
    with pytest.raises(BusError):
        bus.read_bytes(end - 2, 4)
    assert bus.read(end - 4, 4) == 0


def test_mmio_gets_offsets_and_masked_values(bus):
    dev = Regs()
    region = bus.add_mmio(0x1000_0000, 0x100, dev, "regs")
    assert isinstance(region, MMIO) and bus.find(0x1000_00FF) is region
    assert bus.read(0x1000_0008, 4) == 0x7788_99AA
    assert bus.read(0x1000_0008, 1) == 0xAA
    bus.write(0x1000_0010, 2, 0xDEAD_BEEF)
    assert dev.log == [("r", 8, 4), ("r", 8, 1), ("w", 0x10, 2, 0xBEEF)]
    with pytest.raises(BusError, match="bulk read of MMIO"):
        bus.read_bytes(0x1000_0000, 4)


def test_overlapping_regions_are_refused(bus):
    with pytest.raises(ValueError, match="overlaps"):
        bus.add_ram(0x8000_1000, PAGE_SIZE)
    with pytest.raises(ValueError, match="positive size"):
        bus.add_ram(0x9000_0000, 0)
    bus.add_ram(0x8000_0000 + 2 * PAGE_SIZE, PAGE_SIZE, "adjacent")  # touching is fine


def test_main_ram_is_the_largest_writable_ram(bus):
    assert bus.main_ram.base == 0x8000_0000
    bus.add_ram(0x9000_0000, 16 * PAGE_SIZE, "big")
    bus.add_rom(0xA000_0000, bytes(64 * PAGE_SIZE), name="huge-rom")
    assert bus.main_ram.name == "big"
    assert type(bus.main_ram) is RAM
    assert isinstance(bus.find(0xA000_0000), ROM)  # bigger, but not writable


def test_code_write_listeners_fire_once_per_marked_page(bus):
    hits: list[int] = []
    bus.code_write_listeners.append(hits.append)
    ram = bus.find(0x8000_0000)
    ram.code_pages[1] = 1  # an engine translated code from the second page
    bus.write(0x8000_0000, 4, 1)  # first page: not code
    assert hits == []
    bus.write(0x8000_1004, 4, 1)
    assert hits == [0x8000_1000]
    assert ram.code_pages[1] == 0  # unmarked until translated again
    bus.write(0x8000_1008, 4, 1)
    assert hits == [0x8000_1000]
    ram.code_pages[0] = ram.code_pages[1] = 1
    bus.write_bytes(0x8000_0FFE, b"abcd")  # straddles both pages
    assert hits == [0x8000_1000, 0x8000_0000, 0x8000_1000]


def test_read_cstring(bus):
    bus.write_bytes(0x8000_0100, b"hello\0world")
    assert bus.read_cstring(0x8000_0100) == b"hello"
    bus.write_bytes(0x8000_0200, b"x" * 300 + b"\0")  # longer than one chunk
    assert bus.read_cstring(0x8000_0200) == b"x" * 300
    with pytest.raises(BusError, match="too long"):
        bus.read_cstring(0x8000_0200, limit=100)


def test_ram_host_address_is_stable_and_backs_the_buffer(bus):
    import ctypes

    ram = bus.main_ram
    bus.write(0x8000_0040, 4, 0xCAFEF00D)
    assert ctypes.c_uint32.from_address(ram.host_address + 0x40).value == 0xCAFEF00D
