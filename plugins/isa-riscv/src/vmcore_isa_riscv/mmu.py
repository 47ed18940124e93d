"""Sv39/Sv48 paging for riscv64 harts, driven by satp as the privileged spec and Spike define it.

One MMU object per hart follows ``satp.MODE``: Bare (no translation), Sv39 (3 levels, 39-bit
virtual addresses) or Sv48 (4 levels, 48-bit). Which non-Bare modes a hart accepts is the
component's choice (:data:`MODES`); the satp WARL rule in :mod:`~vmcore_isa_riscv.csr`
ignores writes of any other MODE, so software can probe for Sv48 as it does on hardware.

Translation applies to S and U mode, and to M-mode loads and stores with mstatus.MPRV set
(at the privilege in MPP). A walk checks, in Spike's order: canonical address, valid and
reserved PTE encodings, U/SUM, misaligned superpage, R/W/X/MXR, then sets A (and D for a
store) in the PTE itself (Spike's default "hardware A/D update"; ``hardware_ad = False``
faults instead, as the Svade behaviour). A failed check is a page fault (cause 12, 13, 15)
with tval = the virtual address; a PTE read or write the bus refuses is an access fault.

The software TLB maps (4 KiB vpn, ASID) to the leaf PTE's low bits and the physical page.
Permissions are checked against the live privilege, SUM and MXR on every hit through a
precomputed table, so mode changes need no flush; sfence.vma and satp writes do flush it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmcore import Access, BusError, GuestTrap, Mmu
from vmcore_isa_riscv import csr
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.traps import Cause

if TYPE_CHECKING:
    from vmcore import Cpu

PAGE_SHIFT = 12
PAGE_OFFSET = (1 << PAGE_SHIFT) - 1
MASK64 = (1 << 64) - 1

PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D = (1 << i for i in range(8))
PTE_PPN_SHIFT = 10
PTE_PPN_MASK = (1 << 44) - 1
#: bits 63:54 (N, PBMT and reserved): Svnapot and Svpbmt are not implemented, so any of
#: them set makes the PTE invalid (a page fault, as Spike)
PTE_RESERVED = ((1 << 10) - 1) << 54

SATP_BARE, SATP_SV39, SATP_SV48 = 0, 8, 9
SATP_PPN_MASK = (1 << 44) - 1
SATP_ASID_SHIFT = 44
SATP_ASID_MASK = 0xFFFF

#: satp MODE -> (page-table levels, virtual address bits)
SCHEMES = {SATP_SV39: (3, 39), SATP_SV48: (4, 48)}

_PAGE_FAULT = {
    Access.FETCH: Cause.INSN_PAGE_FAULT,
    Access.LOAD: Cause.LOAD_PAGE_FAULT,
    Access.STORE: Cause.STORE_PAGE_FAULT,
}
_ACCESS_FAULT = {
    Access.FETCH: Cause.INSN_ACCESS,
    Access.LOAD: Cause.LOAD_ACCESS,
    Access.STORE: Cause.STORE_ACCESS,
}

#: most TLB entries before the TLB is dropped whole (bounds memory and flush-by-address scans)
TLB_SIZE = 2048

# results of the permission table
FAULT, OK, UPDATE = 0, 1, 2


def _permission(pte: int, access: int, priv: int, sum_: bool, mxr: bool) -> int:
    """The spec's leaf checks for one PTE (low 8 bits) and one access context: FAULT, OK,
    or UPDATE (allowed, but A or D must be set first)."""
    if not pte & PTE_V or (pte & PTE_W and not pte & PTE_R) or not pte & (PTE_R | PTE_X):
        return FAULT
    if pte & PTE_U:
        if priv == csr.S and (access == Access.FETCH or not sum_):
            return FAULT
    elif priv == csr.U:
        return FAULT
    allowed = {
        Access.FETCH: pte & PTE_X,
        Access.LOAD: pte & PTE_R or (mxr and pte & PTE_X),
        Access.STORE: pte & PTE_W,
    }[access]
    if not allowed:
        return FAULT
    if not pte & PTE_A or (access == Access.STORE and not pte & PTE_D):
        return UPDATE
    return OK


def context(access: int, priv: int, mstatus: int) -> int:
    """Index of an access context in :data:`PERMISSIONS` (shifted left 8, or'ed with a PTE)."""
    return access | priv << 2 | ((mstatus >> 18) & 3) << 4  # SUM is bit 18, MXR bit 19


def _permission_table() -> bytes:
    table = bytearray(64 * 256)
    for sum_mxr in range(4):
        for priv in (csr.U, csr.S):
            for access in Access:
                ctx = context(access, priv, sum_mxr << 18)
                for pte in range(256):
                    table[ctx << 8 | pte] = _permission(
                        pte, access, priv, bool(sum_mxr & 1), bool(sum_mxr & 2)
                    )
    return bytes(table)


#: PERMISSIONS[context << 8 | pte & 0xFF]: the leaf checks, table-driven so that a TLB hit
#: costs one index (contexts at M privilege never get here and read FAULT)
PERMISSIONS = _permission_table()


class RiscvMmu(Mmu):
    """satp-driven paging (Bare, Sv39, Sv48) with a software TLB; see the module docstring."""

    name = "riscv"
    #: satp MODE values besides Bare this MMU accepts (the satp WARL rule reads it)
    satp_modes: frozenset[int] = frozenset({SATP_SV39, SATP_SV48})
    #: set A/D in the PTE on access (Spike's default); False raises a page fault instead
    hardware_ad = True

    def __init__(self, cpu: Cpu) -> None:
        super().__init__(cpu)
        self.csrs = cpu.arch.csrs
        #: (vpn << 16 | asid) -> (leaf PTE & 0xFF, physical page address, level)
        self.tlb: dict[int, tuple[int, int, int]] = {}
        self._satp = -1
        self._levels = 0
        self._va_bits = 0
        self._root = 0
        self._asid = 0
        #: page-table walks (TLB misses and refreshes), for tests and statistics
        self.walks = 0

    # -- satp ---------------------------------------------------------------------------------

    def _load_satp(self, satp: int) -> None:
        """Decode satp (lazily: reset and debuggers change it behind our back)."""
        self._satp = satp
        self._levels, self._va_bits = SCHEMES.get(satp >> 60, (0, 0))
        self._root = (satp & SATP_PPN_MASK) << PAGE_SHIFT
        self._asid = (satp >> SATP_ASID_SHIFT) & SATP_ASID_MASK
        self.tlb.clear()

    def data_priv(self) -> int:
        """The privilege loads and stores are translated at (MPP when mstatus.MPRV is set)."""
        s = self.cpu.s
        ms = s[R.MSTATUS]
        return (ms >> 11) & 3 if ms & csr.MSTATUS_MPRV else s[R.PRIV]

    def is_identity(self) -> bool:
        """Loads and stores are untranslated: satp is Bare or they run at M privilege."""
        return self.csrs.values[csr.SATP] >> 60 == SATP_BARE or self.data_priv() == csr.M

    # -- translation -------------------------------------------------------------------------

    def translate(self, vaddr: int, access: Access) -> int:
        """The hot path: privilege, satp, then a TLB hit whose PTE passes the permission
        table for the live context (see :func:`context`); anything else walks."""
        s = self.cpu.s
        ms = s[R.MSTATUS]
        priv = s[R.PRIV]
        if ms & csr.MSTATUS_MPRV and access != Access.FETCH:
            priv = (ms >> 11) & 3
        if priv == csr.M:
            return vaddr
        satp = self.csrs.values[csr.SATP]
        if satp != self._satp:
            self._load_satp(satp)
        if not self._levels:
            return vaddr
        ctx = access | priv << 2 | ((ms >> 18) & 3) << 4
        ent = self.tlb.get((vaddr >> PAGE_SHIFT) << 16 | self._asid)
        if ent is not None and PERMISSIONS[ctx << 8 | ent[0]] == OK:
            return ent[1] | (vaddr & PAGE_OFFSET)
        return self._walk(vaddr, access, ctx)

    def _walk(self, vaddr: int, access: Access, ctx: int) -> int:
        """The spec's page-table walk (privileged spec 4.3.2); fills the TLB."""
        self.walks += 1
        levels, va_bits = self._levels, self._va_bits
        top = vaddr >> (va_bits - 1)
        if top and top != (1 << (65 - va_bits)) - 1:
            raise GuestTrap(_PAGE_FAULT[access], vaddr)  # not sign-extended: non-canonical
        bus = self.cpu.bus
        table = self._root
        for level in range(levels - 1, -1, -1):
            pte_addr = table + ((vaddr >> (PAGE_SHIFT + 9 * level)) & 0x1FF) * 8
            try:
                pte = bus.read(pte_addr, 8, access)
            except BusError:
                raise GuestTrap(_ACCESS_FAULT[access], vaddr) from None
            if not pte & PTE_V or (pte & PTE_W and not pte & PTE_R) or pte & PTE_RESERVED:
                break
            ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK
            if not pte & (PTE_R | PTE_X):
                if pte & (PTE_A | PTE_D | PTE_U):  # reserved in non-leaf PTEs (Spike faults)
                    break
                table = ppn << PAGE_SHIFT
                continue
            if ppn & ((1 << (9 * level)) - 1):
                break  # misaligned superpage
            verdict = PERMISSIONS[ctx << 8 | (pte & 0xFF)]
            if verdict == FAULT:
                break
            if verdict == UPDATE:
                if not self.hardware_ad:
                    break
                pte |= PTE_A | (PTE_D if access == Access.STORE else 0)
                try:
                    bus.write(pte_addr, 8, pte)
                except BusError:
                    raise GuestTrap(_ACCESS_FAULT[access], vaddr) from None
            vpn = vaddr >> PAGE_SHIFT
            page = (ppn | (vpn & ((1 << (9 * level)) - 1))) << PAGE_SHIFT
            if len(self.tlb) >= TLB_SIZE:
                self.tlb.clear()
            self.tlb[vpn << 16 | self._asid] = (pte & 0xFF, page, level)
            return page | (vaddr & PAGE_OFFSET)
        raise GuestTrap(_PAGE_FAULT[access], vaddr)

    def flush(self, vaddr: int | None = None) -> None:
        """sfence.vma: forget everything, or every entry made from the leaf mapping
        ``vaddr`` (a superpage's 4 KiB pieces included)."""
        if vaddr is None:
            self.tlb.clear()
            return
        vpn = (vaddr & MASK64) >> PAGE_SHIFT
        for key, (_, _, level) in list(self.tlb.items()):
            shift = 16 + 9 * level
            if key >> shift == vpn >> (9 * level):
                del self.tlb[key]


class Sv39Mmu(RiscvMmu):
    """Bare and Sv39 only: satp writes selecting Sv48 are ignored (WARL)."""

    name = "sv39"
    satp_modes = frozenset({SATP_SV39})


class Sv48Mmu(RiscvMmu):
    """Bare, Sv39 and Sv48 (an Sv48 hart must support Sv39 as well)."""

    name = "sv48"
