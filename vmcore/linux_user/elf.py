"""ELF64 little-endian loader for static executables (ET_EXEC and static-pie ET_DYN).

Parsing is our own (``struct``) so that every malformed input, however it is broken,
ends as one :class:`ElfError` whose message names the problem; vmctl prints it and exits 2.
Only what a kernel's ``binfmt_elf`` looks at is parsed: the file header and the program
headers. Section headers are never needed to run a program.
"""

from __future__ import annotations

import struct
from pathlib import Path

import attrs

from vmcore.components import ConfigError

ET_EXEC = 2
ET_DYN = 3

PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
PT_PHDR = 6
PT_TLS = 7
PT_GNU_STACK = 0x6474E551

PF_X = 1
PF_W = 2
PF_R = 4

#: largest user address any segment may reach (47-bit user space, as on x86-64/arm64/Sv48)
USER_TOP = 1 << 47

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
EHDR_SIZE = _EHDR.size  # 64
PHDR_SIZE = _PHDR.size  # 56
_MAX_PHNUM = 4096

#: a few machine numbers for readable messages (the ISA plugins own the real ones)
MACHINE_NAMES = {
    3: "x86 (i386)",
    8: "MIPS",
    20: "PowerPC",
    21: "PowerPC64",
    40: "ARM (32-bit)",
    62: "x86-64",
    183: "AArch64",
    243: "RISC-V",
}


class ElfError(ConfigError):
    """The file cannot be run: the message says why, in one line (vmctl exits 2)."""


@attrs.define(frozen=True)
class Segment:
    """One PT_LOAD program header (addresses before any load bias)."""

    vaddr: int
    memsz: int
    offset: int
    filesz: int
    flags: int
    align: int

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz


@attrs.define(frozen=True)
class ElfImage:
    """What a loader needs of an executable."""

    data: bytes = attrs.field(repr=False)
    type: int
    machine: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    segments: tuple[Segment, ...]
    #: vaddr of the program headers (PT_PHDR, or the loaded bytes that hold them), or 0
    phdr_vaddr: int
    #: PF_* flags of PT_GNU_STACK (PF_R|PF_W without one: a non-executable stack)
    stack_flags: int
    has_tls: bool

    @property
    def is_pie(self) -> bool:
        return self.type == ET_DYN

    @property
    def low(self) -> int:
        """Lowest page touched by a PT_LOAD segment."""
        return min(s.vaddr for s in self.segments) & ~0xFFF

    @property
    def high(self) -> int:
        """End of the highest PT_LOAD segment (not page-rounded)."""
        return max(s.end for s in self.segments)

    def segment_bytes(self, seg: Segment) -> bytes:
        return self.data[seg.offset : seg.offset + seg.filesz]


def machine_name(machine: int) -> str:
    name = MACHINE_NAMES.get(machine)
    return f"{name} (e_machine {machine})" if name else f"e_machine {machine}"


def peek_machine(data: bytes) -> int:
    """``e_machine`` of an ELF64 little-endian file, after checking the identification."""
    _check_ident(data)
    return struct.unpack_from("<H", data, 18)[0]


def _check_ident(data: bytes) -> None:
    if len(data) < 4 or data[:4] != b"\x7fELF":
        if data[:2] == b"#!":
            raise ElfError("not an ELF file (a script: run its interpreter instead)")
        raise ElfError("not an ELF file (bad magic)")
    if len(data) < 16:
        raise ElfError(f"truncated ELF file: {len(data)} bytes, the header needs {EHDR_SIZE}")
    ei_class, ei_data, ei_version = data[4], data[5], data[6]
    if ei_class == 1:
        raise ElfError("32-bit ELF (ELFCLASS32); only 64-bit executables are supported")
    if ei_class != 2:
        raise ElfError(f"bad ELF class {ei_class} (expected 2, ELFCLASS64)")
    if ei_data == 2:
        raise ElfError("big-endian ELF (ELFDATA2MSB); only little-endian is supported")
    if ei_data != 1:
        raise ElfError(f"bad ELF data encoding {ei_data} (expected 1, little-endian)")
    if ei_version != 1:
        raise ElfError(f"bad ELF identification version {ei_version} (expected 1)")
    if len(data) < EHDR_SIZE:
        raise ElfError(f"truncated ELF file: {len(data)} bytes, the header needs {EHDR_SIZE}")


def parse_elf(data: bytes, machine: int | None = None, what: str = "program") -> ElfImage:
    """Validate ``data`` as a static ELF64 LE executable (for ``machine`` if given).

    Raises :class:`ElfError` for anything a kernel would refuse or we cannot run.
    """
    data = bytes(data)
    _check_ident(data)
    (
        _,
        e_type,
        e_machine,
        e_version,
        e_entry,
        e_phoff,
        _shoff,
        _flags,
        e_ehsize,
        e_phentsize,
        e_phnum,
        _shentsize,
        _shnum,
        _shstrndx,
    ) = _EHDR.unpack_from(data, 0)
    if e_type == 1:
        raise ElfError(f"{what} is a relocatable object file (ET_REL), not an executable")
    if e_type == 4:
        raise ElfError(f"{what} is a core dump (ET_CORE), not an executable")
    if e_type not in (ET_EXEC, ET_DYN):
        raise ElfError(f"bad ELF type {e_type} (expected ET_EXEC or ET_DYN)")
    if machine is not None and e_machine != machine:
        raise ElfError(f"{what} is for {machine_name(e_machine)}, not {machine_name(machine)}")
    if e_version != 1:
        raise ElfError(f"bad ELF version {e_version} (expected 1)")
    if e_ehsize < EHDR_SIZE:
        raise ElfError(f"bad ELF header size {e_ehsize} (expected {EHDR_SIZE})")
    if e_phnum == 0:
        raise ElfError("no program headers: nothing to load")
    if e_phnum > _MAX_PHNUM:
        raise ElfError(f"too many program headers ({e_phnum})")
    if e_phentsize != PHDR_SIZE:
        raise ElfError(f"bad program header size {e_phentsize} (expected {PHDR_SIZE})")
    if e_phoff > len(data) or e_phoff + e_phnum * PHDR_SIZE > len(data):
        raise ElfError(
            f"truncated ELF file: program headers at {e_phoff:#x}+{e_phnum * PHDR_SIZE:#x} "
            f"past the end ({len(data):#x} bytes)"
        )

    segments: list[Segment] = []
    phdr_vaddr = None
    phdr_from_load = None
    stack_flags = PF_R | PF_W
    has_tls = False
    for i in range(e_phnum):
        p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_align = _PHDR.unpack_from(
            data, e_phoff + i * PHDR_SIZE
        )
        if p_type == PT_INTERP:
            raise ElfError(
                f"{what} is dynamically linked (it asks for an interpreter, PT_INTERP); "
                "build with -static"
            )
        if p_type == PT_GNU_STACK:
            stack_flags = p_flags
        elif p_type == PT_TLS:
            has_tls = True
        elif p_type == PT_PHDR:
            phdr_vaddr = p_vaddr
        if p_type != PT_LOAD:
            continue
        where = f"segment {i} (vaddr {p_vaddr:#x})"
        if p_filesz > p_memsz:
            raise ElfError(f"{where}: file size {p_filesz:#x} exceeds memory size {p_memsz:#x}")
        if p_offset + p_filesz > len(data):
            raise ElfError(
                f"truncated ELF file: {where} needs bytes {p_offset:#x}..{p_offset + p_filesz:#x}"
                f" of a {len(data):#x}-byte file"
            )
        if p_vaddr + p_memsz > USER_TOP:
            raise ElfError(f"{where}: out of range (ends at {p_vaddr + p_memsz:#x})")
        if p_align > 1:
            if p_align & (p_align - 1):
                raise ElfError(f"{where}: alignment {p_align:#x} is not a power of two")
            if (p_vaddr - p_offset) % min(p_align, 0x1000):
                raise ElfError(f"{where}: address and file offset disagree modulo the page size")
        if p_memsz == 0:
            continue
        seg = Segment(p_vaddr, p_memsz, p_offset, p_filesz, p_flags, p_align)
        for other in segments:
            if seg.vaddr < other.end and other.vaddr < seg.end:
                raise ElfError(f"{where}: overlaps another segment")
        segments.append(seg)
        if phdr_from_load is None and p_offset <= e_phoff < p_offset + p_filesz:
            phdr_from_load = e_phoff - p_offset + p_vaddr
    if not segments:
        raise ElfError("no loadable segments (PT_LOAD)")
    low = min(s.vaddr for s in segments)
    high = max(s.end for s in segments)
    if e_type == ET_EXEC and low < 0x1000:
        raise ElfError(f"segment at {low:#x} would map the NULL page")
    if high - low > (1 << 40):
        raise ElfError(f"segments span {high - low:#x} bytes: out of range")
    if not any(s.vaddr <= e_entry < s.end and s.flags & PF_X for s in segments):
        raise ElfError(f"entry point {e_entry:#x} is not inside an executable segment")
    if phdr_vaddr is None:
        phdr_vaddr = phdr_from_load or 0
    return ElfImage(
        data=data,
        type=e_type,
        machine=e_machine,
        entry=e_entry,
        phoff=e_phoff,
        phentsize=e_phentsize,
        phnum=e_phnum,
        segments=tuple(sorted(segments, key=lambda s: s.vaddr)),
        phdr_vaddr=phdr_vaddr,
        stack_flags=stack_flags,
        has_tls=has_tls,
    )


def read_elf(path: str | Path, machine: int | None = None) -> ElfImage:
    """Read and parse an executable; an unreadable file is an :class:`ElfError` too."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ElfError(f"{path}: is a directory") from None
    except OSError as exc:
        raise ElfError(f"{path}: {exc.strerror or exc}") from None
    try:
        return parse_elf(data, machine, what=str(path))
    except ElfError as exc:
        msg = str(exc)
        raise ElfError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
