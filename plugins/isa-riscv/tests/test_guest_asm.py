"""The project's own self-checking bare-metal guests (guests/riscv64/baremetal/*.S), built
at test time and run on the spike board on every engine: each must exit 0 through HTIF.

A failure's exit status is the number of the failing check in the source (TEST(n)), or
1000 + mcause for an unexpected trap, 2000 + cause for an unexpected interrupt.
"""

from __future__ import annotations

import pytest
from baremetal_util import BAREMETAL, build_guest, engines, needs_cc, run_elf

GUESTS = sorted(p.name for p in BAREMETAL.glob("*.S") if p.name != "crt.S")
#: machine settings a guest needs beyond the spike board's defaults
CONFIG = {
    "smode.S": {"mmu": "flat"},  # bare S mode: satp read-only zero, sfence.vma illegal
}

pytestmark = needs_cc


def test_every_guest_is_collected():
    assert {"traps.S", "user.S", "csr.S", "counters.S", "timer.S", "vectored.S"} <= set(GUESTS)


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("guest", GUESTS)
def test_guest(guest, engine):
    elf = build_guest(guest)
    machine, reason, _ = run_elf(elf, engine, **CONFIG.get(guest, {}))
    assert reason == "halt", f"{guest} did not exit ({reason}) at pc {machine.cpus[0].pc:#x}"
    code = machine.exit_code
    if code >= 2000:
        detail = f"unexpected interrupt {code - 2000}"
    elif code >= 1000:
        detail = f"unexpected trap, mcause {code - 1000}"
    else:
        detail = f"check TEST({code}) failed"
    assert code == 0, f"{guest} on {engine}: {detail}"


def test_hello_prints_through_htif():
    machine, reason, out = run_elf(build_guest("hello.S"))
    assert (reason, machine.exit_code) == ("halt", 0)
    assert out == b"hello from bare metal\n"
