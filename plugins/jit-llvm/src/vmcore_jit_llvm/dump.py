"""``--jit-dump DIR`` / ``VMCORE_JIT_DUMP=DIR``: what each compiled unit looks like.

For unit N it writes ``unitN.ir.txt`` (the vmcore IR of its blocks), ``unitN.ll`` (LLVM IR as
generated), ``unitN.opt.ll`` (after the pass pipeline) and ``unitN.s`` (host disassembly by
capstone of the code MCJIT actually runs, function by function; sizes from the object file's
symbol table).
"""

from __future__ import annotations

import ctypes
import io
from pathlib import Path
from typing import Any

import llvmlite.binding as llvm

from vmcore.ir import format_block


def _capstone_for_host() -> Any:
    import capstone

    triple = llvm.get_process_triple()
    arch = triple.split("-")[0]
    if arch in ("x86_64", "amd64"):
        return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    if arch in ("aarch64", "arm64"):
        return capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    if arch.startswith("riscv64"):
        return capstone.Cs(
            capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC
        )
    raise ValueError(f"no capstone mode for host {triple}")


def _function_sizes(obj: bytes) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile

    sizes = {}
    elf = ELFFile(io.BytesIO(obj))
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return sizes
    for sym in symtab.iter_symbols():
        if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"]:
            sizes[sym.name] = sym["st_size"]
    return sizes


def dump_unit(
    directory: Path,
    unit: int,
    text: str,
    mod: Any,
    jit: Any,
    names: list[tuple[str, list[Any], bool]],
) -> None:
    stem = directory / f"unit{unit}"
    stem.with_suffix(".ir.txt").write_text(
        "\n\n".join(
            f"; {fname}\n" + "\n".join(format_block(blk) for blk in blocks)
            for fname, blocks, _ in names
        )
        + "\n"
    )
    stem.with_suffix(".ll").write_text(text)
    stem.with_suffix(".opt.ll").write_text(str(mod))
    out = [f"; host {llvm.get_process_triple()} cpu {llvm.get_host_cpu_name()}"]
    try:
        sizes = _function_sizes(jit.tm.emit_object(mod))
        cs = _capstone_for_host()
    except Exception as exc:  # noqa: BLE001 - the dump is best effort; say why it is missing
        out.append(f"; no disassembly: {type(exc).__name__}: {exc}")
        sizes, cs = {}, None
    for fname, blocks, _ in names:
        blk = blocks[0]
        addr = jit.address(fname)
        size = sizes.get(fname, 0)
        out.append(f"\n{fname}: guest pc {blk.pc:#x} mode {blk.mode} at {addr:#x} ({size} bytes)")
        if cs is None or not size:
            continue
        code = ctypes.string_at(addr, size)
        for ins in cs.disasm(code, addr):
            out.append(f"  {ins.address:#x}: {ins.mnemonic} {ins.op_str}")
    stem.with_suffix(".s").write_text("\n".join(out) + "\n")
