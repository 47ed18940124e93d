"""Disassembly through capstone, for traces, debuggers and ``vmctl disasm``.

An ISA names its capstone architecture and mode in ``Isa.capstone``; the kernel needs no
ISA knowledge beyond that. Bytes capstone cannot decode print as ``.byte``/``.2byte``/
``.4byte`` data, as objdump does, so a listing never stops at the first odd word.
"""

from __future__ import annotations

import functools
import io
import os
import struct
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from vmcore.components import ConfigError

if TYPE_CHECKING:
    import capstone

    from vmcore.isa import Isa
    from vmcore.plugins import Registry

__all__ = ["disassemble", "disassemble_elf", "disassemble_one", "isa_for_elf_machine"]

_DATA_DIRECTIVE = {1: ".byte", 2: ".2byte", 4: ".4byte", 8: ".8byte"}


@functools.cache
def _cs(arch: int, mode: int, skipdata: bool = False) -> capstone.Cs:
    import capstone

    cs = capstone.Cs(arch, mode)
    cs.skipdata = skipdata
    return cs


def _data(bits: int, length: int) -> str:
    return f"{_DATA_DIRECTIVE.get(length, '.byte')} {bits:#0{2 + 2 * length}x}"


def disassemble_one(isa: Isa, bits: int, length: int, pc: int) -> str:
    """One instruction (``length`` little-endian bytes of ``bits`` at ``pc``) as text."""
    if isa.capstone is None:
        return _data(bits, length)
    code = bits.to_bytes(length, "little")
    for insn in _cs(*isa.capstone).disasm(code, pc, 1):
        return f"{insn.mnemonic} {insn.op_str}".rstrip()
    return _data(bits, length)


def disassemble(isa: Isa, code: bytes, addr: int) -> Iterator[tuple[int, bytes, str]]:
    """``(address, bytes, text)`` for every instruction in ``code``; bytes capstone cannot
    decode come out as ``.byte`` data (capstone's skipdata) and the listing goes on."""
    if isa.capstone is None:
        raise ConfigError(f"isa {isa.name!r} declares no capstone architecture to disassemble")
    for insn in _cs(*isa.capstone, skipdata=True).disasm(code, addr):
        yield insn.address, bytes(insn.bytes), f"{insn.mnemonic} {insn.op_str}".rstrip()


def isa_for_elf_machine(registry: Registry, machine: int) -> Isa:
    """The first registered ISA whose ELF machine (``Isa.elf_machine`` or
    ``Isa.linux.elf_machine``) is ``machine``; :class:`ConfigError` listing the ISAs there
    are otherwise."""
    for comp in registry.all("isa"):
        isa = comp.load()()
        if machine in (isa.elf_machine, isa.linux.elf_machine if isa.linux else 0):
            return isa
    raise ConfigError(
        f"no installed ISA handles ELF machine {machine}; installed ISAs: "
        f"{', '.join(registry.names('isa')) or '(none)'}"
    )


def disassemble_elf(
    path: str | os.PathLike[str], out: IO[str], registry: Registry | None = None
) -> None:
    """Write a listing of every executable section of the ELF file ``path`` to ``out``.

    A damaged file is a :class:`ConfigError` (pyelftools' many exceptions are caught while
    reading, never while writing ``out``, so a closed pipe is not mistaken for bad input).
    """
    from elftools.common.exceptions import ELFError

    from vmcore.plugins import get_registry

    malformed = (ELFError, OverflowError, ValueError, EOFError, OSError, struct.error)
    registry = registry or get_registry()
    try:
        with open(path, "rb") as f:
            data = io.BytesIO(f.read())  # in memory: bad offsets cannot reach the file system
    except OSError as exc:
        raise ConfigError(f"disasm: cannot open {path}: {exc.strerror}") from None
    lines = _listing(os.fspath(path), data, registry)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except malformed as exc:
            raise ConfigError(f"disasm: {path} is not a valid ELF file: {exc}") from None
        print(line, file=out)


def _listing(name: str, data: IO[bytes], registry: Registry) -> Iterator[str]:
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(data)
    isa = isa_for_elf_machine(registry, _e_machine(elf))
    symbols = _symbols(elf)
    yield f"{name}: {isa.name}"
    for section in elf.iter_sections():
        if section["sh_type"] == "SHT_NOBITS" or not section["sh_flags"] & SH_FLAGS.SHF_EXECINSTR:
            continue
        yield f"\nsection {section.name}:"
        for addr, raw, text in disassemble(isa, section.data(), section["sh_addr"]):
            if addr in symbols:
                yield f"\n{addr:016x} <{symbols[addr]}>:"
            yield f"  {addr:8x}:  {raw.hex():<16}  {text}"


def _e_machine(elf: object) -> int:
    from elftools.elf.enums import ENUM_E_MACHINE

    value = elf["e_machine"]  # type: ignore[index]
    return value if isinstance(value, int) else ENUM_E_MACHINE[value]


def _symbols(elf: object) -> dict[int, str]:
    """Function and label symbols by address (first name wins; ``$x``-style mapping
    symbols skipped)."""
    from elftools.elf.sections import SymbolTableSection

    table = elf.get_section_by_name(".symtab")  # type: ignore[attr-defined]
    if not isinstance(table, SymbolTableSection):
        return {}
    out: dict[int, str] = {}
    for sym in table.iter_symbols():
        kind = sym["st_info"]["type"]
        if not sym.name or sym.name.startswith("$") or sym["st_shndx"] == "SHN_UNDEF":
            continue
        if kind in ("STT_FUNC", "STT_NOTYPE"):
            out.setdefault(sym["st_value"], sym.name)
    return out
