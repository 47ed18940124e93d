"""The process's address space: which pages are mapped with which protection, brk, mmap.

All of user memory is one big sparse RAM region (an anonymous host mmap: a page costs
nothing until touched). This module keeps the Linux view on top of it: one byte per page
(0 = unmapped, else ``MAPPED | prot``), the program break and a top-down mmap allocator,
as Linux's ``mm/mmap.c`` does for a 64-bit process. Instruction fetch consults it (see
:class:`UserMmu`), so a jump into unmapped or non-executable memory faults; syscalls use
it to answer EFAULT. Plain loads and stores go straight to the RAM (engines' fast path), so
only the NULL area below the RAM faults on data accesses.
"""

from __future__ import annotations

import mmap as _mmap

from vmcore.ir import Access
from vmcore.memory import PAGE_SHIFT, PAGE_SIZE, RAM, Bus, BusError
from vmcore.mmu import FlatMmu

PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC
MAPPED = 0x80


def page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def page_down(x: int) -> int:
    return x & ~(PAGE_SIZE - 1)


class AddressSpace:
    """Page-granular bookkeeping over ``ram`` (guest addresses ``ram.base .. ram.end``)."""

    def __init__(self, bus: Bus, ram: RAM) -> None:
        self.bus = bus
        self.ram = ram
        self.base = ram.base
        self.end = ram.end
        self.pages = bytearray(ram.size >> PAGE_SHIFT)
        self.brk_start = 0
        self.brk = 0
        #: allocations search downwards from here (set below the stack by the loader)
        self.mmap_top = self.end

    # -- queries -----------------------------------------------------------------------------

    def _range(self, addr: int, length: int) -> tuple[int, int] | None:
        """Page indexes ``[first, last)`` covering ``[addr, addr+length)``, or None if any
        of it lies outside the RAM."""
        if length <= 0:
            return None
        end = addr + length
        if addr < self.base or end > self.end:
            return None
        return (addr - self.base) >> PAGE_SHIFT, (end - self.base + PAGE_SIZE - 1) >> PAGE_SHIFT

    def prot_at(self, addr: int) -> int:
        """PROT_* of the page holding ``addr``; -1 when it is not mapped."""
        if not self.base <= addr < self.end:
            return -1
        v = self.pages[(addr - self.base) >> PAGE_SHIFT]
        return v & PROT_MASK if v else -1

    def executable(self, addr: int) -> bool:
        if not self.base <= addr < self.end:
            return False
        return bool(self.pages[(addr - self.base) >> PAGE_SHIFT] & PROT_EXEC)

    def accessible(self, addr: int, length: int, prot: int) -> bool:
        """True when every page of the range is mapped with at least ``prot``."""
        if length == 0:
            return True
        r = self._range(addr, length)
        if r is None:
            return False
        return all(v and (v & prot) == prot for v in self.pages[r[0] : r[1]])

    def is_free(self, addr: int, length: int) -> bool:
        r = self._range(addr, length)
        return r is not None and self.pages.count(0, r[0], r[1]) == r[1] - r[0]

    def regions(self) -> list[tuple[int, int, int]]:
        """Mapped ranges as ``(start, end, prot)``, merged (for /proc/self/maps, tests)."""
        out: list[tuple[int, int, int]] = []
        pages = self.pages
        i, n = 0, len(pages)
        while i < n:
            v = pages[i]
            if not v:
                i = _skip0(pages, i)
                continue
            j = i
            while j < n and pages[j] == v:
                j += 1
            out.append((self.base + (i << PAGE_SHIFT), self.base + (j << PAGE_SHIFT), v & 7))
            i = j
        return out

    # -- changes -----------------------------------------------------------------------------

    def map(self, addr: int, length: int, prot: int, zero: bool = True) -> None:
        """Mark ``[addr, addr+length)`` mapped (page-rounded); ``zero`` gives fresh pages."""
        first, last = self._checked(addr, length)
        if zero:
            self._discard(first, last)
        self.pages[first:last] = bytes([MAPPED | (prot & PROT_MASK)]) * (last - first)

    def unmap(self, addr: int, length: int) -> None:
        first, last = self._checked(addr, length)
        self._discard(first, last)
        self.pages[first:last] = bytes(last - first)

    def protect(self, addr: int, length: int, prot: int) -> bool:
        """mprotect: False (ENOMEM) when part of the range is not mapped."""
        first, last = self._checked(addr, length)
        if self.pages.find(0, first, last) >= 0:
            return False
        old = self.pages[first:last]
        if any(v & PROT_EXEC for v in old) and not prot & PROT_EXEC:
            self._invalidate_code(first, last)
        self.pages[first:last] = bytes([MAPPED | (prot & PROT_MASK)]) * (last - first)
        return True

    def find_free(self, length: int, below: int | None = None) -> int | None:
        """Highest free page-aligned range of ``length`` bytes ending at or below
        ``below`` (default: the mmap top), as Linux's top-down allocator."""
        n = page_up(length) >> PAGE_SHIFT
        top = ((below or self.mmap_top) - self.base) >> PAGE_SHIFT
        lo = (page_up(max(self.brk, self.brk_start)) - self.base) >> PAGE_SHIFT
        if n <= 0 or top <= lo or n > top:  # (a pattern of n pages: not for 2**52 of them)
            return None
        i = self.pages.rfind(bytes(n), max(lo, 0), top)
        if i < 0:
            i = self.pages.rfind(bytes(n), 0, top)
            if i < 0:
                return None
        return self.base + (i << PAGE_SHIFT)

    def set_brk(self, new: int) -> int:
        """The brk syscall: move the break if the pages are free; return the break."""
        if new < self.brk_start:
            return self.brk
        old_end, new_end = page_up(self.brk), page_up(new)
        if new_end > old_end:
            if new_end > self.end or not self.is_free(old_end, new_end - old_end):
                return self.brk
            self.map(old_end, new_end - old_end, PROT_READ | PROT_WRITE)
        elif new_end < old_end:
            self.unmap(new_end, old_end - new_end)
        self.brk = new
        return self.brk

    # -- internals ----------------------------------------------------------------------------

    def _checked(self, addr: int, length: int) -> tuple[int, int]:
        r = self._range(page_down(addr), page_up(addr + length) - page_down(addr))
        if r is None:
            raise BusError(addr, Access.LOAD, length, "outside user memory")
        return r

    def _discard(self, first: int, last: int) -> None:
        """Give the host pages back (they read as zero again) and drop stale code."""
        if last <= first:
            return
        self._invalidate_code(first, last)
        self.ram.mem.madvise(_mmap.MADV_DONTNEED, first << PAGE_SHIFT, (last - first) << PAGE_SHIFT)

    def _invalidate_code(self, first: int, last: int) -> None:
        cp = self.ram.code_pages
        i = cp.find(1, first, last)
        while 0 <= i < last:
            self.bus.note_write(self.ram, i << PAGE_SHIFT, 1)
            i = cp.find(1, i + 1, last)


def _skip0(pages: bytearray, i: int) -> int:
    """Index of the next nonzero byte at or after ``i`` (or len)."""
    n = len(pages)
    step = 4096
    while i < n:
        chunk = pages[i : i + step]
        if chunk.count(0) != len(chunk):
            return i + next(k for k, v in enumerate(chunk) if v)
        i += step
    return n


class UserMmu(FlatMmu):
    """Flat translation that refuses instruction fetch outside executable pages.

    Data accesses stay the identity (engines reach RAM directly); fetches are checked at
    translation time, which is when lifters fetch.
    """

    name = "linux-user"

    def __init__(self, cpu, space: AddressSpace | None = None) -> None:
        super().__init__(cpu)
        self.space = space

    def translate(self, vaddr: int, access: Access) -> int:
        if access == Access.FETCH and self.space is not None and not self.space.executable(vaddr):
            raise BusError(vaddr, Access.FETCH, 0, "not executable")
        return vaddr
