"""A toy ISA and board, small enough to read in a minute, for testing the kernel's machine
assembly without any ISA plugin. Registered as an in-process plugin (``make_plugin_manager(
extra=[("toy", toy_machine)])``).

toy32: four 64-bit registers r0-r3, 32-bit little-endian instructions::

    li    00000001 rd:4 0000 imm:16       rd = imm
    stw   00000010 rs:4 0000 addr:16      store the low 32 bits of rs at addr
    ldw   00000011 rd:4 0000 addr:16      rd = 32-bit load from addr
    addi  00000100 rd:4 0000 imm:16       rd += imm
    halt  00000000 rs:4 0000 0000000000000000   power off with exit code rs

The ``toyboard`` board maps ``config.memory`` of RAM at 0, copies ``config.kernel`` (raw
bytes) there and starts at 0.
"""

from __future__ import annotations

import struct

from vmcore import (
    Builder,
    Component,
    Cpu,
    Decoder,
    GuestTrap,
    Helper,
    Isa,
    Reg,
    RegisterFile,
    hookimpl,
    parse_table,
)

ILLEGAL, ACCESS_FAULT = 2, 5

ENCODINGS = """
li     00000001 rd:4 0000 imm:16
stw    00000010 rs:4 0000 addr:16
ldw    00000011 rd:4 0000 addr:16
addi   00000100 rd:4 0000 imm:16
halt   00000000 rs:4 0000 0000000000000000
"""


def _halt(cpu: Cpu, code: int) -> None:
    cpu.machine.halt(code)


HALT = Helper(_halt, state=True, ends_block=True, name="halt")


def lift_li(b: Builder, f: dict[str, int], pc: int) -> None:
    b.set(f["rd"] & 3, f["imm"])


def lift_stw(b: Builder, f: dict[str, int], pc: int) -> None:
    b.store(b.const(f["addr"]), b.trunc(b.get(f["rs"] & 3), 32))


def lift_ldw(b: Builder, f: dict[str, int], pc: int) -> None:
    b.set(f["rd"] & 3, b.zext(b.load(32, b.const(f["addr"])), 64))


def lift_addi(b: Builder, f: dict[str, int], pc: int) -> None:
    b.set(f["rd"] & 3, b.add(b.get(f["rd"] & 3), f["imm"]))


def lift_halt(b: Builder, f: dict[str, int], pc: int) -> None:
    b.call(HALT, b.get(f["rs"] & 3))
    b.goto(pc + 4)


DECODER = Decoder(
    parse_table(ENCODINGS, 32, {n[5:]: fn for n, fn in globals().items() if n.startswith("lift_")})
)


class Toy32(Isa):
    name = "toy32"
    xlen = 64
    max_insn_len = 4
    elf_machine = 0x7777

    def __init__(self) -> None:
        regs = [Reg(f"r{i}", i) for i in range(4)] + [Reg("pc", 4, group="pc")]
        self.regs = RegisterFile(regs, pc=4, nslots=5)

    def reset(self, cpu: Cpu, pc: int) -> None:
        cpu.s[:] = [0] * self.regs.nslots
        cpu.pc = pc

    def lift(self, b: Builder, cpu: Cpu, pc: int) -> int:
        bits = cpu.fetch(pc, 4)
        b.insn(pc, 4, bits)
        enc = DECODER.decode(bits)
        if enc is None:
            b.trap(ILLEGAL, bits)
            return 4
        enc.payload(b, enc.extract(bits), pc)
        return 4

    def enter_trap(self, cpu: Cpu, trap: GuestTrap, pc: int) -> int:
        cpu.machine.halt(100 + trap.cause)
        return pc

    def bus_fault(self, err) -> GuestTrap:
        return GuestTrap(ACCESS_FAULT, err.addr)


def encode(name: str, reg: int = 0, imm: int = 0) -> bytes:
    op = {"halt": 0, "li": 1, "stw": 2, "ldw": 3, "addi": 4}[name]
    return struct.pack("<I", op << 24 | reg << 20 | imm)


def program(*insns: tuple) -> bytes:
    return b"".join(encode(*i) for i in insns)


class ToyBoard:
    """RAM at 0, the kernel image copied to 0, execution starts at 0."""

    reset_pc = 0

    def __init__(self, machine, config) -> None:
        self.ram = machine.bus.add_ram(0, config.memory)
        if config.kernel:
            with open(config.kernel, "rb") as f:
                machine.bus.write_bytes(0, f.read())


@hookimpl
def vmcore_register_isas():
    return [Component("isa", "toy32", Toy32, "toy ISA for kernel tests")]


@hookimpl
def vmcore_register_boards():
    return [Component("board", "toyboard", ToyBoard, "RAM at 0, raw image", isas=("toy32",))]
