"""Control and status registers, trap entry and return (machine and user modes).

The CSR file is a table: each entry says who may access a register and how it reads and
writes. Hot fields (fflags, frm, mstatus, the privilege level) live in state slots so
lifted code can touch them inline; everything else lives here.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from vmcore import Cpu, GuestTrap

from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.traps import INTERRUPT_BIT, Cause

M, S, U = 3, 1, 0

MSTATUS_SIE = 1 << 1
MSTATUS_MIE = 1 << 3
MSTATUS_SPIE = 1 << 5
MSTATUS_MPIE = 1 << 7
MSTATUS_SPP = 1 << 8
MSTATUS_MPP = 3 << 11
MSTATUS_FS = 3 << 13
MSTATUS_MPRV = 1 << 17
MSTATUS_SUM = 1 << 18
MSTATUS_MXR = 1 << 19
MSTATUS_TVM = 1 << 20
MSTATUS_TW = 1 << 21
MSTATUS_TSR = 1 << 22
MSTATUS_UXL = 2 << 32
MSTATUS_SXL = 2 << 34
MSTATUS_SD = 1 << 63
FS_INITIAL = 1 << 13
FS_DIRTY = 3 << 13

#: writable bits of mstatus (M and U modes, S-mode bits kept for the S-mode work)
MSTATUS_WRITABLE = (
    MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP
    | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW
    | MSTATUS_TSR
)

MISA = (2 << 62) | sum(1 << (ord(ch) - ord("A")) for ch in "IMAFDCU")


class CsrFile:
    """Per-hart CSR values not held in slots."""

    def __init__(self, cpu: Cpu) -> None:
        self.cpu = cpu
        self.values: dict[int, int] = {}

    def reset(self) -> None:
        self.values = {num: spec.reset for num, spec in CSRS.items() if spec.store}
        self.values[0xF14] = self.cpu.index


@attrs.define(frozen=True)
class CsrSpec:
    """One CSR: name, lowest privilege, read and write behaviour."""

    name: str
    priv: int = M
    read: Callable[[Cpu, int], int] | None = None
    write: Callable[[Cpu, int, int], None] | None = None
    wmask: int = (1 << 64) - 1
    reset: int = 0
    readonly: bool = False
    store: bool = True  #: value kept in CsrFile.values


def _slot_read(slot, fmask=(1 << 64) - 1, shift=0):
    return lambda cpu, num: (cpu.s[slot] >> shift) & fmask


def _mstatus_write(cpu: Cpu, num: int, value: int) -> None:
    v = (cpu.s[R.MSTATUS] & ~MSTATUS_WRITABLE) | (value & MSTATUS_WRITABLE)
    if (v >> 11) & 3 == 2:  # MPP: reserved value keeps the old one
        v = (v & ~MSTATUS_MPP) | (cpu.s[R.MSTATUS] & MSTATUS_MPP)
    v |= MSTATUS_UXL | MSTATUS_SXL
    v = (v | MSTATUS_SD) if (v & MSTATUS_FS) == FS_DIRTY else (v & ~MSTATUS_SD)
    cpu.s[R.MSTATUS] = v


def _fflags_write(cpu, num, value):
    cpu.s[R.FFLAGS] = value & 0x1F
    _fs_dirty(cpu)


def _frm_write(cpu, num, value):
    cpu.s[R.FRM] = value & 7
    _fs_dirty(cpu)


def _fcsr_write(cpu, num, value):
    cpu.s[R.FFLAGS] = value & 0x1F
    cpu.s[R.FRM] = (value >> 5) & 7
    _fs_dirty(cpu)


def _fs_dirty(cpu):
    cpu.s[R.MSTATUS] |= FS_DIRTY | MSTATUS_SD


def _counter(kind):
    def read(cpu, num):
        if kind == "time":
            return cpu.machine.now_ns() // 100  # 10 MHz timebase
        return cpu.retired()

    return read


CSRS: dict[int, CsrSpec] = {
    0x001: CsrSpec("fflags", U, _slot_read(R.FFLAGS), _fflags_write, store=False),
    0x002: CsrSpec("frm", U, _slot_read(R.FRM), _frm_write, store=False),
    0x003: CsrSpec(
        "fcsr", U, lambda c, n: c.s[R.FFLAGS] | (c.s[R.FRM] << 5), _fcsr_write, store=False
    ),
    0xC00: CsrSpec("cycle", U, _counter("cycle"), readonly=True, store=False),
    0xC01: CsrSpec("time", U, _counter("time"), readonly=True, store=False),
    0xC02: CsrSpec("instret", U, _counter("instret"), readonly=True, store=False),
    0x300: CsrSpec("mstatus", M, _slot_read(R.MSTATUS), _mstatus_write, store=False),
    0x301: CsrSpec("misa", M, lambda c, n: MISA, lambda c, n, v: None, store=False),
    0x302: CsrSpec("medeleg", M, wmask=0xB3FF),
    0x303: CsrSpec("mideleg", M, wmask=0x222),
    0x304: CsrSpec("mie", M, wmask=0xAAA),
    0x305: CsrSpec("mtvec", M, wmask=~2 & ((1 << 64) - 1)),
    0x306: CsrSpec("mcounteren", M, wmask=0xFFFFFFFF),
    0x340: CsrSpec("mscratch", M),
    0x341: CsrSpec("mepc", M, wmask=~1 & ((1 << 64) - 1)),
    0x342: CsrSpec("mcause", M),
    0x343: CsrSpec("mtval", M),
    0x344: CsrSpec("mip", M, wmask=0x222),
    0xB00: CsrSpec("mcycle", M, _counter("cycle"), store=False),
    0xB02: CsrSpec("minstret", M, _counter("instret"), store=False),
    0xF11: CsrSpec("mvendorid", M, readonly=True),
    0xF12: CsrSpec("marchid", M, readonly=True),
    0xF13: CsrSpec("mimpid", M, readonly=True),
    0xF14: CsrSpec("mhartid", M, readonly=True),
}


def illegal(cpu: Cpu) -> GuestTrap:
    return GuestTrap(Cause.ILLEGAL_INSN, cpu.arch.current_bits)


def csr_access(cpu: Cpu, num: int, value: int, op: int, write: bool, bits: int) -> int:
    """csrrw/csrrs/csrrc: check access, return the old value, apply the write.

    ``op``: 0 write, 1 set bits, 2 clear bits. ``write`` is false for csrrs/csrrc with
    rs1 = x0 (or a zero immediate), which must not write and so may touch read-only CSRs.
    """
    spec = CSRS.get(num)
    priv = cpu.s[R.PRIV]
    if spec is None or priv < spec.priv or (write and (spec.readonly or num >> 10 == 3)):
        raise GuestTrap(Cause.ILLEGAL_INSN, bits)
    if num in (0x001, 0x002, 0x003) and cpu.s[R.MSTATUS] & MSTATUS_FS == 0:
        raise GuestTrap(Cause.ILLEGAL_INSN, bits)
    store = cpu.arch.csrs.values
    old = spec.read(cpu, num) if spec.read else store.get(num, 0)
    if write:
        new = (value, old | value, old & ~value)[op]
        if spec.write:
            spec.write(cpu, num, new)
        else:
            store[num] = (old & ~spec.wmask) | (new & spec.wmask)
    return old


def take_trap(cpu: Cpu, cause: int, tval: int, pc: int, interrupt: bool = False) -> int:
    """Enter the machine-mode trap handler; return the handler's pc."""
    store = cpu.arch.csrs.values
    s = cpu.s
    store[0x341] = pc
    store[0x342] = cause | (INTERRUPT_BIT if interrupt else 0)
    store[0x343] = tval
    ms = s[R.MSTATUS]
    mie = (ms >> 3) & 1
    ms = (ms & ~(MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE)) | (mie << 7) | (s[R.PRIV] << 11)
    s[R.MSTATUS] = ms
    s[R.PRIV] = M
    s[R.RESERVATION] = R.RESERVATION_NONE
    tvec = store.get(0x305, 0)
    base = tvec & ~3
    if interrupt and tvec & 1:
        return base + 4 * cause
    return base


def mret(cpu: Cpu) -> int:
    store = cpu.arch.csrs.values
    s = cpu.s
    ms = s[R.MSTATUS]
    mpp = (ms >> 11) & 3
    ms = (ms & ~(MSTATUS_MIE | MSTATUS_MPP)) | (((ms >> 7) & 1) << 3) | MSTATUS_MPIE
    if mpp != M:
        ms &= ~MSTATUS_MPRV
    s[R.MSTATUS] = ms
    s[R.PRIV] = mpp
    return store.get(0x341, 0)
