"""The software TLB: bare-metal RISC-V guests that turn Sv39/Sv48 paging on (M, S and U
mode, superpages, A/D updates, page faults, sfence.vma) run native from the first block and
must stay in lockstep with interp, with the TLB actually in use."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

pytest.importorskip("vmcore_isa_riscv")
# the RISC-V plugin's bare-metal test helpers build and run these guests
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "isa-riscv" / "tests"))
from baremetal_util import build_guest, run_elf  # noqa: E402


def _machine(elf, engine: str, mmu: str):
    machine, _, _ = run_elf(elf, engine, limit=0, mmu=mmu)  # built, not run yet
    return machine


def _lockstep(guest: str, mmu: str):
    """Run ``guest`` on interp and the jit in random chunks, comparing the full state."""
    elf = build_guest(guest)
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
    return a, b


@pytest.mark.parametrize(
    ("guest", "mmu"),
    [("paging.S", "sv39"), ("paging.S", "sv48"), ("paging_sv48.S", "sv48"), ("user.S", "sv39")],
)
def test_paging_guest_native_in_lockstep(guest, mmu, monkeypatch):
    monkeypatch.setenv("VMCORE_JIT_THRESHOLD", "0")  # native from the first block
    a, b = _lockstep(guest, mmu)
    if guest.startswith("paging"):
        stats = b.engine.stats
        assert stats["tlb_refills"] > 0
        assert stats["native_insns"] > 0
        # quick units stored through the TLB's store helpers (vmcore_jit_llvm.quickmem)
        assert "vm_store8_tlb" in b.engine.env.store_helpers


@pytest.mark.parametrize(("guest", "mmu"), [("paging.S", "sv39"), ("user.S", "sv39")])
def test_paging_guest_in_packs_in_lockstep(guest, mmu, monkeypatch):
    """Blocks compiled in batches, so in packs (one function entered at each of its
    blocks, vmcore_jit_llvm.codegen.BlockGen), through M, S and U mode and paging turned
    on: still in lockstep with interp."""
    monkeypatch.setenv("VMCORE_JIT_THRESHOLD", "1")
    _, b = _lockstep(guest, mmu)
    assert b.engine.stats["packed_blocks"] > 0 and b.engine.stats["member_entries"] > 0
