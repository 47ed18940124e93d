"""End to end: C programs built with riscv64-linux-gnu-gcc -static -O2, run by vmcore's
Linux user mode on the riscv64 ISA plugin, compared byte for byte (stdout and exit status)
with qemu-riscv64.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmcore.linux_user import run_program
from vmcore.plugins import get_registry
from vmcore.testing.guests import build, build_linux, run_qemu

ENV = {"HOME": "/home/guest", "VM_ONE": "1", "VM_TWO": "two words", "LANG": "C"}
ENGINES = get_registry().names("engine")


def run_vm(binary, args=(), *, engine="interp", env=ENV, stdin=b""):
    out, err = io.BytesIO(), io.BytesIO()
    status = run_program(
        [str(binary), *args], env=dict(env), engine=engine, stdin=stdin, stdout=out, stderr=err
    )
    return status, out.getvalue(), err.getvalue()


def compare(name, args=(), *, engine="interp", env=ENV, expect_status=None, stdin=b""):
    binary = build_linux(name)
    ref = run_qemu(binary, args, env=dict(env), stdin=stdin)
    status, out, err = run_vm(binary, args, engine=engine, env=env, stdin=stdin)
    assert out == ref.stdout, err.decode(errors="replace")
    assert status == ref.status, err.decode(errors="replace")
    if expect_status is not None:
        assert status == expect_status
    return status, out, err


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "name", ["hello", "printf_double", "qsort", "strings", "malloc_churn", "mmap_io"]
)
def test_program_matches_qemu(name, engine):
    compare(name, engine=engine, expect_status=0)


BENCH_SRC = Path(__file__).resolve().parents[2] / "bench" / "src"


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["crc32", "lists", "matrix", "sort", "fpkernel"])
def test_benchmark_workloads_match_qemu(name, engine):
    """The project's CPU-bound workloads (bench/src: a checksum, lists and a state machine,
    matrices, sorting through function pointers, a floating-point kernel) at their
    smallest size: the same output as qemu-riscv64, on every engine."""
    binary = build(BENCH_SRC / f"{name}.c", arch="riscv64", flavour="linux", libs=["-lm"])
    ref = run_qemu(binary, ["1"], env=dict(ENV))
    status, out, err = run_vm(binary, ["1"], engine=engine)
    assert ref.status == 0 and ref.stdout.startswith(name[:2].encode())
    assert (status, out) == (ref.status, ref.stdout), err.decode(errors="replace")


@pytest.mark.slow
def test_args_and_env_match_qemu():
    status, out, _ = compare("args_env", ["a", "b c", ""], expect_status=4)
    assert b"argv[2]=<b c>" in out and b"env VM_TWO=two words" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    "how, code, status",
    [
        ("return", "0", 0),
        ("return", "42", 42),
        ("exit", "3", 3),
        ("exit", "256", 0),
        ("_exit", "255", 255),
        ("abort", "0", 134),
    ],
)
def test_exit_codes_match_qemu(how, code, status):
    compare("exit_codes", [how, code], expect_status=status)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("how, code", [("exit", "3"), ("_exit", "300"), ("abort", "0")])
def test_console_script_run_exits_with_the_guest_status(how, code, engine, tmp_path):
    """``vmctl run`` ends its process without the interpreter's teardown: the guest's
    status, and every byte it wrote to a pipe and to a file, still arrive."""
    binary = build_linux("exit_codes")
    ref = run_qemu(binary, [how, code], env=dict(ENV))
    vmctl = Path(sys.executable).with_name("vmctl")
    proc = subprocess.run(
        [str(vmctl), "run", "--engine", engine, str(binary), how, code],
        capture_output=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (ref.status, ref.stdout), proc.stderr
    with open(tmp_path / "out", "wb") as fh:
        status = subprocess.run(
            [str(vmctl), "run", "--engine", engine, str(binary), how, code],
            stdout=fh,
            timeout=120,
        ).returncode
    assert (status, (tmp_path / "out").read_bytes()) == (ref.status, ref.stdout)


@pytest.mark.slow
def test_null_deref_dies_of_sigsegv():
    _, out, err = compare("null_deref", expect_status=139)
    assert out == b"about to crash\n"
    assert err.decode().startswith("vmctl: guest killed by SIGSEGV at pc 0x")
    assert "(addr 0x0)" in err.decode()


@pytest.mark.slow
def test_file_io_matches_qemu(tmp_path):
    binary = build_linux("fileio")
    (tmp_path / "q").mkdir()
    (tmp_path / "v").mkdir()
    ref = run_qemu(binary, [str(tmp_path / "q")], env=ENV)
    status, out, err = run_vm(binary, [str(tmp_path / "v")])
    assert (status, out) == (ref.status, ref.stdout), err
    assert status == 0 and b"entry data.txt" in out
    assert os.listdir(tmp_path / "v") == os.listdir(tmp_path / "q") == []


@pytest.mark.slow
def test_strace_of_a_real_program(tmp_path):
    binary = build_linux("hello")
    out, err = io.BytesIO(), io.StringIO()
    assert run_program([str(binary)], env={}, stdout=out, stderr=err, strace=True) == 0
    lines = err.getvalue().splitlines()
    assert 'write(1, "hello, world\\n", 13) = 13' in lines
    assert lines[-2:] == ["exit_group(0) = ?", "+++ exited with 0 +++"]


@pytest.mark.slow
def test_stdin_matches_qemu():
    text = b"First line\n" + b"Some More TEXT\n" * 300 + b"no newline at the end"
    _, out, _ = compare("stdin_filter", stdin=text, expect_status=0)
    assert b"lines=302" in out and b"eof=1" in out
