"""The paging guests (guests/riscv64/baremetal/paging*.S) under each MMU choice.

test_guest_asm runs them with the default MMU on every engine; here the MMU varies, and the
guests must *fail* where paging is missing or limited (they check satp reads back first), so
a guest that passed without translating anything would show up.
"""

from __future__ import annotations

import pytest
from baremetal_util import build_guest, needs_cc, run_elf

pytestmark = needs_cc

#: (guest, mmu, exit status): 0 passes, 2 is the "satp reads back" check failing, 1002 an
#: illegal-instruction trap in M (sfence.vma without paging)
CASES = [
    ("paging.S", "riscv", 0),
    ("paging.S", "sv39", 0),
    ("paging.S", "sv48", 0),
    ("paging.S", "flat", 1002),  # bare S: no satp, no sfence.vma
    ("paging_sv48.S", "riscv", 0),
    ("paging_sv48.S", "sv48", 0),
    ("paging_sv48.S", "sv39", 2),  # satp WARL: an Sv48 write is ignored
    ("paging_sv48.S", "flat", 1002),
]


@pytest.mark.parametrize(("guest", "mmu", "status"), CASES)
def test_paging_guest_under_mmu(guest, mmu, status):
    machine, reason, _ = run_elf(build_guest(guest), mmu=mmu)
    assert (reason, machine.exit_code) == ("halt", status)


def test_software_ad_management_faults_where_hardware_would_update():
    """With hardware A/D updates off, paging.S's TEST(4) load from its user data page (A
    clear) faults a second time although SUM is set, and the check after it fails."""
    from vmcore_isa_riscv.mmu import RiscvMmu

    machine, reason, _ = run_elf(build_guest("paging.S"), limit=10)  # still in M: no paging
    (cpu,) = machine.cpus
    assert isinstance(cpu.mmu, RiscvMmu)
    cpu.mmu.hardware_ad = False
    assert (machine.run(limit=3_000_000), machine.exit_code) == ("halt", 4)
