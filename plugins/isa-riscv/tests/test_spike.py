"""The spike board: ELF loading and its errors, HTIF exit/console/syscalls, the signature
dump, the CLINT it maps, and ``vmctl machine --board spike`` end to end."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from baremetal_util import BAREMETAL, build_guest, needs_cc, run_elf

from vmcore import ConfigError
from vmcore.build import build_machine
from vmcore.config import MachineConfig
from vmcore.plugins import get_registry
from vmcore_isa_riscv.boards.spike import CLINT_BASE, RAM_BASE

VMCTL = str(Path(sys.executable).with_name("vmctl"))


def make_elf(vaddr=RAM_BASE, code=b"\x6f\x00\x00\x00", machine=243, entry=None) -> bytes:
    """A minimal ELF64 executable: one R+X PT_LOAD segment, no sections (so no symbols)."""
    ehdr = struct.Struct("<16sHHIQQQIHHHHHH")
    phdr = struct.Struct("<IIQQQQQQ")
    off = 0x1000  # page-aligned like the address, as loaders require
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    head = ehdr.pack(
        ident, 2, machine, 1, entry or vaddr, ehdr.size, 0, 0, ehdr.size, phdr.size, 1, 64, 0, 0
    )
    seg = phdr.pack(1, 5, off, vaddr, vaddr, len(code), len(code), 0x1000)
    return (head + seg).ljust(off, b"\0") + code


def spike(tmp_path, data: bytes, **config):
    path = tmp_path / "kernel.elf"
    path.write_bytes(data)
    return build_machine(MachineConfig(isa="riscv64", board="spike", kernel=str(path), **config))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"#!/bin/sh\n", "not an ELF file"),
        (b"\x7fELF\x02", "truncated ELF"),
        (make_elf(machine=62), "x86-64"),
        (make_elf(vaddr=0x10000), "outside RAM"),
        (make_elf(entry=RAM_BASE + 0x100), "entry point"),
    ],
)
def test_bad_kernels_are_config_errors(tmp_path, data, message):
    with pytest.raises(ConfigError, match=message):
        spike(tmp_path, data)


def test_kernel_and_bios_are_checked():
    with pytest.raises(ConfigError, match="--kernel"):
        build_machine(MachineConfig(isa="riscv64", board="spike"))


def test_memory_map_and_reset(tmp_path):
    m = spike(tmp_path, make_elf(), memory="64M")
    assert m.cpus[0].pc == RAM_BASE
    assert m.bus.find(RAM_BASE).size == 64 << 20
    assert m.bus.find(CLINT_BASE).device is m.devices["clint"]
    assert m.board.htif is None  # no tohost symbol: nothing to poll
    assert m.bus.read(RAM_BASE, 4) == 0x6F


def test_clint_is_a_registered_device():
    comp = get_registry().get("device", "clint")
    assert comp.make_options({"base": "0x3000000"}).base == 0x300_0000
    assert comp.supports("riscv64") and not comp.supports("aarch64")


# -- guests written for these tests ----------------------------------------------------------


def guest(tmp_path, body: str, data: str = "") -> str:
    """Build a bare-metal program from ``body`` (runs as test_main) with the shared crt."""
    src = tmp_path / "prog.S"
    src.write_text(
        '#include "test.h"\n  .text\n  .globl test_main\ntest_main:\n'
        + textwrap.dedent(body)
        + "\n  .data\n"
        + textwrap.dedent(data)
    )
    return build_guest(str(src))


@needs_cc
@pytest.mark.parametrize("status", [0, 1, 42, 0x7FFF])
def test_htif_exit_status(tmp_path, status):
    machine, reason, _ = run_elf(guest(tmp_path, f"li a0, {status}\n j exit"))
    assert (reason, machine.exit_code) == ("halt", status)


@needs_cc
def test_htif_console_answers_in_fromhost(tmp_path):
    body = """
      li t0, 0x0101000000000041
      la t1, tohost
      sd t0, 0(t1)
      la t2, fromhost
    1: ld a1, 0(t2)
      beqz a1, 1b
      ld a2, 0(t1)
      li t0, 0x0101000000000141
      bne a1, t0, fail
      bnez a2, fail
      j pass
    """
    machine, reason, out = run_elf(guest(tmp_path, body))
    assert (reason, machine.exit_code, out) == ("halt", 0, b"A")


@needs_cc
def test_htif_syscall_proxy_write(tmp_path):
    body = """
      la t0, magic
      la t1, text
      sd t1, 16(t0)
      la t1, tohost
      sd t0, 0(t1)
      la t2, fromhost
    1: ld a1, 0(t2)
      beqz a1, 1b
      ld a2, 0(t0)
      li t3, 6
      bne a2, t3, fail
      j pass
    """
    data = """
      .align 3
    magic: .dword 64, 1, 0, 6, 0, 0, 0, 0
    text: .ascii "proxy\\n"
    """
    machine, reason, out = run_elf(guest(tmp_path, body, data))
    assert (reason, machine.exit_code, out) == ("halt", 0, b"proxy\n")


@needs_cc
def test_signature_is_written_like_spike(tmp_path):
    body = """
      la t0, begin_signature
      li t1, 0xcafef00d
      sw t1, 4(t0)
      j pass
    """
    data = """
      .align 4
      .globl begin_signature
    begin_signature: .word 0x11223344, 0, 0xdeadbeef, 0xffffffff
      .globl end_signature
    end_signature:
    """
    sig = tmp_path / "out.sig"
    machine, reason, _ = run_elf(guest(tmp_path, body, data), signature=str(sig))
    assert (reason, machine.exit_code) == ("halt", 0)
    assert sig.read_text() == "11223344\ncafef00d\ndeadbeef\nffffffff\n"


@needs_cc
def test_extra_harts_park_while_hart_0_runs_the_test():
    machine, reason, _ = run_elf(build_guest("traps.S"), smp=2)
    assert (reason, machine.exit_code) == ("halt", 0)
    assert machine.cpus[1].waiting
    assert machine.cpus[1].arch.csrs.read(0xF14) == 1  # mhartid


@needs_cc
def test_wfi_with_nothing_enabled_stops_as_idle(tmp_path):
    machine, reason, _ = run_elf(guest(tmp_path, "csrw mie, zero\n wfi\n j fail"), limit=None)
    assert reason == "idle" and machine.exit_code is None


@needs_cc
def test_syscall_proxy_with_a_wild_pointer_is_efault(tmp_path):
    body = """
      la t0, magic
      la t1, tohost
      sd t0, 0(t1)
      la t2, fromhost
    1: ld a1, 0(t2)
      beqz a1, 1b
      ld a2, 0(t0)
      li t3, -14
      bne a2, t3, fail
      j pass
    """
    data = """
      .align 3
    magic: .dword 64, 1, 0x10, 100, 0, 0, 0, 0
    """
    machine, reason, out = run_elf(guest(tmp_path, body, data))
    assert (reason, machine.exit_code, out) == ("halt", 0, b"")


@needs_cc
def test_signature_needs_the_symbols(tmp_path):
    with pytest.raises(ConfigError, match="begin_signature"):
        run_elf(guest(tmp_path, "j pass"), signature=str(tmp_path / "sig"))


@needs_cc
def test_vmctl_machine_runs_a_spike_guest(tmp_path):
    elf = build_guest("hello.S")
    sig = tmp_path / "sig"
    res = subprocess.run(
        [VMCTL, "machine", "--isa", "riscv64", "--board", "spike", "--kernel", str(elf)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"hello from bare metal\n"
    assert not sig.exists()


@needs_cc
def test_vmctl_exit_status_is_the_failing_test(tmp_path):
    elf = guest(tmp_path, "li a0, 7\n j exit")
    res = subprocess.run(
        [VMCTL, "machine", "--isa", "riscv64", "--board", "spike", "--kernel", str(elf)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 7, res.stderr


def test_guest_sources_exist():
    assert (BAREMETAL / "crt.S").exists() and (BAREMETAL / "link.ld").exists()
