"""Disassembly: one instruction for traces, whole ELF files for vmctl disasm."""

from __future__ import annotations

import io
import struct

import capstone
import pytest
import toy_machine

from vmcore import Component, hookimpl
from vmcore.cli import run_cli
from vmcore.components import ConfigError
from vmcore.disasm import disassemble_elf, disassemble_one, isa_for_elf_machine
from vmcore.plugins import Registry, make_plugin_manager

EM_RISCV, EM_AARCH64 = 243, 183
ADDI_A0_1, LI_A1_2, ILLEGAL = 0x00100513, 0x00200593, 0x00000000


class RiscvLike(toy_machine.Toy32):
    """Just enough of an ISA for disassembly: a name, capstone, an ELF machine."""

    name = "rvlike"
    elf_machine = EM_RISCV
    capstone = (capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)


class Plugin:
    __name__ = "rvlike"

    @hookimpl
    def vmcore_register_isas(self):
        return [Component("isa", "rvlike", RiscvLike, "for disassembly tests")]


@pytest.fixture
def registry() -> Registry:
    pm = make_plugin_manager(entry_points=False, extra=[("toy", toy_machine), ("rv", Plugin())])
    return Registry.from_plugin_manager(pm)


def make_elf(machine: int, addr: int, code: bytes, symbols: dict[str, int]) -> bytes:
    """A minimal ELF64 executable: .text, .symtab, .strtab, .shstrtab."""
    shstr = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n in symbols)
    symtab = bytes(24)
    name_off = 1
    for name, value in symbols.items():
        symtab += struct.pack("<IBBHQQ", name_off, 0x12, 0, 1, value, 4)
        name_off += len(name) + 1
    blobs = [code, symtab, strtab, shstr]
    offsets, off = [], 64
    for blob in blobs:
        offsets.append(off)
        off += len(blob)
    shoff = (off + 7) & ~7
    sh = bytes(64)
    sh += struct.pack("<IIQQQQIIQQ", 1, 1, 6, addr, offsets[0], len(code), 0, 0, 4, 0)
    sh += struct.pack("<IIQQQQIIQQ", 7, 2, 0, 0, offsets[1], len(symtab), 3, 1, 8, 24)
    sh += struct.pack("<IIQQQQIIQQ", 15, 3, 0, 0, offsets[2], len(strtab), 0, 0, 1, 0)
    sh += struct.pack("<IIQQQQIIQQ", 23, 3, 0, 0, offsets[3], len(shstr), 0, 0, 1, 0)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, machine, 1, addr, 0, shoff, 0, 64, 0, 0, 64, 5, 4
    )
    body = header + b"".join(blobs)
    return body + bytes(shoff - len(body)) + sh


def test_disassemble_one():
    rv = RiscvLike()
    assert disassemble_one(rv, ADDI_A0_1, 4, 0x1000) == "addi a0, zero, 1"
    assert rv.disasm(LI_A1_2, 4, 0) == "addi a1, zero, 2"
    assert disassemble_one(rv, 0xFFFFFFFF, 4, 0) == ".4byte 0xffffffff"
    # an ISA without capstone still prints something a reader can use
    assert toy_machine.Toy32().disasm(0x0100_0041, 4, 0) == ".4byte 0x01000041"


def test_isa_for_elf_machine(registry):
    assert isa_for_elf_machine(registry, EM_RISCV).name == "rvlike"
    with pytest.raises(
        ConfigError,
        match=r"no installed ISA handles ELF machine 183; installed ISAs: rvlike, toy32",
    ):
        isa_for_elf_machine(registry, EM_AARCH64)


def test_disassemble_elf_lists_symbols_and_keeps_going_past_bad_words(registry, tmp_path):
    code = struct.pack("<III", ADDI_A0_1, 0xFFFFFFFF, LI_A1_2)
    path = tmp_path / "prog.elf"
    path.write_bytes(make_elf(EM_RISCV, 0x10000, code, {"_start": 0x10000, "next": 0x10008}))
    out = io.StringIO()
    disassemble_elf(path, out, registry)
    text = out.getvalue()
    assert text.startswith(f"{path}: rvlike\n")
    assert "section .text:" in text
    lines = [line.split(None, 2) for line in text.splitlines() if line.startswith("  ")]
    assert lines[0] == ["10000:", "13051000", "addi a0, zero, 1"]
    assert lines[-1] == ["10008:", "93052000", "addi a1, zero, 2"]
    assert any(".byte" in line[2] for line in lines[1:-1])
    assert "0000000000010000 <_start>:" in text and "0000000000010008 <next>:" in text


def test_disassemble_elf_errors(registry, tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an elf file at all, clearly")
    with pytest.raises(ConfigError, match="not a valid ELF file"):
        disassemble_elf(junk, io.StringIO(), registry)
    arm = tmp_path / "arm.elf"
    arm.write_bytes(make_elf(EM_AARCH64, 0x400000, bytes(8), {}))
    with pytest.raises(ConfigError, match="ELF machine 183"):
        disassemble_elf(arm, io.StringIO(), registry)


def test_vmctl_disasm(registry, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("vmcore.plugins.get_registry", lambda: registry)
    path = tmp_path / "prog.elf"
    path.write_bytes(make_elf(EM_RISCV, 0x10000, struct.pack("<I", ADDI_A0_1), {}))
    assert run_cli(["disasm", str(path)]) == 0
    assert "addi a0, zero, 1" in capsys.readouterr().out
    path.write_bytes(b"\x7fELF garbage")
    assert run_cli(["disasm", str(path)]) == 2
    assert "not a valid ELF file" in capsys.readouterr().err


def test_malformed_elf_files_never_crash(registry, tmp_path):
    import random

    good = make_elf(EM_RISCV, 0x10000, struct.pack("<II", ADDI_A0_1, LI_A1_2), {"_start": 0x10000})
    rng = random.Random(1234)
    path = tmp_path / "fuzz.elf"
    outcomes = set()
    for i in range(300):
        data = bytearray(good)
        if i % 3 == 0:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(4):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        try:
            disassemble_elf(path, io.StringIO(), registry)
            outcomes.add("ok")
        except ConfigError:
            outcomes.add("error")
    assert outcomes == {"ok", "error"}


def test_a_closed_pipe_is_not_reported_as_a_bad_file(registry, tmp_path):
    path = tmp_path / "prog.elf"
    path.write_bytes(make_elf(EM_RISCV, 0x10000, struct.pack("<I", ADDI_A0_1), {}))

    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        disassemble_elf(path, ClosedPipe(), registry)
