"""Shared by the bare-metal tests: build guests/riscv64/baremetal programs, run them on the
spike board."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest

from vmcore.build import build_machine
from vmcore.config import MachineConfig
from vmcore.plugins import get_registry
from vmcore.testing.guests import GUESTS, build

BAREMETAL = GUESTS / "riscv64" / "baremetal"
CRT = BAREMETAL / "crt.S"
LINK = BAREMETAL / "link.ld"
CC = "riscv64-unknown-elf-gcc"
#: every guest is built for this; ext_c.S switches compressed code on with .option rvc
MARCH = "rv64g_zba_zbb_zbs"
#: more than any of the guests needs (the HTIF poll adds up to 5000 after the exit write)
LIMIT = 3_000_000

needs_cc = pytest.mark.skipif(shutil.which(CC) is None, reason=f"{CC} not installed")


def engines() -> list[str]:
    """Every installed engine: guest tests run on each."""
    return [c.name for c in get_registry().all("engine")]


def _deps_hash() -> str:
    """The build cache keys on sources and flags; the header and linker script go in a flag."""
    h = hashlib.sha256()
    for path in (BAREMETAL / "test.h", LINK):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def build_guest(name: str, march: str = MARCH) -> Path:
    """Compile ``guests/riscv64/baremetal/<name>`` with the crt into ``guests/build``."""
    flags = (
        f"-march={march}",
        "-mabi=lp64d",
        "-mcmodel=medany",
        "-static",
        "-nostdlib",
        "-nostartfiles",
        f"-T{LINK}",
        f"-I{BAREMETAL}",
        f"-DVMCORE_DEPS_{_deps_hash()}",
    )
    return build(BAREMETAL / name, arch="riscv64", flavour="elf", flags=flags, extra_sources=[CRT])


def run_elf(elf: Path, engine: str = "interp", limit: int = LIMIT, **config):
    """Run ``elf`` on the spike board; returns (machine, stop reason, console bytes)."""
    machine = build_machine(
        MachineConfig(isa="riscv64", board="spike", engine=engine, kernel=str(elf), **config)
    )
    out = io.BytesIO()
    if machine.board.htif is not None:
        machine.board.htif.output = out
    reason = machine.run(limit=limit)
    return machine, reason, out.getvalue()
