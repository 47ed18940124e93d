"""Privileged architecture below the instruction level: the CSR table's access rules and
WARL fields, trap entry and return with delegation, interrupt selection, counters, CLINT.

These call the CSR file and trap functions directly on a reset hart, so a wrong rule fails
here with its name rather than as a hung guest; the guests in guests/riscv64/baremetal check
the same behaviour end to end.
"""

from __future__ import annotations

import pytest

from vmcore import FlatMmu, GuestTrap, Machine
from vmcore_isa_riscv import csr
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.devices.clint import Clint
from vmcore_isa_riscv.isa import RiscV64

M, S, U = csr.M, csr.S, csr.U
N = csr.CSR_NUMBERS
BITS = 0x12345073  # stands for the instruction: it must come back as mtval


@pytest.fixture
def machine():
    m = Machine(RiscV64(), engine=lambda machine: None, mmu=FlatMmu)
    m.bus.add_ram(0x8000_0000, 1 << 20)
    m.reset(0x8000_0000)
    return m


@pytest.fixture
def cpu(machine):
    return machine.cpus[0]


def access(cpu, name_or_num, value=0, op=0, write=True):
    num = N[name_or_num] if isinstance(name_or_num, str) else name_or_num
    return csr.csr_access(cpu, num, value, op, write, BITS)


def is_legal(cpu, name_or_num, write) -> bool:
    try:
        access(cpu, name_or_num, 0, 1, write)  # csrrs with 0 changes nothing
    except GuestTrap as trap:
        assert (trap.cause, trap.tval) == (2, BITS)
        return False
    return True


# (CSR, privilege, write?, legal?) -- the privilege bits 9:8, read-only bits 11:10, gates
ACCESS = [
    ("mstatus", M, True, True),
    ("mstatus", S, False, False),
    ("mstatus", U, False, False),
    ("sstatus", S, True, True),
    ("sstatus", U, False, False),
    ("mscratch", U, False, False),
    ("mvendorid", M, False, True),
    ("mvendorid", M, True, False),
    ("mhartid", M, True, False),
    ("mconfigptr", M, False, True),
    ("cycle", M, False, True),
    ("cycle", M, True, False),
    ("time", M, False, True),
    ("cycle", U, False, False),  # mcounteren is 0
    ("instret", S, False, False),
    ("hpmcounter3", M, False, True),
    ("mhpmcounter31", M, True, True),
    ("mhpmevent3", M, True, True),
    ("fflags", M, False, False),  # FS is Off after reset
    ("fcsr", U, False, False),
    ("satp", S, True, True),
    ("pmpcfg0", M, True, True),
    ("pmpcfg14", M, True, True),
    (0x3A1, M, False, False),  # pmpcfg1 does not exist on RV64
    ("pmpaddr63", M, True, True),
    ("tselect", M, True, True),
    (0x7C0, M, False, False),  # custom/unimplemented
    (0x7B0, M, False, False),  # dcsr: debug mode only
    (0x5A8, S, False, False),  # hypervisor-range number, not implemented
]


@pytest.mark.parametrize(("name", "priv", "write", "legal"), ACCESS)
def test_access_rules(cpu, name, priv, write, legal):
    v = cpu.arch.csrs.values
    v[csr.MCOUNTEREN] = v[csr.SCOUNTEREN] = 0
    cpu.s[R.PRIV] = priv
    assert is_legal(cpu, name, write) is legal


@pytest.mark.parametrize(
    ("bit", "name", "priv"), [(0, "cycle", U), (1, "time", S), (2, "instret", U)]
)
def test_counter_enable_bits(cpu, bit, name, priv):
    v = cpu.arch.csrs.values
    v[csr.MCOUNTEREN] = v[csr.SCOUNTEREN] = 0
    cpu.s[R.PRIV] = priv
    assert not is_legal(cpu, name, False)
    cpu.arch.csrs.values[csr.MCOUNTEREN] = 1 << bit
    # in U mode scounteren must allow it too (S is implemented)
    assert is_legal(cpu, name, False) is (priv == S)
    cpu.arch.csrs.values[csr.SCOUNTEREN] = 1 << bit
    assert is_legal(cpu, name, False)


def test_user_counters_readable_after_reset(cpu):
    """Linux user mode runs no kernel that would enable them."""
    cpu.s[R.PRIV] = U
    assert all(is_legal(cpu, name, False) for name in ("cycle", "time", "instret"))


def test_fs_gates_fp_csrs_and_writes_make_it_dirty(cpu):
    cpu.s[R.MSTATUS] |= csr.FS_INITIAL
    access(cpu, "fcsr", 0xFF)
    assert (cpu.s[R.FFLAGS], cpu.s[R.FRM]) == (0x1F, 7)
    assert access(cpu, "frm", write=False) == 7
    assert cpu.s[R.MSTATUS] & csr.MSTATUS_FS == csr.FS_DIRTY
    assert cpu.s[R.MSTATUS] & csr.MSTATUS_SD


def test_mstatus_warl(cpu):
    access(cpu, "mstatus", (1 << 64) - 1)
    ms = cpu.s[R.MSTATUS]
    assert (ms >> 11) & 3 == M
    assert (ms >> 32) & 0xF == 0xA  # UXL = SXL = 64
    assert not ms & (csr.MSTATUS_SUM | csr.MSTATUS_MXR | csr.MSTATUS_TVM)  # no paging
    assert ms & csr.MSTATUS_TSR and ms & csr.MSTATUS_TW and ms & csr.MSTATUS_MPRV
    assert ms & csr.MSTATUS_SD
    assert not ms & ((1 << 36) | (1 << 37))  # SBE, MBE: little-endian only
    access(cpu, "mstatus", 2 << 11)  # reserved MPP reads as U
    assert (cpu.s[R.MSTATUS] >> 11) & 3 == U
    access(cpu, "sstatus", (1 << 64) - 1)
    assert (cpu.s[R.MSTATUS] >> 11) & 3 == U, "sstatus must not reach MPP"
    assert access(cpu, "sstatus", write=False) & ~csr.SSTATUS_MASK == 0


@pytest.mark.parametrize(
    ("name", "written", "read"),
    [
        ("mtvec", 0x8000_0103, 0x8000_0101),  # MODE 3 reserved: bit 1 reads 0
        ("mtvec", 0x8000_0102, 0x8000_0100),
        ("stvec", 0x8000_0101, 0x8000_0101),
        ("mepc", 0x8000_0003, 0x8000_0002),
        ("sepc", 0x8000_0001, 0x8000_0000),
        ("mie", (1 << 64) - 1, 0xAAA),
        ("mip", (1 << 64) - 1, 0x222),  # MSIP/MTIP/MEIP belong to devices
        ("mideleg", (1 << 64) - 1, 0x222),
        ("medeleg", (1 << 64) - 1, 0xB3FF),  # never ecall from M
        ("mcounteren", (1 << 64) - 1, 0xFFFF_FFFF),
        ("mcountinhibit", (1 << 64) - 1, 0xFFFF_FFFD),  # bit 1 (time) is read-only 0
        ("mhpmcounter3", 5, 0),
        ("misa", 0, csr.MISA),
        ("satp", 8 << 60 | 5, 0),  # bare S: read-only zero
        ("pmpcfg0", 0x9F_02_1F, 0x9F_00_1F),  # W without R is reserved
        ("pmpaddr0", (1 << 64) - 1, (1 << 54) - 1),
        ("tdata1", 5, 0),  # no triggers: tdata1 type 0
    ],
)
def test_warl_fields(cpu, name, written, read):
    access(cpu, name, written)
    assert access(cpu, name, write=False) == read


def test_locked_pmp_entry_ignores_writes(cpu):
    access(cpu, "pmpcfg0", 0x80 | 0x1F)  # entry 0 locked NAPOT
    access(cpu, "pmpaddr0", 0x1234)
    access(cpu, "pmpcfg0", 0)
    assert access(cpu, "pmpcfg0", write=False) == 0x9F
    assert access(cpu, "pmpaddr0", write=False) == 0


def test_misa_letters():
    letters = {chr(ord("A") + i) for i in range(26) if csr.MISA >> i & 1}
    assert letters == set("IMAFDCSU")
    assert csr.MISA >> 62 == 2


# -- traps ---------------------------------------------------------------------------------


def test_trap_to_m(cpu):
    v = cpu.arch.csrs.values
    v[csr.MTVEC] = 0x8000_0401  # vectored
    cpu.s[R.PRIV] = U
    cpu.s[R.MSTATUS] |= csr.MSTATUS_MIE
    pc = csr.take_trap(cpu, 2, 0xDEAD, 0x8000_1000)
    assert pc == 0x8000_0400, "exceptions use the base even when vectored"
    assert (v[csr.MEPC], v[csr.MCAUSE], v[csr.MTVAL]) == (0x8000_1000, 2, 0xDEAD)
    ms = cpu.s[R.MSTATUS]
    assert cpu.s[R.PRIV] == M and (ms >> 11) & 3 == U
    assert ms & csr.MSTATUS_MPIE and not ms & csr.MSTATUS_MIE
    assert csr.take_trap(cpu, 7, 0, 0, interrupt=True) == 0x8000_0400 + 28
    assert v[csr.MCAUSE] == (1 << 63) | 7


def test_delegated_trap_goes_to_s_but_never_from_m(cpu):
    v = cpu.arch.csrs.values
    v[csr.MEDELEG] = 1 << 8
    v[csr.STVEC] = 0x8000_0800
    v[csr.MTVEC] = 0x8000_0400
    cpu.s[R.PRIV] = U
    cpu.s[R.MSTATUS] |= csr.MSTATUS_SIE
    assert csr.take_trap(cpu, 8, 0, 0x8000_2000) == 0x8000_0800
    ms = cpu.s[R.MSTATUS]
    assert cpu.s[R.PRIV] == S and not ms & csr.MSTATUS_SPP
    assert ms & csr.MSTATUS_SPIE and not ms & csr.MSTATUS_SIE
    assert (v[csr.SEPC], v[csr.SCAUSE]) == (0x8000_2000, 8)
    cpu.s[R.PRIV] = M
    v[csr.MEDELEG] = 1 << 2
    assert csr.take_trap(cpu, 2, 0, 0) == 0x8000_0400


def test_mret_to_u_clears_mprv_and_restores_mie(cpu):
    v = cpu.arch.csrs.values
    v[csr.MEPC] = 0x8000_0100
    cpu.s[R.MSTATUS] = (cpu.s[R.MSTATUS] & ~csr.MSTATUS_MPP) | csr.MSTATUS_MPRV | csr.MSTATUS_MPIE
    assert csr.mret(cpu, BITS) == 0x8000_0100
    ms = cpu.s[R.MSTATUS]
    assert cpu.s[R.PRIV] == U
    assert ms & csr.MSTATUS_MIE and ms & csr.MSTATUS_MPIE and not ms & csr.MSTATUS_MPRV
    with pytest.raises(GuestTrap) as exc:
        csr.mret(cpu, BITS)
    assert (exc.value.cause, exc.value.tval) == (2, BITS)


def test_mret_to_m_keeps_mprv(cpu):
    cpu.s[R.MSTATUS] |= csr.MSTATUS_MPP | csr.MSTATUS_MPRV
    csr.mret(cpu, BITS)
    assert cpu.s[R.PRIV] == M and cpu.s[R.MSTATUS] & csr.MSTATUS_MPRV


def test_sret_and_tsr(cpu):
    v = cpu.arch.csrs.values
    v[csr.SEPC] = 0x8000_0200
    cpu.s[R.PRIV] = S
    cpu.s[R.MSTATUS] |= csr.MSTATUS_SPIE | csr.MSTATUS_TSR
    with pytest.raises(GuestTrap):
        csr.sret(cpu, BITS)
    cpu.s[R.MSTATUS] &= ~csr.MSTATUS_TSR
    assert csr.sret(cpu, BITS) == 0x8000_0200
    assert cpu.s[R.PRIV] == U and cpu.s[R.MSTATUS] & csr.MSTATUS_SIE
    with pytest.raises(GuestTrap):
        csr.sret(cpu, BITS)


# -- interrupts -------------------------------------------------------------------------------

# (priv, MIE, SIE, mip, mie, mideleg, expected interrupt number or None)
INTERRUPTS = [
    (M, 0, 0, csr.MTIP, csr.MTIP, 0, None),  # M with MIE clear: held
    (M, 1, 0, csr.MTIP, csr.MTIP, 0, 7),
    (U, 0, 0, csr.MTIP, csr.MTIP, 0, 7),  # below M: always enabled
    (M, 1, 0, csr.MTIP | csr.MSIP | csr.MEIP, 0xAAA, 0, 11),  # MEI > MSI > MTI
    (M, 1, 0, csr.MTIP | csr.MSIP, 0xAAA, 0, 3),
    (M, 1, 0, csr.MTIP, 0, 0, None),  # not enabled in mie
    (M, 1, 1, csr.SSIP, csr.SSIP, csr.SSIP, None),  # delegated: never taken in M
    (S, 0, 0, csr.SSIP, csr.SSIP, csr.SSIP, None),  # S with SIE clear
    (S, 0, 1, csr.SSIP, csr.SSIP, csr.SSIP, 1),
    (U, 0, 0, csr.STIP | csr.MSIP, 0xAAA, csr.STIP, 3),  # M-level before S-level
]


@pytest.mark.parametrize(("priv", "mie_bit", "sie_bit", "mip", "mie", "deleg", "want"), INTERRUPTS)
def test_interrupt_selection(cpu, priv, mie_bit, sie_bit, mip, mie, deleg, want):
    v = cpu.arch.csrs.values
    cpu.s[R.PRIV] = priv
    cpu.s[R.MSTATUS] |= (csr.MSTATUS_MIE if mie_bit else 0) | (csr.MSTATUS_SIE if sie_bit else 0)
    v[csr.MIP], v[csr.MIE], v[csr.MIDELEG] = mip, mie, deleg
    assert csr.pending_interrupt(cpu) == want


def test_wfi_wakes_on_locally_enabled_interrupt_only(cpu):
    v = cpu.arch.csrs.values
    v[csr.MIP] = csr.MTIP
    assert not cpu.isa.interrupt_waiting(cpu)
    v[csr.MIE] = csr.MTIP
    assert cpu.isa.interrupt_waiting(cpu)  # even with mstatus.MIE clear


def test_waking_hart_takes_the_interrupt_at_once():
    from vmcore.engines.interp import InterpEngine

    m = Machine(RiscV64(), engine=InterpEngine, mmu=FlatMmu)
    m.bus.add_ram(0x8000_0000, 1 << 20)
    m.bus.write(0x8000_0400, 4, 0x0000006F)  # the handler: j .
    m.reset(0x8000_0000)
    cpu = m.cpus[0]
    v = cpu.arch.csrs.values
    v[csr.MTVEC] = 0x8000_0400
    v[csr.MIP] = v[csr.MIE] = csr.MTIP
    cpu.s[R.MSTATUS] |= csr.MSTATUS_MIE
    cpu.pc = 0x8000_0010
    cpu.waiting = True
    assert cpu.isa.interrupt_waiting(cpu)
    cpu.machine.run(limit=1)  # wakes the hart, which takes the interrupt before running
    assert not cpu.waiting
    assert v[csr.MEPC] == 0x8000_0010
    assert v[csr.MCAUSE] == (1 << 63) | 7


# -- counters ----------------------------------------------------------------------------------


def test_minstret_write_and_inhibit(cpu):
    cpu.instret = 100
    access(cpu, "minstret", 5000)
    cpu.instret += 1  # the csrw retires: its own increment is suppressed
    assert access(cpu, "minstret", write=False) == 5000
    cpu.instret += 10
    assert access(cpu, "instret", write=False) == 5010
    access(cpu, "mcountinhibit", 4)
    cpu.instret += 10
    assert access(cpu, "minstret", write=False) == 5010
    assert access(cpu, "mcycle", write=False) == 121  # cycle still runs (from reset)
    access(cpu, "mcountinhibit", 0)
    cpu.instret += 1
    cpu.instret += 3
    assert access(cpu, "minstret", write=False) == 5013


# -- CLINT ------------------------------------------------------------------------------------


def test_clint_timer_raises_mtip_when_due(machine, cpu):
    clint = Clint(machine)
    assert clint.mtime() == 0
    clint.mmio_write(0x4000, 8, 10)  # mtimecmp = 10 ticks = 1 us
    assert not cpu.arch.csrs.values[csr.MIP] & csr.MTIP
    cpu.instret = 999
    machine._fire_due_events()
    assert not cpu.arch.csrs.values[csr.MIP] & csr.MTIP
    cpu.instret = 1000
    machine._fire_due_events()
    assert cpu.arch.csrs.values[csr.MIP] & csr.MTIP
    assert clint.mmio_read(0xBFF8, 8) == 10
    clint.mmio_write(0x4004, 4, 1)  # high half: far in the future again
    assert not cpu.arch.csrs.values[csr.MIP] & csr.MTIP
    assert clint.mmio_read(0x4000, 8) == (1 << 32) | 10


def test_clint_msip_and_mtime_write(machine, cpu):
    clint = Clint(machine)
    clint.mmio_write(0, 4, 1)
    assert cpu.arch.csrs.values[csr.MIP] & csr.MSIP
    assert clint.mmio_read(0, 4) == 1
    clint.mmio_write(0, 4, 0)
    assert not cpu.arch.csrs.values[csr.MIP] & csr.MSIP
    clint.mmio_write(0xBFF8, 8, 12345)
    assert clint.mmio_read(0xBFF8, 8) == 12345
    assert access(cpu, "time", write=False) == 12345  # the time CSR follows mtime
    clint.mmio_write(0x4000, 8, 12345)
    assert cpu.arch.csrs.values[csr.MIP] & csr.MTIP
