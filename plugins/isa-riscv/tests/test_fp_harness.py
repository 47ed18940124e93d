"""Harness for the F/D tests: encode instructions, run them on vmcore and on Unicorn.

The encoder is built from the extension tables themselves, so it is checked here against
GNU as; the other ``test_fp_*`` modules import :func:`enc`, :func:`run` and the constants.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from types import SimpleNamespace

import attrs
import pytest

from vmcore import FlatMmu, Machine
from vmcore.plugins import get_registry
from vmcore_isa_riscv import csr, decoder
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.ext import rv64d, rv64f
from vmcore_isa_riscv.isa import RiscV64

BASE = 0x80000000
HANDLER = BASE + 0x1000
DATA = BASE + 0x2000
JSELF = 0x0000006F
BOX = 0xFFFFFFFF00000000
QNAN_S = 0x7FC00000
QNAN_D = 0x7FF8000000000000
ILLEGAL = 2

ENCODINGS = {e.name: e for e in decoder.encodings(32, [rv64f, rv64d])}
ENGINES = [c.name for c in get_registry().all("engine")]
#: engine options (read from ``machine.config.engine_options``) that make every engine run
#: the code under test itself: the jit compiles each block before its first run
ENGINE_OPTIONS = {"jit": {"threshold": 0}}
#: the engine :func:`setup` uses when none is named (test modules switch it per test)
DEFAULT = {"engine": "interp"}


def enc(name: str, **fields: int) -> int:
    """The instruction word of ``name`` with the given fields (missing ones are 0)."""
    e = ENCODINGS[name]
    word = e.match
    for fname, lsb, nbits in e.fields:
        value = fields.pop(fname, 0)
        assert 0 <= value < (1 << nbits), (name, fname, value)
        word |= value << lsb
    assert not fields, f"{name} has no fields {sorted(fields)}"
    return word


def boxed(bits32: int) -> int:
    return BOX | bits32


@attrs.define
class Outcome:
    x: list[int]
    f: list[int]
    fflags: int
    mstatus: int
    trap: tuple[int, int, int] | None  #: (mcause, mtval, mepc)
    memory: bytes

    def fs(self) -> int:
        return (self.mstatus & csr.MSTATUS_FS) >> 13


def setup(
    words: list[int],
    f: dict[int, int] | None = None,
    x: dict[int, int] | None = None,
    fflags: int = 0,
    frm: int = 0,
    fs: int = csr.FS_INITIAL,
    memory: bytes = b"",
    engine: str | None = None,
) -> tuple[Machine, list[int]]:
    """A machine about to run ``words`` from BASE in M mode with FS set to ``fs``, followed
    by a jump-to-self; ``memory`` is placed at DATA. A trap stops the run and its pc is
    appended to the returned list."""
    engine = engine or DEFAULT["engine"]
    m = Machine(RiscV64(), get_registry().get("engine", engine).load(), FlatMmu)
    m.config = SimpleNamespace(engine_options=ENGINE_OPTIONS.get(engine))
    m.bus.add_ram(BASE, 1 << 16)
    code = b"".join(struct.pack("<I", w) for w in [*words, JSELF])
    m.bus.write_bytes(BASE, code)
    m.bus.write_bytes(HANDLER, struct.pack("<I", JSELF))
    m.bus.write_bytes(DATA, memory)
    m.reset(BASE)
    cpu = m.cpus[0]
    traps: list[int] = []

    def on_trap(cpu_, trap, pc):
        traps.append(pc)
        m.request_stop()

    m.trap_hooks.append(on_trap)
    cpu.arch.csrs.values[0x305] = HANDLER
    cpu.s[R.MSTATUS] |= fs
    cpu.s[R.FFLAGS] = fflags
    cpu.s[R.FRM] = frm
    for i, v in (f or {}).items():
        cpu.s[R.F0 + i] = v
    for i, v in (x or {}).items():
        cpu.s[i] = v
    return m, traps


def outcome(m: Machine, traps: list[int], memory_size: int = 0) -> Outcome:
    cpu = m.cpus[0]
    values = cpu.arch.csrs.values
    return Outcome(
        x=list(cpu.s[:32]),
        f=list(cpu.s[R.F0 : R.F0 + 32]),
        fflags=cpu.s[R.FFLAGS],
        mstatus=cpu.s[R.MSTATUS],
        trap=(values[0x342], values[0x343], values[0x341]) if traps else None,
        memory=bytes(m.bus.read_bytes(DATA, memory_size)) if memory_size else b"",
    )


def run(words: list[int], **state) -> Outcome:
    """Run ``words`` (see :func:`setup` for ``state``) to the end or the first trap."""
    m, traps = setup(words, **state)
    m.run(limit=len(words) + 1)
    if not traps:
        assert m.cpus[0].pc == BASE + 4 * len(words), hex(m.cpus[0].pc)
    return outcome(m, traps, len(state.get("memory", b"")))


# -- checks of the harness itself --------------------------------------------------------------

ASM_SAMPLES = {
    "flw": ("flw f3, -4(x5)", dict(rd=3, rs1=5, imm=0xFFC)),
    "fsd": ("fsd f31, 2047(x2)", dict(rs1=2, rs2=31, imm7=0x3F, imm5=0x1F)),
    "fmadd.s": ("fmadd.s f1, f2, f3, f4, rtz", dict(rd=1, rs1=2, rs2=3, rs3=4, rm=1)),
    "fnmadd.d": ("fnmadd.d f1, f2, f3, f4, rmm", dict(rd=1, rs1=2, rs2=3, rs3=4, rm=4)),
    "fsqrt.d": ("fsqrt.d f9, f10, dyn", dict(rd=9, rs1=10, rm=7)),
    "fcvt.lu.s": ("fcvt.lu.s a0, f1, rup", dict(rd=10, rs1=1, rm=3)),
    "fcvt.s.d": ("fcvt.s.d f1, f2, rdn", dict(rd=1, rs1=2, rm=2)),
    "fcvt.d.s": ("fcvt.d.s f1, f2", dict(rd=1, rs1=2, rm=0)),
    "fcvt.d.wu": ("fcvt.d.wu f1, a5", dict(rd=1, rs1=15, rm=0)),
    "fclass.d": ("fclass.d a1, f7", dict(rd=11, rs1=7)),
    "fmv.w.x": ("fmv.w.x f4, t0", dict(rd=4, rs1=5)),
    "fmax.s": ("fmax.s f4, f5, f6", dict(rd=4, rs1=5, rs2=6)),
    "fsgnjx.d": ("fsgnjx.d f4, f5, f6", dict(rd=4, rs1=5, rs2=6)),
    "fle.d": ("fle.d a0, f5, f6", dict(rd=10, rs1=5, rs2=6)),
}


@pytest.mark.skipif(not shutil.which("riscv64-unknown-elf-as"), reason="needs binutils")
def test_encoder_matches_gnu_as(tmp_path):
    lines = [".option norvc"] + [asm for asm, _ in ASM_SAMPLES.values()]
    (tmp_path / "a.s").write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["riscv64-unknown-elf-as", "-march=rv64gc", "-o", tmp_path / "a.o", tmp_path / "a.s"],
        check=True,
    )
    subprocess.run(
        [
            "riscv64-unknown-elf-objcopy",
            "-O",
            "binary",
            "-j",
            ".text",
            tmp_path / "a.o",
            tmp_path / "a.bin",
        ],
        check=True,
    )
    got = struct.unpack(f"<{len(ASM_SAMPLES)}I", (tmp_path / "a.bin").read_bytes())
    want = tuple(enc(name, **fields) for name, (_, fields) in ASM_SAMPLES.items())
    assert [hex(w) for w in got] == [hex(w) for w in want]


def test_every_f_and_d_instruction_is_decoded():
    isa = RiscV64()
    assert len(ENCODINGS) == 30 + 32
    for name, e in ENCODINGS.items():
        found = isa.decoder32.decode(e.match)
        assert found is not None and found.name == name


def test_harness_reports_traps():
    out = run([0])
    assert out.trap == (ILLEGAL, 0, BASE)
