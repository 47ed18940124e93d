"""Builds the RV64GC decoders from the extension tables (nothing hand-written here)."""

from __future__ import annotations

from functools import cache
from types import ModuleType

from vmcore import Decoder, Encoding, parse_table
from vmcore_isa_riscv.ext import (
    rv64a,
    rv64c,
    rv64d,
    rv64f,
    rv64i,
    rv64m,
    system,
    zba,
    zbb,
    zbs,
    zicsr,
    zifencei,
)

#: every extension module, in the order their tables are listed
EXTENSIONS: list[ModuleType] = [
    rv64i,
    rv64m,
    rv64a,
    zicsr,
    zifencei,
    system,
    rv64f,
    rv64d,
    rv64c,
    zba,
    zbb,
    zbs,
]


def lifter_name(insn: str) -> str:
    return "lift_" + insn.replace(".", "_")


def encodings(width: int, extensions: list[ModuleType] | None = None) -> list[Encoding]:
    out: list[Encoding] = []
    for mod in extensions or EXTENSIONS:
        if mod.WIDTH != width:
            continue
        names = {
            line.split()[0] for line in mod.ENCODINGS.splitlines() if line.split("#", 1)[0].strip()
        }
        payloads = {n: getattr(mod, lifter_name(n)) for n in names if hasattr(mod, lifter_name(n))}
        out += parse_table(mod.ENCODINGS, width, payloads, source=mod.__name__)
    return out


#: 16-bit bits -> (32-bit encoding, its fields, the 32-bit word) they expand to, filled
#: by rv64c's lifters: a known expansion skips the compressed lifter. A pure function of
#: the bits, so shared like the decoders.
EXPANSIONS: dict[int, tuple] = {}


@cache
def build() -> tuple[Decoder, Decoder | None]:
    """The 32-bit and 16-bit decoders, built once per process: immutable tables plus
    memos of the words decoded (a function of the bits alone), so every hart and machine
    shares them. Building them and refilling the memos cost each new machine about 10 ms
    (a lists run at size 1: 152 -> 141 ms from the second machine of a process on)."""
    d32 = Decoder(encodings(32))
    e16 = encodings(16)
    return d32, (Decoder(e16) if e16 else None)
