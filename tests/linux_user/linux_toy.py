"""A toy ISA with a Linux ABI, an assembler for it and an ELF writer, so the Linux
user-mode personality can be tested end to end without any ISA plugin.

Instructions are 32-bit little-endian words ``op:8 rd:4 rs:4 imm:16`` (imm signed)::

    0x01 li   rd, imm        rd = imm
    0x02 lis  rd, imm        rd = rd << 16 | imm (unsigned) - builds wide constants
    0x03 add  rd, rs         rd += rs
    0x04 addi rd, imm        rd += imm
    0x05 ld   rd, [rs+imm]   64-bit load
    0x06 st   rs, [rd+imm]   64-bit store
    0x07 ldb  rd, [rs+imm]   8-bit load, zero-extended
    0x08 ecall               the syscall instruction: trap cause 8
    0x09 jr   rs             jump to rs
    0x0a bnez rs, imm        if rs != 0: pc += imm * 4
    0x0b mov  rd, rs
    anything else            illegal instruction: trap cause 2

Registers r0-r7 (r0-r5 syscall args, r0 result, r6 sp, r7 syscall number) and pc.
"""

from __future__ import annotations

import io
import struct

from vmcore import Builder, Cpu, GuestTrap, Isa, LinuxAbi, Reg, RegisterFile, to_signed
from vmcore.engines.interp import InterpEngine
from vmcore.ir import Access
from vmcore.linux_user import build_process, run_program

EM_TOY = 0x7A7A
ILLEGAL, FETCH_FAULT, LOAD_FAULT, STORE_FAULT, ECALL = 2, 1, 5, 7, 8
_FAULT = {Access.FETCH: FETCH_FAULT, Access.LOAD: LOAD_FAULT, Access.STORE: STORE_FAULT}

LINUX = LinuxAbi(
    elf_machine=EM_TOY,
    syscall_nr=7,
    args=(0, 1, 2, 3, 4, 5),
    result=0,
    sp=6,
    ecall_cause=ECALL,
    syscall_insn_len=4,
    hwcap=0x1234,
    platform="toy64",
    signals={ILLEGAL: 4, FETCH_FAULT: 11, LOAD_FAULT: 11, STORE_FAULT: 11},
    uname_machine="toy64",
)

OPS = {
    "li": 1,
    "lis": 2,
    "add": 3,
    "addi": 4,
    "ld": 5,
    "st": 6,
    "ldb": 7,
    "ecall": 8,
    "jr": 9,
    "bnez": 10,
    "mov": 11,
}


class ToyLinux(Isa):
    name = "toylinux"
    xlen = 64
    max_insn_len = 4
    linux = LINUX

    def __init__(self) -> None:
        regs = [Reg(f"r{i}", i) for i in range(8)] + [Reg("pc", 8, group="pc")]
        self.regs = RegisterFile(regs, pc=8, nslots=9)

    def reset(self, cpu: Cpu, pc: int) -> None:
        cpu.s[:] = [0] * 9
        cpu.pc = pc

    def lift(self, b: Builder, cpu: Cpu, pc: int) -> int:
        w = cpu.fetch(pc, 4)
        b.insn(pc, 4, w)
        op, rd, rs, imm = w & 0xFF, (w >> 8) & 7, (w >> 12) & 7, to_signed(w >> 16, 16)
        if op == 1:
            b.set(rd, imm)
        elif op == 2:
            b.set(rd, b.or_(b.shl(b.get(rd), 16), imm & 0xFFFF))
        elif op == 3:
            b.set(rd, b.add(b.get(rd), b.get(rs)))
        elif op == 4:
            b.set(rd, b.add(b.get(rd), imm))
        elif op == 5:
            b.set(rd, b.load(64, b.add(b.get(rs), imm)))
        elif op == 6:
            b.store(b.add(b.get(rd), imm), b.get(rs))
        elif op == 7:
            b.set(rd, b.zext(b.load(8, b.add(b.get(rs), imm)), 64))
        elif op == 8:
            b.trap(ECALL)
        elif op == 9:
            b.goto(b.get(rs))
        elif op == 10:
            b.branch(b.ne(b.get(rs), 0), pc + 4 * imm, pc + 4)
        elif op == 11:
            b.set(rd, b.get(rs))
        else:
            b.trap(ILLEGAL, w)
        return 4

    def enter_trap(self, cpu: Cpu, trap: GuestTrap, pc: int) -> int:
        raise AssertionError(f"toy trap {trap.cause} reached the ISA (Linux should take it)")

    def bus_fault(self, err) -> GuestTrap:
        return GuestTrap(_FAULT[err.access], err.addr)


def asm(*lines: tuple) -> bytes:
    """``asm(("li", 0, 0, 5), ("ecall",))`` -> machine code. Operands: rd, rs, imm."""
    out = b""
    for line in lines:
        name, *ops = line
        rd, rs, imm = (list(ops) + [0, 0, 0])[:3]
        out += struct.pack("<I", OPS.get(name, 0xFF) | rd << 8 | rs << 12 | (imm & 0xFFFF) << 16)
    return out


def load_const(rd: int, value: int) -> list[tuple]:
    """Instructions that put a 64-bit ``value`` in ``rd``."""
    out: list[tuple] = [("li", rd, 0, 0)]
    for shift in (48, 32, 16, 0):
        out.append(("lis", rd, 0, (value >> shift) & 0xFFFF))
    return out


def syscall(nr: int, *args: int) -> list[tuple]:
    out: list[tuple] = []
    for i, a in enumerate(args):
        out += load_const(i, a)
    out += load_const(7, nr)
    out.append(("ecall",))
    return out


def make_elf(
    code: bytes,
    data: bytes = b"",
    *,
    base: int = 0x10000,
    machine: int = EM_TOY,
    etype: int = 2,
    bss: int = 0,
    interp: bytes | None = None,
    exec_stack: bool = False,
) -> bytes:
    """A minimal static ELF64 LE: headers and code in an R+X segment at ``base`` (entry
    just after the headers), ``data`` (+ ``bss`` zero bytes) in an R+W segment on the next
    page."""
    phnum = 2 + (interp is not None) + 1
    hdr_size = 64 + 56 * phnum
    text_off = (hdr_size + 15) & ~15
    text = bytes(text_off - hdr_size) + code
    data_off = (hdr_size + len(text) + 0xFFF) & ~0xFFF
    data_vaddr = base + data_off
    entry = base + text_off
    ehdr = struct.pack(
        "<16sHHIQQQIHHHHHH",
        b"\x7fELF\x02\x01\x01" + bytes(9),
        etype,
        machine,
        1,
        entry,
        64,
        0,
        0,
        64,
        56,
        phnum,
        64,
        0,
        0,
    )
    phdrs = [
        struct.pack(
            "<IIQQQQQQ", 1, 5, 0, base, base, hdr_size + len(text), hdr_size + len(text), 0x1000
        ),
        struct.pack(
            "<IIQQQQQQ", 1, 6, data_off, data_vaddr, data_vaddr, len(data), len(data) + bss, 0x1000
        ),
        struct.pack("<IIQQQQQQ", 0x6474E551, 7 if exec_stack else 6, 0, 0, 0, 0, 0, 16),
    ]
    interp_blob = b""
    if interp is not None:
        off = data_off + len(data)
        phdrs.insert(0, struct.pack("<IIQQQQQQ", 3, 4, off, 0, 0, len(interp), len(interp), 1))
        interp_blob = interp
    image = ehdr + b"".join(phdrs) + text
    image += bytes(data_off - len(image)) + data + interp_blob
    return image


def data_addr(code_len: int, base: int = 0x10000, phnum: int = 3) -> int:
    """Where :func:`make_elf` puts ``data`` for code of ``code_len`` bytes."""
    hdr_size = 64 + 56 * phnum
    text_off = (hdr_size + 15) & ~15
    return base + ((text_off + code_len + 0xFFF) & ~0xFFF)


def program(build, data: bytes = b"", **kw) -> bytes:
    """An ELF whose code is ``build(data_address)`` (a list of asm tuples)."""
    code = asm(*build(0))
    return make_elf(asm(*build(data_addr(len(code)))), data, **kw)


class Toy:
    """Runs toy programs and makes processes for syscall tests."""

    def __init__(self, tmp_path) -> None:
        self.tmp = tmp_path
        self.n = 0

    def write(self, image: bytes, name: str | None = None) -> str:
        self.n += 1
        path = self.tmp / (name or f"prog{self.n}")
        path.write_bytes(image)
        return str(path)

    def run(self, image: bytes, args=(), **kw):
        path = self.write(image)
        out, err = io.BytesIO(), io.StringIO()
        kw.setdefault("env", {"HOME": "/home/x"})
        status = run_program(
            [path, *args],
            isa=ToyLinux(),
            engine=InterpEngine,
            stdout=out,
            stderr=err,
            limit=100_000,
            **kw,
        )
        return status, out.getvalue(), err.getvalue()

    def process(self, args=(), image: bytes | None = None, **kw):
        image = image or program(lambda d: syscall(94, 0))
        path = self.write(image)
        kw.setdefault("stdout", io.BytesIO())
        kw.setdefault("stderr", io.StringIO())
        kw.setdefault("env", {"HOME": "/home/x", "LANG": "C"})
        m = build_process([path, *args], isa=ToyLinux(), engine=InterpEngine, **kw)
        return m.process


class Sys:
    """Calls syscalls on a process directly, with scratch memory to point at."""

    def __init__(self, p) -> None:
        self.p = p
        self.scratch = self(222, 0, 1 << 20, 3, 0x22, -1, 0)
        assert self.scratch > 0

    def __call__(self, nr: int, *args: int) -> int:
        cpu = self.p.cpu
        for i, a in enumerate(args):
            cpu.s[i] = a & (2**64 - 1)
        cpu.s[7] = nr
        self.p.on_trap(cpu, GuestTrap(8), cpu.pc)
        return to_signed(cpu.s[0], 64)

    def put(self, data: bytes, offset: int = 0) -> int:
        addr = self.scratch + offset
        self.p.machine.bus.write_bytes(addr, data)
        return addr

    def cstr(self, s: str | bytes, offset: int = 0) -> int:
        return self.put((s.encode() if isinstance(s, str) else s) + b"\0", offset)

    def get(self, addr: int, n: int) -> bytes:
        return self.p.machine.bus.read_bytes(addr, n)
