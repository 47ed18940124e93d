"""Lua 5.4's own test suite on vmcore and on qemu-riscv64: a real program, real tests.

The Lua sources come from PyPI: lupa's source distribution bundles Lua 5.4 with its test
suite (``third-party/lua54/testes``). The script downloads it once into ``bench/build``
(checking its sha256), builds ``onelua.c`` static for riscv64 with Debian's cross gcc, and
runs the suite's files (``all.lua``, or the ones named) with ``_port=true`` (the portable
tests) under each engine and under qemu-riscv64. It reports each run's wall time and
whether the suite said "final OK" (``all.lua``) or the file exited 0.

Usage: ``python bench/lua_suite.py [--engine jit] [--file sort.lua ...]``. Not part of the
test run: it needs the download, and the whole suite takes minutes on the jit (about 23
s under QEMU). Nothing from lupa is ever committed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from sources import BUILD, fetch, unpack

SDIST = "lupa-2.8.tar.gz"
URL = (
    "https://files.pythonhosted.org/packages/c3/a6/"
    "0f869fbb07c393f15473b1eefefb7b5bec162fb7481803d040ed4dc46002/" + SDIST
)
SHA256 = "d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08"
CC = "riscv64-linux-gnu-gcc"
QEMU = "qemu-riscv64"


def lua_sources() -> Path:
    """The Lua 5.4 directory of lupa's sdist, downloaded and unpacked on first use."""
    tree = BUILD / "lupa" / "lupa-2.8" / "third-party" / "lua54"
    if not tree.is_dir():
        unpack(fetch(URL, SHA256), BUILD / "lupa", lambda name: "/third-party/lua54/" in name)
    return tree


def build_lua(tree: Path) -> Path:
    """``onelua.c`` (the interpreter and its libraries in one file), static for riscv64."""
    exe = BUILD / "lua54.rv"
    if not exe.exists():
        cmd = [CC, "-static", "-O2", "-DLUA_USE_POSIX", "-o", str(exe), str(tree / "onelua.c")]
        subprocess.run([*cmd, "-lm"], check=True)
    return exe


def run(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc.returncode, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", action="append", help="vmcore engine (repeatable; jit)")
    ap.add_argument("--file", action="append", help="test file in testes/ (all.lua)")
    args = ap.parse_args(argv)
    tree = lua_sources()
    exe = build_lua(tree)
    vmctl = Path(sys.executable).with_name("vmctl")
    runners = {"qemu-riscv64": [QEMU]}
    for engine in args.engine or ["jit"]:
        runners[engine] = [str(vmctl), "run", "--engine", engine]
    failed = 0
    for name in args.file or ["all.lua"]:
        times = {}
        for label, prefix in runners.items():
            seconds, status, out = run([*prefix, str(exe), "-e_port=true", name], tree / "testes")
            ok = status == 0 and ("final OK" in out if name == "all.lua" else True)
            failed += not ok
            times[label] = seconds
            print(f"{name:14s} {label:13s} {seconds:8.2f} s  {'ok' if ok else 'FAILED'}")
            if not ok:
                print(out[-2000:])
        base = times["qemu-riscv64"]
        ratios = ", ".join(f"{k} {v / base:.1f}x" for k, v in times.items() if k != "qemu-riscv64")
        print(f"{name:14s} time against qemu-riscv64: {ratios}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
