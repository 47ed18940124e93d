"""The physical bus: RAM (mmap-backed), ROM and MMIO regions.

RAM is an anonymous ``mmap`` so a large guest memory costs nothing until it is touched, and
its host address is available to native engines. Accesses are little-endian, 1 to 16 bytes.
An access where nothing is mapped raises :class:`BusError`, which the engine hands to the
ISA to become a guest access fault.

Engines that translate code mark the pages they translated from in ``RAM.code_pages``; a
write to a marked page calls the bus's code-write listeners so stale translations die.
"""

from __future__ import annotations

import bisect
import ctypes
import mmap
import struct
from collections.abc import Callable
from typing import Protocol

from vmcore.ir import Access

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

_PACK = {
    1: struct.Struct("<B"),
    2: struct.Struct("<H"),
    4: struct.Struct("<I"),
    8: struct.Struct("<Q"),
}


class BusError(Exception):
    """Nothing answers at ``addr`` for this ``access`` (or the region refuses it)."""

    def __init__(self, addr: int, access: Access, size: int = 0, reason: str = "unmapped"):
        super().__init__(f"{reason} {access.name.lower()} of {size} bytes at {addr:#x}")
        self.addr = addr
        self.access = access
        self.size = size
        self.reason = reason


class MMIODevice(Protocol):
    """What the bus needs of a device mapped into the physical address space."""

    def mmio_read(self, offset: int, size: int) -> int: ...

    def mmio_write(self, offset: int, size: int, value: int) -> None: ...


class Region:
    """A contiguous range ``[base, base + size)`` of the physical address space."""

    kind = "region"

    def __init__(self, base: int, size: int, name: str) -> None:
        if size <= 0:
            raise ValueError(f"region {name!r} must have a positive size")
        self.base = base
        self.size = size
        self.name = name

    @property
    def end(self) -> int:
        return self.base + self.size

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name} {self.base:#x}-{self.end - 1:#x}>"


class RAM(Region):
    """Guest RAM in an anonymous mmap. ``mem`` supports the buffer protocol."""

    kind = "ram"
    writable = True

    def __init__(self, base: int, size: int, name: str = "ram") -> None:
        super().__init__(base, size, name)
        size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        self.mem = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        #: one byte per page: nonzero when some engine holds a translation from that page;
        #: plus a spare zero byte, so native code can read a page's byte and the next one's
        #: as one 16-bit word
        self.code_pages = bytearray((size >> PAGE_SHIFT) + 1)
        self._anchor = ctypes.c_char.from_buffer(self.mem)

    @property
    def host_address(self) -> int:
        """Host address of the first byte, for native engines."""
        return ctypes.addressof(self._anchor)

    def read(self, offset: int, size: int) -> int:
        return int.from_bytes(self.mem[offset : offset + size], "little")

    def write(self, offset: int, size: int, value: int) -> None:
        self.mem[offset : offset + size] = (value & ((1 << (size * 8)) - 1)).to_bytes(
            size, "little"
        )


class ROM(RAM):
    """Read-only memory: guest writes are bus errors; loaders write through ``load``."""

    kind = "rom"
    writable = False

    def __init__(self, base: int, data: bytes, name: str = "rom", size: int | None = None):
        super().__init__(base, size or len(data), name)
        self.mem[: len(data)] = data


class MMIO(Region):
    """A device's register window; accesses are forwarded with the offset into it."""

    kind = "mmio"

    def __init__(self, base: int, size: int, device: MMIODevice, name: str) -> None:
        super().__init__(base, size, name)
        self.device = device


class Bus:
    """The physical address space of a machine.

    Regions never overlap. ``read``/``write`` are the slow, general path (MMIO, loaders,
    debuggers, syscalls); engines reach the main RAM directly and come here otherwise.
    """

    def __init__(self) -> None:
        self.regions: list[Region] = []
        self._bases: list[int] = []
        self.code_write_listeners: list[Callable[[int], None]] = []

    # -- building -----------------------------------------------------------------------

    def add(self, region: Region) -> Region:
        for r in self.regions:
            if region.base < r.end and r.base < region.end:
                raise ValueError(f"{region!r} overlaps {r!r}")
        i = bisect.bisect(self._bases, region.base)
        self.regions.insert(i, region)
        self._bases.insert(i, region.base)
        return region

    def add_ram(self, base: int, size: int, name: str = "ram") -> RAM:
        return self.add(RAM(base, size, name))

    def add_rom(self, base: int, data: bytes, name: str = "rom", size: int | None = None) -> ROM:
        return self.add(ROM(base, data, name, size))

    def add_mmio(self, base: int, size: int, device: MMIODevice, name: str) -> MMIO:
        return self.add(MMIO(base, size, device, name))

    @property
    def main_ram(self) -> RAM | None:
        """The largest writable RAM region: the one engines give a fast path."""
        rams = [r for r in self.regions if type(r) is RAM]
        return max(rams, key=lambda r: r.size, default=None)

    # -- lookup ---------------------------------------------------------------------------

    def find(self, addr: int) -> Region | None:
        i = bisect.bisect(self._bases, addr) - 1
        if i >= 0:
            r = self.regions[i]
            if addr < r.end:
                return r
        return None

    def _region_for(self, addr: int, size: int, access: Access) -> Region:
        r = self.find(addr)
        if r is None or addr + size > r.end:
            raise BusError(addr, access, size)
        return r

    # -- access ---------------------------------------------------------------------------

    def read(self, addr: int, size: int, access: Access = Access.LOAD) -> int:
        r = self._region_for(addr, size, access)
        if isinstance(r, MMIO):
            return r.device.mmio_read(addr - r.base, size) & ((1 << (size * 8)) - 1)
        return r.read(addr - r.base, size)

    def write(self, addr: int, size: int, value: int) -> None:
        r = self._region_for(addr, size, Access.STORE)
        if isinstance(r, MMIO):
            r.device.mmio_write(addr - r.base, size, value & ((1 << (size * 8)) - 1))
            return
        if not r.writable:
            raise BusError(addr, Access.STORE, size, "read-only")
        off = addr - r.base
        r.write(off, size, value)
        self.note_write(r, off, size)

    def note_write(self, ram: RAM, offset: int, size: int) -> None:
        """Tell code-write listeners if ``[offset, offset+size)`` of ``ram`` held code."""
        cp = ram.code_pages
        first, last = offset >> PAGE_SHIFT, (offset + size - 1) >> PAGE_SHIFT
        for page in range(first, last + 1):
            if cp[page]:
                cp[page] = 0
                for listener in self.code_write_listeners:
                    listener(ram.base + (page << PAGE_SHIFT))

    def read_bytes(self, addr: int, n: int) -> bytes:
        """Copy ``n`` bytes out of RAM/ROM (loaders, syscalls, debuggers)."""
        out = bytearray()
        while n > 0:
            r = self._region_for(addr, 1, Access.LOAD)
            if isinstance(r, MMIO):
                raise BusError(addr, Access.LOAD, n, "bulk read of MMIO")
            off = addr - r.base
            k = min(n, r.end - addr)
            out += r.mem[off : off + k]
            addr += k
            n -= k
        return bytes(out)

    def write_bytes(self, addr: int, data: bytes, force: bool = False) -> None:
        """Copy bytes into RAM (``force`` also writes ROM: for loaders)."""
        data = memoryview(data)
        while len(data):
            r = self._region_for(addr, 1, Access.STORE)
            if isinstance(r, MMIO) or (not r.writable and not force):
                raise BusError(addr, Access.STORE, len(data), "bulk write")
            off = addr - r.base
            k = min(len(data), r.end - addr)
            r.mem[off : off + k] = data[:k]
            self.note_write(r, off, k)
            addr += k
            data = data[k:]

    def read_cstring(self, addr: int, limit: int = 1 << 16) -> bytes:
        """A NUL-terminated string (without the NUL)."""
        out = bytearray()
        while len(out) < limit:
            chunk = self.read_bytes(addr, min(256, self._room(addr)))
            nul = chunk.find(0)
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
            addr += len(chunk)
        raise BusError(addr, Access.LOAD, 0, "string too long")

    def _room(self, addr: int) -> int:
        r = self._region_for(addr, 1, Access.LOAD)
        return r.end - addr


def pack_struct(size: int) -> struct.Struct:
    """The little-endian unsigned struct for a 1/2/4/8-byte access."""
    return _PACK[size]
