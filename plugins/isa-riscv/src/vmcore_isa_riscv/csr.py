"""Control and status registers, trap entry and trap return (M, S and U modes).

The CSR file is a table (:data:`CSRS`): each entry says how a register reads and writes and
what, beyond the privilege and read-only bits of its number, an access needs. Hot fields
(fflags, frm, mstatus, the privilege level) live in state slots so lifted code can touch
them inline; everything else lives in :class:`CsrFile`. An entry with a ``lift`` (the FP
CSRs, :class:`FpCsr`) is also accessed by csrr* as plain IR rather than through the
``csr_access`` state helper, which every engine runs far slower (glibc's libm reads and
restores fflags around quiet comparisons). Access checks follow the privileged
spec and Spike: bits 9:8 of the number give the lowest privilege, bits 11:10 == 3 make a
write illegal, a number not in the table is illegal.

Paging belongs to the hart's MMU: one that declares ``satp_modes`` (the satp MODE values it
translates, :mod:`~vmcore_isa_riscv.mmu`) makes satp, SUM, MXR and TVM writable and
sfence.vma legal. Under an MMU without them (``flat``) S mode is "bare S": satp reads zero,
SUM/MXR/TVM read zero and sfence.vma is illegal, as riscv-tests' ``rv64mi-p-illegal`` allows.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from vmcore import Cpu, GuestTrap, Value
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.traps import INTERRUPT_BIT, Cause

M, S, U = 3, 1, 0
MASK64 = (1 << 64) - 1

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

#: mstatus bits software may write (the paging ones only while an MMU can page)
MSTATUS_WRITABLE = (
    MSTATUS_SIE
    | MSTATUS_MIE
    | MSTATUS_SPIE
    | MSTATUS_MPIE
    | MSTATUS_SPP
    | MSTATUS_MPP
    | MSTATUS_FS
    | MSTATUS_MPRV
    | MSTATUS_TW
    | MSTATUS_TSR
)
MSTATUS_PAGING = MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM
#: the view of mstatus that sstatus gives
SSTATUS_MASK = (
    MSTATUS_SIE
    | MSTATUS_SPIE
    | MSTATUS_SPP
    | MSTATUS_FS
    | MSTATUS_SUM
    | MSTATUS_MXR
    | MSTATUS_UXL
    | MSTATUS_SD
)

MISA = (2 << 62) | sum(1 << (ord(ch) - ord("A")) for ch in "IMAFDCSU")

# interrupt bits of mip/mie
SSIP, MSIP, STIP, MTIP, SEIP, MEIP = (1 << 1), (1 << 3), (1 << 5), (1 << 7), (1 << 9), (1 << 11)
S_INTERRUPTS = SSIP | STIP | SEIP
M_INTERRUPTS = MSIP | MTIP | MEIP
#: interrupt numbers in the order the spec takes them when several are pending
INTERRUPT_PRIORITY = (11, 3, 7, 9, 1, 5)

#: exceptions medeleg can hand to S mode (all but ecall from M), as Spike
MEDELEG_MASK = 0xB3FF

# CSR numbers the trap machinery and devices use directly (the table names them all)
SSTATUS = 0x100
SIE = 0x104
STVEC = 0x105
SCOUNTEREN = 0x106
SSCRATCH = 0x140
SEPC = 0x141
SCAUSE = 0x142
STVAL = 0x143
SIP = 0x144
SATP = 0x180
MSTATUS = 0x300
MISA_NUM = 0x301
MEDELEG = 0x302
MIDELEG = 0x303
MIE = 0x304
MTVEC = 0x305
MCOUNTEREN = 0x306
MCOUNTINHIBIT = 0x320
MSCRATCH = 0x340
MEPC = 0x341
MCAUSE = 0x342
MTVAL = 0x343
MIP = 0x344
MCYCLE = 0xB00
MINSTRET = 0xB02
CYCLE = 0xC00
TIME = 0xC01
INSTRET = 0xC02
MHARTID = 0xF14
PMPCFG0, PMPADDR0 = 0x3A0, 0x3B0

PMP_R, PMP_W, PMP_A, PMP_L = 0x01, 0x02, 0x18, 0x80
PMP_TOR = 0x08
PMPADDR_MASK = (1 << 54) - 1

#: xtvec WARL: MODE 2 and 3 are reserved, so bit 1 always reads zero (as Spike)
TVEC_WMASK = MASK64 & ~2
#: mcounteren/scounteren after reset (the spec leaves it open): cycle, time and instret
#: readable below M, so Linux user mode (which never runs a kernel to set them) can rdtime;
#: firmware and the tests set their own value
COUNTEREN_RESET = 0x7
#: 10 MHz, the timebase of Spike and QEMU virt (time CSR and CLINT mtime)
TIMEBASE_HZ = 10_000_000


def _default_time(cpu: Cpu) -> int:
    return cpu.machine.now_ns() * TIMEBASE_HZ // 1_000_000_000


class CsrFile:
    """Per-hart CSR state not held in slots.

    ``values`` holds plain registers by number. Counters are derived from
    ``cpu.retired()``: ``offset`` makes writes to mcycle/minstret stick and ``frozen`` holds
    the value of a counter stopped by mcountinhibit. ``time_source`` gives the ``time`` CSR
    (a CLINT replaces it with its mtime).
    """

    def __init__(self, cpu: Cpu) -> None:
        self.cpu = cpu
        self.values: dict[int, int] = {}
        self.offset = {MCYCLE: 0, MINSTRET: 0}
        self.frozen: dict[int, int] = {}
        self.time_source: Callable[[Cpu], int] = _default_time
        self.reset()

    def reset(self) -> None:
        self.values = {num: spec.reset for num, spec in CSRS.items() if spec.store}
        self.values[MHARTID] = self.cpu.index
        self.offset = {MCYCLE: -self.cpu.retired(), MINSTRET: -self.cpu.retired()}
        self.frozen = {}

    def paging(self) -> bool:
        """True when the hart's MMU can translate (satp has a mode besides Bare)."""
        return bool(getattr(self.cpu.mmu, "satp_modes", ()))

    # -- counters ----------------------------------------------------------------------------

    def counter(self, num: int) -> int:
        if num in self.frozen:
            return self.frozen[num]
        return (self.cpu.retired() + self.offset[num]) & MASK64

    def set_counter(self, num: int, value: int) -> None:
        """The write suppresses the writing instruction's own increment (as Spike)."""
        if num in self.frozen:
            self.frozen[num] = value & MASK64
        else:
            self.offset[num] = value - (self.cpu.retired() + 1)

    def set_inhibit(self, value: int) -> None:
        for bit, num in ((0, MCYCLE), (2, MINSTRET)):
            stop = bool(value >> bit & 1)
            if stop and num not in self.frozen:
                self.frozen[num] = self.counter(num)
            elif not stop and num in self.frozen:
                self.offset[num] = self.frozen.pop(num) - (self.cpu.retired() + 1)
        self.values[MCOUNTINHIBIT] = value

    # -- interrupt lines ------------------------------------------------------------------------

    def set_pending(self, bits: int, level: bool) -> None:
        """Drive mip bits from a device (MTIP, MSIP, MEIP, SEIP lines)."""
        mip = self.values.get(MIP, 0)
        self.values[MIP] = (mip | bits) if level else (mip & ~bits)

    # -- debugger / test access (no permission checks) -----------------------------------------

    def read(self, num: int) -> int:
        spec = CSRS[num]
        return spec.read(self.cpu, num) if spec.read else self.values.get(num, 0)

    def write(self, num: int, value: int) -> None:
        _write(self.cpu, CSRS[num], num, value & MASK64)


@attrs.define(frozen=True)
class CsrSpec:
    """One CSR: how it reads and writes and what an access needs.

    ``read(cpu, num)``/``write(cpu, num, value)`` override plain storage in
    :attr:`CsrFile.values` (where writes keep ``wmask`` bits). ``check(cpu, num)`` is an
    extra access condition (FS enabled, counter enabled ...): False makes the access illegal.
    ``lift``, when set, gives csrr* the access as plain IR with the same meaning as
    ``check``, ``read`` and ``write``: ``lift_check(c)`` (False: illegal, decided at
    translation time), ``lift_read(c)`` and ``lift_write(c, value)`` (see :class:`FpCsr`);
    without it csrr* call :func:`csr_access`, a state helper.
    """

    name: str
    read: Callable[[Cpu, int], int] | None = None
    write: Callable[[Cpu, int, int], None] | None = None
    wmask: int = MASK64
    reset: int = 0
    check: Callable[[Cpu, int], bool] | None = None
    store: bool = True  #: value kept in CsrFile.values
    lift: FpCsr | None = None


# -- read/write behaviours -------------------------------------------------------------------


def _values(cpu: Cpu) -> dict[int, int]:
    return cpu.arch.csrs.values


def _zero(cpu: Cpu, num: int) -> int:
    return 0


def _ignore(cpu: Cpu, num: int, value: int) -> None:
    pass


def _legal_priv(mpp: int) -> int:
    """WARL privilege fields: the reserved value 2 reads as U (Spike's legalize_privilege)."""
    return U if mpp == 2 else mpp


def _mstatus_write(cpu: Cpu, num: int, value: int) -> None:
    writable = MSTATUS_WRITABLE | (MSTATUS_PAGING if cpu.arch.csrs.paging() else 0)
    v = (cpu.s[R.MSTATUS] & ~writable) | (value & writable)
    mpp = _legal_priv((v >> 11) & 3)
    v = (v & ~MSTATUS_MPP) | (mpp << 11) | MSTATUS_UXL | MSTATUS_SXL
    v = (v | MSTATUS_SD) if (v & MSTATUS_FS) == FS_DIRTY else (v & ~MSTATUS_SD)
    cpu.s[R.MSTATUS] = v


def _sstatus_read(cpu: Cpu, num: int) -> int:
    return cpu.s[R.MSTATUS] & SSTATUS_MASK


def _sstatus_write(cpu: Cpu, num: int, value: int) -> None:
    ms = cpu.s[R.MSTATUS]
    _mstatus_write(cpu, num, (ms & ~SSTATUS_MASK) | (value & SSTATUS_MASK))


def _sie_read(cpu: Cpu, num: int) -> int:
    v = _values(cpu)
    return v[MIE] & v[MIDELEG]


def _sie_write(cpu: Cpu, num: int, value: int) -> None:
    v = _values(cpu)
    deleg = v[MIDELEG] & S_INTERRUPTS
    v[MIE] = (v[MIE] & ~deleg) | (value & deleg)


def _sip_read(cpu: Cpu, num: int) -> int:
    v = _values(cpu)
    return v[MIP] & v[MIDELEG]


def _sip_write(cpu: Cpu, num: int, value: int) -> None:
    v = _values(cpu)
    deleg = v[MIDELEG] & SSIP
    v[MIP] = (v[MIP] & ~deleg) | (value & deleg)


def _satp_read(cpu: Cpu, num: int) -> int:
    return _values(cpu).get(SATP, 0)


def _satp_write(cpu: Cpu, num: int, value: int) -> None:
    """WARL: a MODE the MMU does not support leaves satp unchanged (the spec's rule);
    without paging satp is read-only zero (bare S mode).

    A write flushes the MMU's TLB (as Spike) and the engine's translations, which are
    cached by virtual pc and so depend on the page tables satp names.
    """
    modes = getattr(cpu.mmu, "satp_modes", ())
    if modes and (value >> 60 == 0 or value >> 60 in modes):
        _values(cpu)[SATP] = value
        cpu.mmu.flush()
        flush_translations(cpu)


def flush_translations(cpu: Cpu) -> None:
    """Drop the engine's translations (when a machine has an engine: unit tests may not)."""
    engine = cpu.machine.engine
    if engine is not None:
        engine.flush()


@attrs.define(frozen=True)
class FpCsr:
    """fflags, frm or fcsr: bit fields of the FFLAGS and FRM slots, legal only while
    mstatus.FS is not Off; a write makes FS (and SD) Dirty.

    ``fields`` are ``(slot, lsb, bits)``. The same description gives the helper's
    ``read``/``write``/``check`` (debuggers, :class:`CsrFile`) and the IR of the ``lift_*``
    methods that csrr* use instead of the helper. FS Off or not is part of the ISA's mode
    key (:meth:`~vmcore_isa_riscv.isa.RiscV64.mode_key`), so ``lift_check`` decides it at
    translation time, as the F and D lifters do.
    """

    fields: tuple[tuple[int, int, int], ...]

    def read(self, cpu: Cpu, num: int) -> int:
        value = 0
        for slot, lsb, _ in self.fields:
            value |= cpu.s[slot] << lsb
        return value

    def write(self, cpu: Cpu, num: int, value: int) -> None:
        s = cpu.s
        for slot, lsb, bits in self.fields:
            s[slot] = (value >> lsb) & ((1 << bits) - 1)
        s[R.MSTATUS] |= FS_DIRTY | MSTATUS_SD

    def check(self, cpu: Cpu, num: int) -> bool:
        return bool(cpu.s[R.MSTATUS] & MSTATUS_FS)

    def lift_check(self, c) -> bool:
        return self.check(c.cpu, 0)

    def lift_read(self, c) -> Value:
        b = c.b
        value = None
        for slot, lsb, _ in self.fields:
            v = b.get(slot)
            v = b.shl(v, lsb) if lsb else v
            value = v if value is None else b.or_(value, v)
        return value

    def lift_write(self, c, value: Value) -> None:
        b = c.b
        for slot, lsb, bits in self.fields:
            b.set(slot, b.and_(b.lshr(value, lsb) if lsb else value, (1 << bits) - 1))
        b.set(R.MSTATUS, b.or_(b.get(R.MSTATUS), FS_DIRTY | MSTATUS_SD))

    def spec(self, name: str) -> CsrSpec:
        return CsrSpec(
            name, read=self.read, write=self.write, check=self.check, store=False, lift=self
        )


def _counter_read(cpu: Cpu, num: int) -> int:
    return cpu.arch.csrs.counter(num)


def _counter_write(cpu: Cpu, num: int, value: int) -> None:
    cpu.arch.csrs.set_counter(num, value)


def _user_counter_read(cpu: Cpu, num: int) -> int:
    """cycle/instret shadow mcycle/minstret; time comes from the timer (CLINT)."""
    if num == TIME:
        return cpu.arch.csrs.time_source(cpu) & MASK64
    return cpu.arch.csrs.counter(num - CYCLE + MCYCLE)


def _counter_enabled(cpu: Cpu, num: int) -> bool:
    """U and S mode see counter ``n`` only if mcounteren (and, in U, scounteren) bit n is set."""
    priv = cpu.s[R.PRIV]
    bit = 1 << (num & 0x1F)
    v = _values(cpu)
    if priv < M and not v[MCOUNTEREN] & bit:
        return False
    return not (priv == U and not v[SCOUNTEREN] & bit)


def _satp_allowed(cpu: Cpu, num: int) -> bool:
    return not (cpu.s[R.PRIV] == S and cpu.s[R.MSTATUS] & MSTATUS_TVM)


def _pmpcfg_write(cpu: Cpu, num: int, value: int) -> None:
    """Eight 8-bit entries; locked entries keep their value, W without R is reserved."""
    v = _values(cpu)
    old = v.get(num, 0)
    new = 0
    for i in range(8):
        o, n = (old >> 8 * i) & 0xFF, (value >> 8 * i) & 0xFF
        if o & PMP_L:
            n = o
        else:
            n &= 0x9F
            if n & PMP_W and not n & PMP_R:
                n &= ~PMP_W
        new |= n << 8 * i
    v[num] = new


def _pmp_cfg(cpu: Cpu, index: int) -> int:
    if index > 63:
        return 0
    return (_values(cpu).get(PMPCFG0 + (index // 8) * 2, 0) >> 8 * (index % 8)) & 0xFF


def _pmpaddr_write(cpu: Cpu, num: int, value: int) -> None:
    """A locked entry, or the base of a locked TOR entry above it, ignores writes."""
    i = num - PMPADDR0
    if _pmp_cfg(cpu, i) & PMP_L:
        return
    nxt = _pmp_cfg(cpu, i + 1)
    if nxt & PMP_L and nxt & PMP_A == PMP_TOR:
        return
    _values(cpu)[num] = value & PMPADDR_MASK


def _spec(name: str, **kw) -> CsrSpec:
    return CsrSpec(name, **kw)


def _build_table() -> dict[int, CsrSpec]:
    t: dict[int, CsrSpec] = {
        0x001: FpCsr(((R.FFLAGS, 0, 5),)).spec("fflags"),
        0x002: FpCsr(((R.FRM, 0, 3),)).spec("frm"),
        0x003: FpCsr(((R.FFLAGS, 0, 5), (R.FRM, 5, 3))).spec("fcsr"),
        SSTATUS: _spec("sstatus", read=_sstatus_read, write=_sstatus_write, store=False),
        SIE: _spec("sie", read=_sie_read, write=_sie_write, store=False),
        STVEC: _spec("stvec", wmask=TVEC_WMASK),
        SCOUNTEREN: _spec("scounteren", wmask=0xFFFFFFFF, reset=COUNTEREN_RESET),
        0x10A: _spec("senvcfg", wmask=0x1),
        SSCRATCH: _spec("sscratch"),
        SEPC: _spec("sepc", wmask=MASK64 & ~1),
        SCAUSE: _spec("scause"),
        STVAL: _spec("stval"),
        SIP: _spec("sip", read=_sip_read, write=_sip_write, store=False),
        SATP: _spec("satp", read=_satp_read, write=_satp_write, check=_satp_allowed),
        MSTATUS: _spec(
            "mstatus", read=lambda c, n: c.s[R.MSTATUS], write=_mstatus_write, store=False
        ),
        MISA_NUM: _spec("misa", read=lambda c, n: MISA, write=_ignore, store=False),
        MEDELEG: _spec("medeleg", wmask=MEDELEG_MASK),
        MIDELEG: _spec("mideleg", wmask=S_INTERRUPTS),
        MIE: _spec("mie", wmask=S_INTERRUPTS | M_INTERRUPTS),
        MTVEC: _spec("mtvec", wmask=TVEC_WMASK),
        MCOUNTEREN: _spec("mcounteren", wmask=0xFFFFFFFF, reset=COUNTEREN_RESET),
        0x30A: _spec("menvcfg", wmask=0x1),
        MCOUNTINHIBIT: _spec(
            "mcountinhibit", write=lambda c, n, v: c.arch.csrs.set_inhibit(v & 0xFFFFFFFD)
        ),
        MSCRATCH: _spec("mscratch"),
        MEPC: _spec("mepc", wmask=MASK64 & ~1),
        MCAUSE: _spec("mcause"),
        MTVAL: _spec("mtval"),
        MIP: _spec("mip", wmask=S_INTERRUPTS),
        MCYCLE: _spec("mcycle", read=_counter_read, write=_counter_write, store=False),
        MINSTRET: _spec("minstret", read=_counter_read, write=_counter_write, store=False),
        CYCLE: _spec("cycle", read=_user_counter_read, check=_counter_enabled, store=False),
        TIME: _spec("time", read=_user_counter_read, check=_counter_enabled, store=False),
        INSTRET: _spec("instret", read=_user_counter_read, check=_counter_enabled, store=False),
        0x7A0: _spec("tselect", read=_zero, write=_ignore, store=False),
        0x7A1: _spec("tdata1", read=_zero, write=_ignore, store=False),
        0x7A2: _spec("tdata2", read=_zero, write=_ignore, store=False),
        0x7A3: _spec("tdata3", read=_zero, write=_ignore, store=False),
        0x7A4: _spec("tinfo", read=lambda c, n: 1, write=_ignore, store=False),
        0xF11: _spec("mvendorid"),
        0xF12: _spec("marchid"),
        0xF13: _spec("mimpid"),
        MHARTID: _spec("mhartid"),
        0xF15: _spec("mconfigptr"),
    }
    for n in range(3, 32):
        t[0xB00 + n] = _spec(f"mhpmcounter{n}", read=_zero, write=_ignore, store=False)
        t[0x320 + n] = _spec(f"mhpmevent{n}", read=_zero, write=_ignore, store=False)
        t[0xC00 + n] = _spec(f"hpmcounter{n}", read=_zero, check=_counter_enabled, store=False)
    for n in range(0, 16, 2):  # RV64: only the even pmpcfg registers exist
        t[PMPCFG0 + n] = _spec(f"pmpcfg{n}", write=_pmpcfg_write)
    for n in range(64):
        t[PMPADDR0 + n] = _spec(f"pmpaddr{n}", write=_pmpaddr_write)
    return t


CSRS: dict[int, CsrSpec] = _build_table()
#: number by name, for assemblers, debuggers and tests
CSR_NUMBERS: dict[str, int] = {spec.name: num for num, spec in CSRS.items()}


def _write(cpu: Cpu, spec: CsrSpec, num: int, new: int) -> None:
    if spec.write:
        spec.write(cpu, num, new)
    else:
        store = cpu.arch.csrs.values
        store[num] = (store.get(num, 0) & ~spec.wmask) | (new & spec.wmask)


def csr_access(cpu: Cpu, num: int, value: int, op: int, write: bool, bits: int) -> int:
    """csrrw/csrrs/csrrc: check access, return the old value, apply the write.

    ``op``: 0 write, 1 set bits, 2 clear bits. ``write`` is false for csrrs/csrrc with
    rs1 = x0 (or a zero immediate), which must not write and so may touch read-only CSRs.
    ``bits`` (the instruction) is mtval of the illegal-instruction trap.
    """
    spec = CSRS.get(num)
    if (
        spec is None
        or cpu.s[R.PRIV] < (num >> 8) & 3
        or (write and num >> 10 == 3)
        or (spec.check is not None and not spec.check(cpu, num))
    ):
        raise GuestTrap(Cause.ILLEGAL_INSN, bits)
    old = spec.read(cpu, num) if spec.read else cpu.arch.csrs.values.get(num, 0)
    if write:
        _write(cpu, spec, num, (value, old | value, old & ~value)[op] & MASK64)
    return old


# -- traps -------------------------------------------------------------------------------------


def take_trap(cpu: Cpu, cause: int, tval: int, pc: int, interrupt: bool = False) -> int:
    """Enter the trap handler (S mode if delegated and not from M, else M); return its pc."""
    store = cpu.arch.csrs.values
    s = cpu.s
    priv = s[R.PRIV]
    deleg = store[MIDELEG] if interrupt else store[MEDELEG]
    code = cause | (INTERRUPT_BIT if interrupt else 0)
    ms = s[R.MSTATUS]
    s[R.RESERVATION] = R.RESERVATION_NONE
    if priv <= S and deleg >> cause & 1:
        store[SEPC] = pc & MASK64
        store[SCAUSE] = code
        store[STVAL] = tval & MASK64
        sie = (ms >> 1) & 1
        ms &= ~(MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SIE)
        s[R.MSTATUS] = ms | (sie << 5) | (priv << 8)
        s[R.PRIV] = S
        tvec = store[STVEC]
    else:
        store[MEPC] = pc & MASK64
        store[MCAUSE] = code
        store[MTVAL] = tval & MASK64
        mie = (ms >> 3) & 1
        ms &= ~(MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE)
        s[R.MSTATUS] = ms | (mie << 7) | (priv << 11)
        s[R.PRIV] = M
        tvec = store[MTVEC]
    base = tvec & ~3
    if interrupt and tvec & 1:
        return (base + 4 * cause) & MASK64
    return base


def mret(cpu: Cpu, bits: int) -> int:
    """Return from an M-mode trap: MIE = MPIE, privilege = MPP (leaving M clears MPRV)."""
    s = cpu.s
    if s[R.PRIV] < M:
        raise GuestTrap(Cause.ILLEGAL_INSN, bits)
    ms = s[R.MSTATUS]
    mpp = (ms >> 11) & 3
    ms = (ms & ~(MSTATUS_MIE | MSTATUS_MPP)) | (((ms >> 7) & 1) << 3) | MSTATUS_MPIE
    if mpp != M:
        ms &= ~MSTATUS_MPRV
    s[R.MSTATUS] = ms
    s[R.PRIV] = mpp
    return cpu.arch.csrs.values[MEPC]


def sret(cpu: Cpu, bits: int) -> int:
    """Return from an S-mode trap; illegal in U mode and, with mstatus.TSR, in S mode."""
    s = cpu.s
    priv = s[R.PRIV]
    if priv < S or (priv == S and s[R.MSTATUS] & MSTATUS_TSR):
        raise GuestTrap(Cause.ILLEGAL_INSN, bits)
    ms = s[R.MSTATUS]
    spp = (ms >> 8) & 1
    ms = (ms & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | (((ms >> 5) & 1) << 1)
    s[R.MSTATUS] = ms | MSTATUS_SPIE
    s[R.PRIV] = spp
    return cpu.arch.csrs.values[SEPC]


def pending_interrupt(cpu: Cpu) -> int | None:
    """The interrupt number to take now, or None.

    M-level interrupts (not delegated) are enabled below M and in M with mstatus.MIE;
    delegated ones below S and in S with mstatus.SIE; M-level ones win (Spike's order).
    """
    v = cpu.arch.csrs.values
    pending = v[MIP] & v[MIE]
    if not pending:
        return None
    priv = cpu.s[R.PRIV]
    ms = cpu.s[R.MSTATUS]
    deleg = v[MIDELEG]
    m_on = priv < M or ms & MSTATUS_MIE
    s_on = priv < S or (priv == S and ms & MSTATUS_SIE)
    enabled = pending & ~deleg if m_on else 0
    if not enabled and s_on:
        enabled = pending & deleg
    if not enabled:
        return None
    for irq in INTERRUPT_PRIORITY:
        if enabled >> irq & 1:
            return irq
    return None
