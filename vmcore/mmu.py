"""MMU strategies: how a hart turns virtual addresses into physical ones.

An engine asks :meth:`Mmu.is_identity` when it translates a block: while it is true the
engine may reach RAM directly with the virtual address. Otherwise every access goes through
:meth:`Mmu.translate`, which returns a physical address or raises the ISA's page fault as
:class:`~vmcore.ir.GuestTrap`. ``is_identity`` may only change when the ISA's mode key changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmcore.ir import Access

if TYPE_CHECKING:
    from vmcore.cpu import Cpu


class Mmu:
    """Base class of an MMU strategy (one object per hart)."""

    name = ""

    def __init__(self, cpu: Cpu) -> None:
        self.cpu = cpu

    def is_identity(self) -> bool:
        """True when virtual equals physical for the hart's current mode."""
        return True

    def translate(self, vaddr: int, access: Access) -> int:
        """The physical address for ``vaddr``; raises GuestTrap on a page fault."""
        return vaddr

    def flush(self, vaddr: int | None = None) -> None:
        """Forget cached translations (all, or the page of ``vaddr``)."""


class FlatMmu(Mmu):
    """No translation: virtual addresses are physical (bare metal, Linux user mode)."""

    name = "flat"
