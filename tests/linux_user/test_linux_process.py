"""Process setup and life: the initial stack, memory layout, exit, fatal signals."""

from __future__ import annotations

import io
import os
import struct

import attrs
import pytest
from linux_toy import ToyLinux, asm, load_const, make_elf, program, syscall

from vmcore.engines.interp import InterpEngine
from vmcore.linux_user import build_process, run_program
from vmcore.linux_user.mm import PROT_EXEC, PROT_READ, PROT_WRITE
from vmcore.linux_user.process import PIE_BASE, RAM_BASE, STACK_SIZE

AT = {
    "PHDR": 3,
    "PHENT": 4,
    "PHNUM": 5,
    "PAGESZ": 6,
    "BASE": 7,
    "FLAGS": 8,
    "ENTRY": 9,
    "UID": 11,
    "EUID": 12,
    "GID": 13,
    "EGID": 14,
    "PLATFORM": 15,
    "HWCAP": 16,
    "CLKTCK": 17,
    "SECURE": 23,
    "RANDOM": 25,
    "EXECFN": 31,
}


def read_stack(p):
    bus = p.machine.bus
    sp = p.cpu.s[p.abi.sp]
    u64 = lambda a: struct.unpack("<Q", bus.read_bytes(a, 8))[0]  # noqa: E731
    argc = u64(sp)
    argv = [u64(sp + 8 * (1 + i)) for i in range(argc)]
    assert u64(sp + 8 * (1 + argc)) == 0
    a = sp + 8 * (2 + argc)
    envp = []
    while u64(a):
        envp.append(u64(a))
        a += 8
    a += 8
    auxv = []
    while True:
        k, v = u64(a), u64(a + 8)
        auxv.append((k, v))
        a += 16
        if k == 0:
            break
    s = lambda addr: bus.read_cstring(addr).decode()  # noqa: E731
    return sp, [s(x) for x in argv], [s(x) for x in envp], auxv


def test_initial_stack_like_linux(toy):
    p = toy.process(args=["one", "two words"], env={"A": "1", "PATH": "/bin"})
    sp, argv, envp, auxv = read_stack(p)
    assert sp % 16 == 0
    assert argv == [p.argv[0], "one", "two words"]
    assert envp == ["A=1", "PATH=/bin"]
    aux = dict(auxv)
    assert auxv[-1] == (0, 0)
    for name in AT:
        assert AT[name] in aux, name
    assert aux[AT["PAGESZ"]] == 4096 and aux[AT["PHENT"]] == 56 and aux[AT["PHNUM"]] == 3
    assert aux[AT["ENTRY"]] == p.entry == p.cpu.pc
    assert aux[AT["HWCAP"]] == 0x1234 and aux[AT["CLKTCK"]] == 100
    assert aux[AT["BASE"]] == 0 and aux[AT["SECURE"]] == 0
    assert aux[AT["PHDR"]] == RAM_BASE + 64  # headers are in the first segment
    bus = p.machine.bus
    assert bus.read_cstring(aux[AT["PLATFORM"]]) == b"toy64"
    assert bus.read_cstring(aux[AT["EXECFN"]]).decode() == p.exe
    assert bus.read_bytes(aux[AT["RANDOM"]], 16) == p.random_bytes
    # program headers readable at AT_PHDR, as glibc's static startup reads them
    assert struct.unpack("<I", bus.read_bytes(aux[AT["PHDR"]], 4))[0] == 1
    # strings live above the tables, inside the stack mapping
    assert all(p.mm.prot_at(a) == PROT_READ | PROT_WRITE for _, a in auxv if a > sp)


def test_auxv_order_matches_linux(toy):
    _, _, _, auxv = read_stack(toy.process())
    keys = [k for k, _ in auxv]
    assert keys == [16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 31, 15, 0]


def test_memory_layout(toy):
    p = toy.process(image=make_elf(asm(("ecall",)), b"x", bss=5000))
    mm = p.mm
    assert mm.prot_at(0) == -1 and mm.prot_at(0xFFFF) == -1  # NULL area
    assert mm.prot_at(RAM_BASE) == PROT_READ | PROT_EXEC
    data = p.image.segments[1]
    assert mm.prot_at(data.vaddr) == PROT_READ | PROT_WRITE
    assert mm.brk_start == mm.brk == (data.vaddr + data.memsz + 0xFFF) & ~0xFFF
    assert mm.prot_at(p.stack_top - 8) == PROT_READ | PROT_WRITE
    assert mm.prot_at(p.stack_top - STACK_SIZE) == PROT_READ | PROT_WRITE
    assert mm.prot_at(p.stack_top - STACK_SIZE - 1) == -1


def test_bss_zeroed_even_when_the_file_continues(toy):
    image = make_elf(asm(("ecall",)), b"DATA", bss=64) + b"\xff" * 200
    p = toy.process(image=image)
    seg = p.image.segments[1]
    mem = p.machine.bus.read_bytes(seg.vaddr, 68)
    assert mem == b"DATA" + bytes(64)


def test_static_pie_is_relocated(toy):
    image = make_elf(asm(*syscall(94, 42)), base=0, etype=3)
    p = toy.process(image=image)
    assert p.load_bias >= PIE_BASE and p.load_bias % 4096 == 0
    assert p.entry == p.image.entry + p.load_bias
    status, _, _ = toy.run(image)
    assert status == 42


def test_executable_stack_only_when_asked(toy):
    p = toy.process(image=make_elf(asm(("ecall",)), exec_stack=True))
    assert p.mm.prot_at(p.stack_top - 8) & PROT_EXEC
    p = toy.process()
    assert not p.mm.prot_at(p.stack_top - 8) & PROT_EXEC


def test_hello_and_exit_status(toy):
    msg = b"hello\n"
    image = program(lambda d: [*syscall(64, 1, d, len(msg)), *syscall(94, 300)], msg)
    status, out, err = toy.run(image)
    assert (status, out, err) == (300 & 0xFF, msg, "")


def test_exit_status_of_exit(toy):
    status, _, _ = toy.run(program(lambda d: syscall(93, 3)))
    assert status == 3


def test_argv_reaches_the_guest(toy):
    # write(1, argv[1], 3): argv[1] pointer is at sp + 16
    code = [
        ("ld", 1, 6, 16),
        *load_const(0, 1),
        *load_const(2, 3),
        *load_const(7, 64),
        ("ecall",),
        *syscall(94, 0),
    ]
    status, out, _ = toy.run(program(lambda d: code), args=["abc"])
    assert (status, out) == (0, b"abc")


@pytest.mark.parametrize(
    "code, sig, status, where",
    [
        # load from NULL
        ([("li", 1, 0, 0), ("ld", 0, 1, 8)], "SIGSEGV", 139, "(addr 0x8)"),
        # store to NULL
        ([("li", 1, 0, 0x10), ("st", 1, 0, 0)], "SIGSEGV", 139, "(addr 0x10)"),
        # jump into unmapped memory (inside the RAM, so only the page table knows)
        ([*load_const(1, 0x7000_0000), ("jr", 0, 1)], "SIGSEGV", 139, "(addr 0x70000000)"),
        # illegal instruction
        ([(".word",)], "SIGILL", 132, "(insn 0xff)"),
    ],
)
def test_fatal_signals(toy, code, sig, status, where):
    got, out, err = toy.run(program(lambda d: code))
    assert got == status
    assert err.startswith(f"vmctl: guest killed by {sig} at pc 0x")
    assert where in err and err.count("\n") == 1 and "Traceback" not in err


def test_jump_to_data_segment_is_not_executable(toy):
    def build(d):
        return [*load_const(1, d), ("jr", 0, 1)]

    status, _, err = toy.run(program(build, asm(*syscall(94, 0))))
    assert status == 139 and "SIGSEGV" in err


def test_jump_after_munmap_faults_even_if_translated(toy):
    # map RWX at a fixed address, copy "exit(5)" there, call it... then unmap and call again
    p = toy.process()
    addr = 0x5000_0000
    from linux_toy import Sys

    sc = Sys(p)
    assert sc(222, addr, 4096, 7, 0x32, -1, 0) == addr  # MAP_FIXED|ANON|PRIVATE
    p.machine.bus.write_bytes(addr, asm(*syscall(94, 5)))
    p.cpu.pc = addr
    p.machine.run(limit=1000)
    assert p.exit_status == 5
    assert sc(215, addr, 4096) == 0
    p.exit_status = None
    p.cpu.pc = addr
    p.machine.run(limit=1000)
    assert p.exit_status == 139 and p.killed_by == 11


def test_strace_of_exit(toy):
    status, _, err = toy.run(program(lambda d: syscall(94, 9)), strace=True)
    assert err.splitlines() == ["exit_group(9) = ?", "+++ exited with 9 +++"]


def test_ctrl_c_in_a_syscall_returns_130_and_cleans_up(toy, monkeypatch):
    from vmcore.linux_user import syscalls

    def interrupted(p, req, rem):
        raise KeyboardInterrupt

    monkeypatch.setitem(syscalls.TABLE, 101, attrs.evolve(syscalls.TABLE[101], fn=interrupted))
    image = program(lambda d: [*syscall(101, d, 0), *syscall(94, 0)], bytes(16))
    status, _, err = toy.run(image)
    assert status == 130 and "interrupted" in err


def test_internal_error_in_a_syscall_gives_eio_not_a_crash(toy, monkeypatch):
    from vmcore.linux_user import syscalls

    def broken(p):
        raise ZeroDivisionError("oops")

    monkeypatch.setitem(syscalls.TABLE, 172, attrs.evolve(syscalls.TABLE[172], fn=broken))
    # exit(getpid()) -> -EIO & 0xff
    image = program(lambda d: [*load_const(7, 172), ("ecall",), *load_const(7, 94), ("ecall",)])
    status, _, err = toy.run(image)
    assert status == (-5) & 0xFF
    assert "internal error in syscall getpid: ZeroDivisionError" in err


def test_runaway_guest_stops_at_the_limit(toy):
    status, _, err = toy.run(program(lambda d: [("li", 1, 0, 1), ("bnez", 0, 1, 0)]))
    assert status == 124 and "without exiting" in err


def test_stats_for_bench(toy):
    path = toy.write(program(lambda d: syscall(94, 0)))
    stats = {}
    assert run_program([path], isa=ToyLinux(), engine=InterpEngine, stats=stats) == 0
    assert stats["engine"] == "interp" and stats["instructions"] == 10
    assert stats["seconds"] >= 0 and stats["syscalls"] == 1 and stats["translations"] >= 1


def test_trace_prints_each_instruction(toy):
    path = toy.write(program(lambda d: syscall(94, 0)))
    err = io.StringIO()
    assert run_program([path], isa=ToyLinux(), engine=InterpEngine, trace=True, stderr=err) == 0
    lines = err.getvalue().splitlines()
    assert len(lines) == 11
    entry = build_process([path], isa=ToyLinux(), engine=InterpEngine, env={}).process.entry
    hart, pc, bits = lines[0].split()[:3]  # then disassembly and registers written
    assert (hart, int(pc, 16), bits) == ("0", entry, "00000001")


def test_build_process_does_not_run(toy):
    path = toy.write(program(lambda d: syscall(94, 0)))
    m = build_process([path], isa=ToyLinux(), engine=InterpEngine, env={})
    assert m.process.exit_status is None and m.cpus[0].instret == 0
    assert m.cpus[0].pc == m.process.entry


def test_default_stdio_follows_redirected_sys_streams(toy, capsys):
    msg = b"captured\n"
    path = toy.write(program(lambda d: [*syscall(64, 1, d, len(msg)), *syscall(94, 0)], msg))
    assert run_program([path], isa=ToyLinux(), engine=InterpEngine, env={}) == 0
    assert capsys.readouterr().out == "captured\n"


def test_isa_and_engine_by_name_from_a_registry(toy):
    from vmcore.components import Component, ConfigError
    from vmcore.plugins import Registry

    reg = Registry()
    reg.add(Component("isa", "toylinux", ToyLinux, "toy"))
    reg.add(Component("engine", "interp", InterpEngine, "reference"))
    path = toy.write(program(lambda d: syscall(94, 12)))
    stats = {}
    assert run_program([path], registry=reg, env={}, stats=stats) == 12  # ISA from e_machine
    assert stats["engine"] == "interp"
    assert run_program([path], registry=reg, isa="toylinux", env={}) == 12
    with pytest.raises(ConfigError, match="unknown engine 'jit'; available: interp"):
        run_program([path], registry=reg, engine="jit", env={})


def test_reports_go_to_a_binary_stderr_too(toy):
    path = toy.write(program(lambda d: [("li", 1, 0, 0), ("ld", 0, 1, 0)]))
    err = io.BytesIO()
    status = run_program(
        [path], isa=ToyLinux(), engine=InterpEngine, stderr=err, strace=True, stdout=io.BytesIO()
    )
    assert status == 139
    assert err.getvalue().startswith(b"vmctl: guest killed by SIGSEGV at pc 0x")
    assert err.getvalue().endswith(b"+++ killed by SIGSEGV +++\n")


def test_non_utf8_arguments_pass_through_unchanged(toy):
    arg = os.fsdecode(b"caf\xe9")  # not UTF-8: a surrogate escape on the host side
    p = toy.process(args=[arg])
    sp = p.cpu.s[p.abi.sp]
    ptr = struct.unpack("<Q", p.machine.bus.read_bytes(sp + 16, 8))[0]
    assert p.machine.bus.read_cstring(ptr) == b"caf\xe9"


def test_argument_list_too_long(toy):
    from vmcore.components import ConfigError

    with pytest.raises(ConfigError, match="argument list too long"):
        toy.process(args=["x" * 1_000_000, "y" * 1_200_000])


def test_trap_cause_unknown_to_the_abi_is_named(toy):
    from vmcore import GuestTrap

    err = io.StringIO()
    p = toy.process(stderr=err)
    p.on_trap(p.cpu, GuestTrap(11, 0x1234), 0x10100)
    assert p.exit_status == 139
    assert err.getvalue() == (
        "vmctl: guest killed by SIGSEGV at pc 0x10100 (trap cause 11, tval 0x1234)\n"
    )


def test_interrupts_are_left_to_the_isa(toy):
    from vmcore import GuestTrap

    p = toy.process()
    assert p.on_trap(p.cpu, GuestTrap(8, 0, info="interrupt"), 0x10100) is None
    assert p.exit_status is None
