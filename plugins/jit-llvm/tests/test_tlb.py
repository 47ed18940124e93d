"""The software TLB: bare-metal RISC-V guests that turn Sv39/Sv48 paging on (M, S and U
mode, superpages, A/D updates, page faults, sfence.vma) run native from the first block and
must stay in lockstep with interp, with the TLB actually in use."""

from __future__ import annotations

import io
import random
import shutil

import pytest

pytest.importorskip("vmcore_isa_riscv")
from vmcore.build import build_machine  # noqa: E402
from vmcore.config import MachineConfig  # noqa: E402
from vmcore.testing.guests import GUESTS, build  # noqa: E402

BAREMETAL = GUESTS / "riscv64" / "baremetal"
CC = "riscv64-unknown-elf-gcc"


def _guest(name: str) -> str:
    if shutil.which(CC) is None:
        pytest.fail(f"{CC} is not installed (.ci/run installs it)")
    flags = (
        "-march=rv64g_zba_zbb_zbs",
        "-mabi=lp64d",
        "-mcmodel=medany",
        "-static",
        "-nostdlib",
        "-nostartfiles",
        f"-T{BAREMETAL / 'link.ld'}",
        f"-I{BAREMETAL}",
    )
    elf = build(BAREMETAL / name, flavour="elf", flags=flags, extra_sources=[BAREMETAL / "crt.S"])
    return str(elf)


def _machine(elf: str, engine: str, mmu: str):
    m = build_machine(
        MachineConfig(isa="riscv64", board="spike", engine=engine, kernel=elf, mmu=mmu)
    )
    m.board.htif.output = io.BytesIO()
    return m


@pytest.mark.parametrize(
    ("guest", "mmu"),
    [("paging.S", "sv39"), ("paging.S", "sv48"), ("paging_sv48.S", "sv48"), ("user.S", "sv39")],
)
def test_paging_guest_native_in_lockstep(guest, mmu, monkeypatch):
    monkeypatch.setenv("VMCORE_JIT_THRESHOLD", "0")  # native from the first block
    elf = _guest(guest)
    a, b = _machine(elf, "interp", mmu), _machine(elf, "jit", mmu)
    rng = random.Random(7)
    for _ in range(100_000):
        chunk = rng.choice((1, 3, 17, 200, 5000))
        ra, rb = a.run(limit=chunk), b.run(limit=chunk)
        assert a.cpus[0].instret == b.cpus[0].instret
        assert a.cpus[0].s == b.cpus[0].s
        assert ra == rb
        if ra != "limit":
            break
    assert (a.exit_code, b.exit_code) == (0, 0)
    if guest.startswith("paging"):
        stats = b.engine.stats
        assert stats["tlb_refills"] > 0
        assert stats["native_insns"] > 0
