"""The ELF loader: real static binaries, and every kind of broken file -> ElfError."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linux_toy import EM_TOY, ToyLinux, asm, make_elf

from vmcore.components import ConfigError
from vmcore.engines.interp import InterpEngine
from vmcore.linux_user import build_process
from vmcore.linux_user.elf import ET_DYN, ET_EXEC, PF_X, ElfError, parse_elf, read_elf
from vmcore.testing.guests import build, build_linux

EM_RISCV, EM_AARCH64 = 243, 183


@pytest.fixture(scope="module")
def hello() -> bytes:
    return build_linux("hello").read_bytes()


def test_real_static_riscv_binary(hello):
    im = parse_elf(hello, EM_RISCV)
    assert im.type == ET_EXEC and im.machine == EM_RISCV
    assert any(s.vaddr <= im.entry < s.end and s.flags & PF_X for s in im.segments)
    assert im.phnum > 0 and im.phentsize == 56
    # glibc's static startup finds its TLS template through AT_PHDR: it must be mapped
    assert im.has_tls and im.phdr_vaddr
    assert any(s.vaddr <= im.phdr_vaddr < s.vaddr + s.filesz for s in im.segments)
    assert im.high > im.low >= 0x10000


def test_static_pie_header():
    # Debian's riscv64 glibc has no rcrt1.o (no -static-pie): a hand-made ET_DYN
    im = parse_elf(make_elf(asm(("ecall",)), base=0, etype=ET_DYN), EM_TOY)
    assert im.type == ET_DYN and im.is_pie and im.low == 0


def test_dynamic_executable_is_refused_with_the_fix():
    dyn = build_linux("hello", flags=("-O2",))
    with pytest.raises(ElfError, match=r"dynamically linked.*build with -static"):
        read_elf(dyn, EM_RISCV)


def test_wrong_machine_names_both(tmp_path):
    path = build("riscv64/linux/hello.c", arch="aarch64", flavour="linux")
    with pytest.raises(ElfError, match=r"AArch64 \(e_machine 183\), not RISC-V"):
        read_elf(path, EM_RISCV)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"", "bad magic"),
        (lambda d: b"#!/bin/sh\necho hi\n", "script"),
        (lambda d: b"MZ" + d[2:], "bad magic"),
        (lambda d: d[:10], "truncated"),
        (lambda d: d[:40], "truncated"),
        (lambda d: d[:4] + b"\x01" + d[5:], "32-bit"),
        (lambda d: d[:4] + b"\x07" + d[5:], "bad ELF class 7"),
        (lambda d: d[:5] + b"\x02" + d[6:], "big-endian"),
        (lambda d: d[:16] + struct.pack("<H", 1) + d[18:], "relocatable"),
        (lambda d: d[:16] + struct.pack("<H", 4) + d[18:], "core dump"),
        (lambda d: d[:16] + struct.pack("<H", 9) + d[18:], "bad ELF type 9"),
        (lambda d: d[:18] + struct.pack("<H", 62) + d[20:], r"x86-64 \(e_machine 62\)"),
        (lambda d: d[:54] + struct.pack("<H", 32) + d[56:], "program header size"),
        (lambda d: d[:56] + struct.pack("<H", 0) + d[58:], "no program headers"),
        (lambda d: d[:32] + struct.pack("<Q", 1 << 40) + d[40:], "program headers"),
        (lambda d: d[:24] + struct.pack("<Q", 0x5) + d[32:], "entry point"),
    ],
)
def test_malformed_headers(hello, mutate, message):
    with pytest.raises(ElfError, match=message):
        parse_elf(mutate(hello), EM_RISCV)


def _phdr(data: bytes, i: int) -> int:
    return struct.unpack_from("<Q", data, 32)[0] + 56 * i


def _first_load(data: bytes) -> int:
    for i in range(struct.unpack_from("<H", data, 56)[0]):
        if struct.unpack_from("<I", data, _phdr(data, i))[0] == 1:
            return _phdr(data, i)
    raise AssertionError


def _set(data: bytes, off: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def test_segment_past_end_of_file(hello):
    ph = _first_load(hello)
    bad = _set(hello, ph + 32, "<Q", len(hello) + 1)  # p_filesz
    bad = _set(bad, ph + 40, "<Q", len(hello) + 1)  # p_memsz
    with pytest.raises(ElfError, match="truncated ELF file: segment"):
        parse_elf(bad, EM_RISCV)


def test_segment_out_of_range(hello):
    ph = _first_load(hello)
    bad = _set(hello, ph + 40, "<Q", 1 << 62)
    with pytest.raises(ElfError, match="out of range"):
        parse_elf(bad, EM_RISCV)


def test_filesz_above_memsz(hello):
    ph = _first_load(hello)
    bad = _set(hello, ph + 40, "<Q", 16)
    with pytest.raises(ElfError, match="exceeds memory size"):
        parse_elf(bad, EM_RISCV)


def test_segment_above_user_memory_is_refused_at_load(toy):
    image = make_elf(asm(("ecall",)), base=0x2_0000_0000)
    with pytest.raises(ElfError, match="out of range"):
        toy.process(image=image)


def test_elf_error_is_a_config_error_so_vmctl_exits_2():
    assert issubclass(ElfError, ConfigError)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ElfError, match="No such file"):
        build_process([str(tmp_path / "nope")], isa=ToyLinux(), engine=InterpEngine)
    with pytest.raises(ElfError, match="is a directory"):
        build_process([str(tmp_path)], isa=ToyLinux(), engine=InterpEngine)


def test_program_for_another_isa(tmp_path, hello):
    (tmp_path / "rv").write_bytes(hello)
    with pytest.raises(ElfError, match=r"RISC-V \(e_machine 243\), not toylinux"):
        build_process([str(tmp_path / "rv")], isa=ToyLinux(), engine=InterpEngine)


def test_no_installed_isa_for_the_machine(tmp_path):
    (tmp_path / "p").write_bytes(make_elf(asm(("ecall",)), machine=0x4242))
    with pytest.raises(ElfError, match=r"e_machine 16962; no installed ISA plugin runs it"):
        build_process([str(tmp_path / "p")], engine=InterpEngine)


# -- fuzzing: whatever the damage, ElfError or a successful load, never anything else -------


def _check_load(data: bytes) -> None:
    try:
        parse_elf(data, EM_RISCV)
    except ElfError as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=4096), data=st.data())
def test_fuzz_truncation(hello, cut, data):
    n = data.draw(st.sampled_from([cut, len(hello) - cut, len(hello) // 2 + cut]))
    _check_load(hello[: max(0, n)])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(
        st.tuples(st.integers(0, 64 + 56 * 12 - 1), st.integers(0, 7)), min_size=1, max_size=6
    )
)
def test_fuzz_bit_flips_in_headers(hello, flips):
    b = bytearray(hello)
    for off, bit in flips:
        b[off] ^= 1 << bit
    _check_load(bytes(b))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 7)), min_size=1, max_size=4),
    cut=st.integers(0, 600),
)
def test_fuzz_whole_load_path(tmp_path_factory, flips, cut):
    """Flips and truncations of a toy program through build_process (parsing, mapping,
    stack): ElfError or a ready machine, never a host exception."""
    image = bytearray(make_elf(asm(("li", 0, 0, 1), ("ecall",)), b"data", bss=100))
    for off, bit in flips:
        if off < len(image):
            image[off] ^= 1 << bit
    if cut:
        image = image[: max(0, len(image) - cut)]
    path = tmp_path_factory.mktemp("fz") / "p"
    path.write_bytes(bytes(image))
    try:
        m = build_process([str(path)], isa=ToyLinux(), engine=InterpEngine, env={})
    except ElfError as exc:
        assert str(exc)
    else:
        m.process.close()


def test_toy_machine_constant_is_distinct():
    assert EM_TOY not in (EM_RISCV, EM_AARCH64)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(
        st.tuples(st.integers(0, 64 + 56 * 10 - 1), st.integers(0, 7)), min_size=1, max_size=3
    )
)
def test_fuzz_real_binary_through_build_process(hello, tmp_path_factory, flips):
    """A damaged real executable, with the ISA picked from the installed plugins."""
    b = bytearray(hello)
    for off, bit in flips:
        b[off] ^= 1 << bit
    path = tmp_path_factory.mktemp("fz") / "hello"
    path.write_bytes(bytes(b))
    try:
        m = build_process([str(path)], env={})
    except ElfError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        m.process.close()
