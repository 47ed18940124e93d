"""The Sv39/Sv48 walker, TLB and the paging CSR rules, on hand-built page tables in RAM.

Each test writes PTEs with a tiny page-table builder and asks the hart's MMU directly, so a
wrong rule fails with the access that broke it; the guests paging*.S and the official
riscv-tests (rv64si-p-dirty, the ``v`` environment) check the same end to end.
"""

from __future__ import annotations

import pytest
from baremetal_util import engines

from vmcore import Access, GuestTrap, Machine
from vmcore.plugins import get_registry
from vmcore_isa_riscv import csr
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.isa import RiscV64
from vmcore_isa_riscv.mmu import (
    PTE_A,
    PTE_D,
    PTE_G,
    PTE_R,
    PTE_U,
    PTE_V,
    PTE_W,
    PTE_X,
    RiscvMmu,
    Sv39Mmu,
)

M, S, U = csr.M, csr.S, csr.U
RAM = 0x8000_0000
RAM_SIZE = 8 << 20
ROOT = RAM + 0x10_0000  #: page-table pages are allocated from here
DATA = RAM + 0x40_0000  #: 4 KiB data pages
RWX = PTE_R | PTE_W | PTE_X
LOAD_PF, STORE_PF, FETCH_PF = 13, 15, 12
SATP_SV39, SATP_SV48 = 8 << 60, 9 << 60


class Tables:
    """Builds page tables in guest RAM: ``map(va, pa, flags, level)``."""

    def __init__(self, machine: Machine, levels: int) -> None:
        self.bus = machine.bus
        self.levels = levels
        self.next = ROOT
        self.root = self._page()

    def _page(self) -> int:
        page = self.next
        self.next += 0x1000
        self.bus.write_bytes(page, bytes(0x1000))
        return page

    def map(self, va: int, pa: int, flags: int, level: int = 0) -> int:
        """Install a leaf for ``va`` at ``level`` (0: 4K, 1: 2M, 2: 1G, 3: 512G); returns
        the physical address of the leaf PTE."""
        table = self.root
        for lvl in range(self.levels - 1, level, -1):
            addr = table + ((va >> (12 + 9 * lvl)) & 0x1FF) * 8
            pte = self.bus.read(addr, 8)
            if not pte & PTE_V:
                pte = (self._page() >> 12) << 10 | PTE_V
                self.bus.write(addr, 8, pte)
            table = (pte >> 10) << 12
        addr = table + ((va >> (12 + 9 * level)) & 0x1FF) * 8
        self.bus.write(addr, 8, (pa >> 12) << 10 | flags)
        return addr

    def pte(self, addr: int) -> int:
        return self.bus.read(addr, 8)

    def satp(self, mode: int = SATP_SV39, asid: int = 0) -> int:
        return mode | asid << 44 | self.root >> 12


def make(mmu=RiscvMmu, levels: int = 3, engine=lambda machine: None):
    m = Machine(RiscV64(), engine=engine, mmu=mmu)
    m.bus.add_ram(RAM, RAM_SIZE)
    m.reset(RAM)
    cpu = m.cpus[0]
    tables = Tables(m, levels)
    return m, cpu, tables


def enable(cpu, tables, mode=SATP_SV39, priv=S, asid=0):
    cpu.arch.csrs.write(csr.SATP, tables.satp(mode, asid))
    cpu.s[R.PRIV] = priv


def fault(cpu, va, access) -> tuple[int, int] | None:
    try:
        cpu.mmu.translate(va, access)
    except GuestTrap as trap:
        return trap.cause, trap.tval
    return None


@pytest.fixture
def sv39():
    return make()


# -- translation and page sizes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "levels", "level", "va"),
    [
        (SATP_SV39, 3, 0, 0x0000_003F_1234_5000),
        (SATP_SV39, 3, 1, 0x0000_0000_4020_0000),
        (SATP_SV39, 3, 2, 0x0000_0000_C000_0000),
        (SATP_SV39, 3, 2, 0xFFFF_FFFF_C000_0000),  # top of the sign-extended half
        (SATP_SV48, 4, 0, 0x0000_7FFF_FFFF_F000),
        (SATP_SV48, 4, 2, 0x0000_1000_4000_0000),
        (SATP_SV48, 4, 3, 0x0000_0080_0000_0000),  # a 512 GiB terapage
        (SATP_SV48, 4, 3, 0xFFFF_8000_0000_0000),
    ],
)
def test_page_sizes_translate_with_offset_from_the_va(mode, levels, level, va):
    m, cpu, t = make(levels=levels)
    pa = (RAM if level < 3 else 0) if level else DATA  # superpages need an aligned base
    if level == 3:
        m.bus.add_ram(0, 1 << 20)
    t.map(va, pa, RWX | PTE_V | PTE_A | PTE_D, level)
    enable(cpu, t, mode)
    offset = 0x458 if level == 0 else 0x5_4328  # beyond 4K: the VA supplies the low vpns
    assert cpu.mmu.translate(va + offset, Access.LOAD) == pa + offset
    cpu.store(va + offset, 8, 0x1122334455667788)
    assert m.bus.read(pa + offset, 8) == 0x1122334455667788


@pytest.mark.parametrize("level", [1, 2])
def test_misaligned_superpage_is_a_page_fault(sv39, level):
    m, cpu, t = sv39
    t.map(0x4000_0000, RAM + 0x1000, RWX | PTE_V | PTE_A | PTE_D, level)  # ppn low bits
    enable(cpu, t)
    assert fault(cpu, 0x4000_0000, Access.LOAD) == (LOAD_PF, 0x4000_0000)


@pytest.mark.parametrize(
    ("mode", "va"),
    [
        (SATP_SV39, 0x0000_0040_0000_0000),  # bit 38 set, 63:39 clear
        (SATP_SV39, 0x8000_0000_0000_0000),
        (SATP_SV48, 0x0000_8000_0000_0000),  # bit 47 set, 63:48 clear
        (SATP_SV48, 0xFFFF_0000_0000_0000),
    ],
)
def test_non_canonical_address_is_a_page_fault(mode, va):
    """Even though its canonical twin (same index bits) is mapped."""
    bits = 48 if mode == SATP_SV48 else 39
    low = va & ((1 << bits) - 1)
    twin = low | (((1 << 64) - (1 << bits)) if low >> (bits - 1) else 0)
    m, cpu, t = make(levels=4 if mode == SATP_SV48 else 3)
    t.map(twin, DATA, RWX | PTE_V | PTE_A | PTE_D)
    enable(cpu, t, mode)
    assert cpu.mmu.translate(twin, Access.LOAD) == DATA
    for access, cause in ((Access.LOAD, 13), (Access.STORE, 15), (Access.FETCH, 12)):
        assert fault(cpu, va, access) == (cause, va)


# -- permissions ---------------------------------------------------------------------------

VA = 0x1000_0000
#: (PTE flags without V/A/D, privilege, access, mstatus bits, expected cause or None)
PERMISSIONS = [
    (PTE_R, S, Access.LOAD, 0, None),
    (PTE_R, S, Access.STORE, 0, STORE_PF),
    (PTE_R, S, Access.FETCH, 0, FETCH_PF),
    (PTE_R | PTE_W, S, Access.STORE, 0, None),
    (PTE_X, S, Access.FETCH, 0, None),
    (PTE_X, S, Access.LOAD, 0, LOAD_PF),
    (PTE_X, S, Access.LOAD, csr.MSTATUS_MXR, None),  # MXR: executable is readable
    (PTE_X, U, Access.LOAD, csr.MSTATUS_MXR, LOAD_PF),  # ... but U still needs PTE.U
    (PTE_X | PTE_U, U, Access.LOAD, csr.MSTATUS_MXR, None),
    (PTE_W, S, Access.LOAD, 0, LOAD_PF),  # W without R is reserved
    (PTE_W | PTE_X, S, Access.FETCH, 0, FETCH_PF),
    (RWX, U, Access.LOAD, 0, LOAD_PF),  # U mode needs PTE.U
    (RWX | PTE_U, U, Access.STORE, 0, None),
    (RWX | PTE_U, S, Access.LOAD, 0, LOAD_PF),  # S touches U pages only with SUM
    (RWX | PTE_U, S, Access.STORE, 0, STORE_PF),
    (RWX | PTE_U, S, Access.LOAD, csr.MSTATUS_SUM, None),
    (RWX | PTE_U, S, Access.STORE, csr.MSTATUS_SUM, None),
    (RWX | PTE_U, S, Access.FETCH, csr.MSTATUS_SUM, FETCH_PF),  # never executes them
    (RWX | PTE_G, S, Access.LOAD, 0, None),
]


@pytest.mark.parametrize(("flags", "priv", "access", "mstatus", "cause"), PERMISSIONS)
def test_leaf_permissions(sv39, flags, priv, access, mstatus, cause):
    m, cpu, t = sv39
    t.map(VA, DATA, flags | PTE_V | PTE_A | PTE_D)
    enable(cpu, t, priv=priv)
    cpu.s[R.MSTATUS] |= mstatus
    expected = None if cause is None else (cause, VA + 8)
    assert fault(cpu, VA + 8, access) == expected
    if cause is None:  # and once more from the TLB
        assert cpu.mmu.translate(VA + 8, access) == DATA + 8


@pytest.mark.parametrize(
    ("pte", "why"),
    [
        (0, "invalid"),
        (PTE_V | PTE_A | PTE_U, "non-leaf with A/U set"),
        (PTE_V | RWX | PTE_A | PTE_D | 1 << 63, "N bit without Svnapot"),
        (PTE_V | RWX | PTE_A | PTE_D | 1 << 61, "PBMT without Svpbmt"),
        (PTE_V | RWX | PTE_A | PTE_D | 1 << 54, "reserved bit 54"),
    ],
)
def test_bad_root_entries_fault(sv39, pte, why):
    m, cpu, t = sv39
    m.bus.write(t.root + ((VA >> 30) & 0x1FF) * 8, 8, pte | (RAM >> 12) << 10)
    enable(cpu, t)
    assert fault(cpu, VA, Access.LOAD) == (LOAD_PF, VA), why


def test_non_leaf_at_level_0_faults(sv39):
    m, cpu, t = sv39
    leaf = t.map(VA, DATA, PTE_V)  # V only: a pointer where a leaf must be
    enable(cpu, t)
    assert fault(cpu, VA, Access.LOAD) == (LOAD_PF, VA)
    assert t.pte(leaf) == (DATA >> 12) << 10 | PTE_V


def test_page_table_outside_memory_is_an_access_fault(sv39):
    m, cpu, t = sv39
    m.bus.write(t.root + ((VA >> 30) & 0x1FF) * 8, 8, (0x1000 >> 12) << 10 | PTE_V)
    enable(cpu, t)
    for access, cause in ((Access.FETCH, 1), (Access.LOAD, 5), (Access.STORE, 7)):
        assert fault(cpu, VA, access) == (cause, VA)


# -- accessed and dirty bits ------------------------------------------------------------------


def test_hardware_sets_a_on_access_and_d_on_store_only_when_allowed(sv39):
    m, cpu, t = sv39
    leaf = t.map(VA, DATA, PTE_V | PTE_R | PTE_W | PTE_U)
    enable(cpu, t)
    assert fault(cpu, VA, Access.STORE) == (STORE_PF, VA)  # U page without SUM
    assert t.pte(leaf) & (PTE_A | PTE_D) == 0, "a faulting access must not touch A/D"
    cpu.s[R.MSTATUS] |= csr.MSTATUS_SUM
    cpu.mmu.translate(VA, Access.LOAD)
    assert t.pte(leaf) & (PTE_A | PTE_D) == PTE_A
    cpu.mmu.translate(VA, Access.STORE)  # the TLB entry lacks D: walks again and sets it
    assert t.pte(leaf) & (PTE_A | PTE_D) == PTE_A | PTE_D


def test_without_hardware_ad_a_clear_bit_faults(sv39):
    m, cpu, t = sv39
    cpu.mmu.hardware_ad = False
    leaf = t.map(VA, DATA, PTE_V | PTE_R | PTE_W | PTE_A)
    enable(cpu, t)
    assert cpu.mmu.translate(VA, Access.LOAD) == DATA
    assert fault(cpu, VA, Access.STORE) == (STORE_PF, VA)
    assert t.pte(leaf) & PTE_D == 0


# -- who translates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priv", "mstatus", "satp_on", "identity", "fetch_translated"),
    [
        (M, 0, True, True, False),
        (S, 0, False, True, False),  # Bare
        (S, 0, True, False, True),
        (U, 0, True, False, True),
        (M, csr.MSTATUS_MPRV | S << 11, True, False, False),  # MPRV: data only
        (M, csr.MSTATUS_MPRV | U << 11, True, False, False),
        (M, csr.MSTATUS_MPRV | M << 11, True, True, False),
    ],
)
def test_is_identity_and_mprv(sv39, priv, mstatus, satp_on, identity, fetch_translated):
    m, cpu, t = sv39
    user = priv == U or (mstatus & csr.MSTATUS_MPRV and (mstatus >> 11) & 3 == U)
    t.map(VA, DATA, RWX | (PTE_U if user else 0) | PTE_V | PTE_A | PTE_D)
    if satp_on:
        enable(cpu, t, priv=priv)
    cpu.s[R.PRIV] = priv
    cpu.s[R.MSTATUS] |= mstatus
    assert cpu.mmu.is_identity() is identity
    assert (cpu.mmu.translate(VA, Access.LOAD) == DATA) is not identity
    assert (cpu.mmu.translate(VA, Access.FETCH) == DATA) is fetch_translated


def test_mode_key_follows_the_translation_context(sv39):
    m, cpu, t = sv39
    isa = m.isa
    cpu.s[R.PRIV] = S
    bare = isa.mode_key(cpu)
    enable(cpu, t)
    keys = {bare, isa.mode_key(cpu)}
    for bits in (csr.MSTATUS_SUM, csr.MSTATUS_MXR):
        cpu.s[R.MSTATUS] |= bits
        keys.add(isa.mode_key(cpu))
    cpu.s[R.PRIV] = M
    keys.add(isa.mode_key(cpu))
    cpu.s[R.MSTATUS] |= csr.MSTATUS_MPRV | S << 11
    keys.add(isa.mode_key(cpu))
    cpu.arch.csrs.write(csr.SATP, t.satp(SATP_SV48))
    keys.add(isa.mode_key(cpu))
    assert len(keys) == 7
    before = isa.mode_key(cpu)
    cpu.arch.csrs.write(csr.SATP, t.satp(SATP_SV48, asid=5))
    assert isa.mode_key(cpu) == before, "ASIDs share a key: satp writes flush the engine"


# -- TLB and flushes ----------------------------------------------------------------------------


def test_tlb_keeps_a_stale_mapping_until_sfence(sv39):
    m, cpu, t = sv39
    leaf = t.map(VA, DATA, RWX | PTE_V | PTE_A | PTE_D)
    enable(cpu, t)
    assert cpu.mmu.translate(VA, Access.LOAD) == DATA
    m.bus.write(leaf, 8, ((DATA + 0x1000) >> 12) << 10 | RWX | PTE_V | PTE_A | PTE_D)
    assert cpu.mmu.translate(VA, Access.LOAD) == DATA, "cached until sfence.vma"
    cpu.mmu.flush(VA + 0x10)
    assert cpu.mmu.translate(VA, Access.LOAD) == DATA + 0x1000


def test_flush_by_address_drops_every_piece_of_a_superpage(sv39):
    m, cpu, t = sv39
    leaf = t.map(0x4000_0000, RAM, RWX | PTE_V | PTE_A | PTE_D, level=1)
    other = t.map(VA, DATA, RWX | PTE_V | PTE_A | PTE_D)
    enable(cpu, t)
    for va in (0x4000_0000, 0x4010_0000, VA):
        cpu.mmu.translate(va, Access.LOAD)
    m.bus.write(leaf, 8, 0)
    m.bus.write(other, 8, 0)
    cpu.mmu.flush(0x4000_0000)
    assert fault(cpu, 0x4010_0000, Access.LOAD) == (LOAD_PF, 0x4010_0000)
    assert cpu.mmu.translate(VA, Access.LOAD) == DATA, "other mappings stay cached"
    cpu.mmu.flush()
    assert fault(cpu, VA, Access.LOAD) == (LOAD_PF, VA)


def test_satp_write_flushes_tlb_and_engine(sv39):
    flushes = []

    class Engine:
        def flush(self):
            flushes.append(1)

    m, cpu, t = make(engine=lambda machine: Engine())
    leaf = t.map(VA, DATA, RWX | PTE_V | PTE_A | PTE_D)
    enable(cpu, t)
    assert flushes and cpu.mmu.translate(VA, Access.LOAD) == DATA
    m.bus.write(leaf, 8, 0)
    enable(cpu, t)
    assert len(flushes) == 2
    assert fault(cpu, VA, Access.LOAD) == (LOAD_PF, VA)


@pytest.mark.parametrize(
    ("mmu", "written", "read"),
    [
        (RiscvMmu, SATP_SV39 | 7 << 44 | 0x80123, SATP_SV39 | 7 << 44 | 0x80123),
        (RiscvMmu, SATP_SV48 | 0x80123, SATP_SV48 | 0x80123),
        (RiscvMmu, 10 << 60 | 0x80123, 0),  # Sv57 is not implemented: write ignored
        (RiscvMmu, 1 << 60 | 0x80123, 0),  # reserved MODE
        (Sv39Mmu, SATP_SV48 | 0x80123, 0),
        (Sv39Mmu, SATP_SV39 | 0x80123, SATP_SV39 | 0x80123),
    ],
)
def test_satp_warl(mmu, written, read):
    m, cpu, t = make(mmu)
    cpu.arch.csrs.write(csr.SATP, written)
    assert cpu.arch.csrs.read(csr.SATP) == read


def test_paging_makes_sum_mxr_tvm_writable(sv39):
    m, cpu, t = sv39
    bits = csr.MSTATUS_SUM | csr.MSTATUS_MXR | csr.MSTATUS_TVM
    cpu.arch.csrs.write(csr.MSTATUS, bits)
    assert cpu.s[R.MSTATUS] & bits == bits


# -- through an engine: fetch, sfence.vma ---------------------------------------------------------


@pytest.mark.parametrize("engine", engines())
def test_fetch_straddling_into_an_unmapped_page_reports_the_second_half(engine):
    factory = get_registry().get("engine", engine).load()
    m, cpu, t = make(engine=factory)
    code = DATA
    t.map(VA, code, PTE_X | PTE_V | PTE_A)  # VA + 0x1000 stays unmapped
    enable(cpu, t)
    m.bus.write(code + 0xFFE, 2, 0x0513)  # low half of a 32-bit addi a0, zero, ...
    with pytest.raises(GuestTrap) as info:
        m.engine.lift(cpu, VA + 0xFFE)
    assert (info.value.cause, info.value.tval) == (FETCH_PF, VA + 0x1000)


@pytest.mark.parametrize(
    ("priv", "tvm", "legal"), [(S, 0, True), (M, 1, True), (S, 1, False), (U, 0, False)]
)
def test_sfence_vma_legality_and_flush(sv39, priv, tvm, legal):
    from vmcore_isa_riscv.ext.system import _sfence_vma

    flushes = []

    class Engine:
        def flush(self):
            flushes.append(1)

    m, cpu, t = make(engine=lambda machine: Engine())
    enable(cpu, t, priv=priv)
    cpu.s[R.MSTATUS] |= csr.MSTATUS_TVM if tvm else 0
    cpu.mmu.tlb[1] = (0, 0, 0)
    flushes.clear()
    try:
        _sfence_vma(cpu, 0x12000073, 0, 0)
    except GuestTrap as trap:
        assert not legal and trap.cause == 2
        assert cpu.mmu.tlb and not flushes
        return
    assert legal and not cpu.mmu.tlb and flushes


# -- components ----------------------------------------------------------------------------------


def test_mmus_are_registered_for_riscv64_and_riscv_is_the_default():
    reg = get_registry()
    assert {"riscv", "sv39", "sv48"} <= set(reg.names("mmu", "riscv64"))
    for name in ("riscv", "sv39", "sv48"):
        assert reg.get("mmu", name).isas == ("riscv64",)
    assert RiscV64.default_mmu == "riscv"


@pytest.mark.parametrize("engine", engines())
def test_misaligned_load_across_pages_reads_both_mappings(engine):
    factory = get_registry().get("engine", engine).load()
    m, cpu, t = make(engine=factory)
    t.map(RAM, RAM, RWX | PTE_V | PTE_A | PTE_D, level=2)  # S runs the code at its PA
    t.map(VA, DATA, PTE_R | PTE_V | PTE_A)
    t.map(VA + 0x1000, DATA + 0x3000, PTE_R | PTE_V | PTE_A)  # not the next physical page
    m.bus.write(DATA + 0xFFC, 4, 0x44332211)
    m.bus.write(DATA + 0x1000, 4, 0xEEEEEEEE)
    m.bus.write(DATA + 0x3000, 4, 0x88776655)
    code = RAM + 0x2000
    m.bus.write(code, 4, 0x0005B503)  # ld a0, 0(a1)
    m.bus.write(code + 4, 4, 0x0000006F)  # j .
    enable(cpu, t)
    cpu.pc = code
    cpu.write_reg("a1", VA + 0xFFC)
    m.run(limit=2)
    assert cpu.read_reg("a0") == 0x8877665544332211
