"""Build and run the official riscv-tests (``p`` and ``v`` environments) on the ``spike`` board.

Usage::

    riscv_tests.py SRC [--out DIR] [--suite rv64ui ...] [--env p --env v] [--engine interp]
                   [--only NAME]

``SRC`` is a checkout of riscv-software-src/riscv-tests with its ``env`` submodule
(riscv-software-src/riscv-test-env) filled in. Each test is compiled the way the suite's
``isa/Makefile`` does (riscv64-unknown-elf-gcc, ``env/<env>``, ``macros/scalar``) into
``--out`` (skipped when the ELF is newer than its sources), then run to its HTIF exit:
status 0 is a pass, N > 0 means test case N failed. Prints one line per test and a summary
per suite; exits 1 if anything failed. Nothing is ever written into the source tree.

Environments: ``p`` runs the test bare in M mode; ``v`` runs it in U mode under Sv39
virtual memory, with a small S-mode kernel (``env/v/vm.c``) that maps pages on demand, so
it exercises paging, page faults, A/D bits and sfence.vma. Only the suites whose Makefrag
lists ``<suite>_v_tests`` (the user-level ones) have ``v`` variants.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

CC = "riscv64-unknown-elf-gcc"
CFLAGS = ["-static", "-mcmodel=medany", "-fvisibility=hidden", "-nostdlib", "-nostartfiles"]

#: suite -> -march, as riscv-tests' isa/Makefile compiles it
SUITES = {
    "rv64ui": "rv64g",
    "rv64um": "rv64g",
    "rv64ua": "rv64g",
    "rv64uf": "rv64g",
    "rv64ud": "rv64g",
    "rv64uc": "rv64g",
    "rv64uzba": "rv64g_zba",
    "rv64uzbb": "rv64g_zbb",
    "rv64uzbs": "rv64g_zbs",
    "rv64mi": "rv64g",
    "rv64si": "rv64g",
}
DEFAULT_SUITES = ("rv64ui", "rv64um", "rv64ua", "rv64uf", "rv64ud", "rv64uc", "rv64mi")
#: instructions before a test counts as hung (the largest p tests retire ~100k)
LIMIT = 5_000_000


def suite_tests(src: Path, suite: str) -> list[str]:
    """The test names a suite's Makefrag lists in ``<suite>_sc_tests``."""
    text = (src / "isa" / suite / "Makefrag").read_text()
    m = re.search(rf"^{suite}_sc_tests\s*=\s*((?:.*\\\n)*.*)$", text, re.MULTILINE)
    if m is None:
        raise SystemExit(f"{suite}/Makefrag lists no {suite}_sc_tests")
    return m.group(1).replace("\\\n", " ").split()


#: env/v's C files include these libc headers; bare-metal toolchains (Debian's
#: gcc-riscv64-unknown-elf) ship none, so the tool writes freestanding stand-ins declaring
#: what env/v/string.c defines, and compiles with -ffreestanding (stdint.h from gcc)
SHIM_HEADERS = {
    "string.h": """#include <stddef.h>
void *memcpy(void *dest, const void *src, size_t len);
void *memset(void *dest, int byte, size_t len);
int memcmp(const void *s1, const void *s2, size_t n);
size_t strlen(const char *s);
int strcmp(const char *s1, const char *s2);
char *strcpy(char *dest, const char *src);
""",
    "stdio.h": "",
    "ctype.h": "",
}


def _shim_dir(out: Path) -> Path:
    shim = out / "libc-shim"
    shim.mkdir(parents=True, exist_ok=True)
    for name, text in SHIM_HEADERS.items():
        path = shim / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return shim


def has_env(src: Path, suite: str, env: str) -> bool:
    """Whether the suite's Makefrag builds ``env`` variants (every suite has ``p``)."""
    if env == "p":
        return True
    text = (src / "isa" / suite / "Makefrag").read_text()
    return re.search(rf"^{suite}_{env}_tests\s*=", text, re.MULTILINE) is not None


def build(src: Path, out: Path, suite: str, name: str, env: str = "p") -> Path:
    """Compile one test (``<suite>-<env>-<name>``) unless an up-to-date ELF exists.

    ``v`` links the S-mode kernel (env/v/entry.S and *.c) in, with isa/Makefile's flags:
    ``-std=gnu99 -O2`` and ``-DENTROPY`` from the md5 of the test's name (the seed of the
    kernel's page allocator).
    """
    source = src / "isa" / suite / f"{name}.S"
    envdir = src / "env" / env
    elf = out / f"{suite}-{env}-{name}"
    extra: list[str] = []
    if env == "v":
        seed = hashlib.md5(elf.name.encode() + b"\n").hexdigest()[:7]  # noqa: S324 - a seed
        extra = [f"-DENTROPY=0x{seed}", "-std=gnu99", "-O2", "-ffreestanding"]
        extra.append(f"-I{_shim_dir(out)}")
        sources = [envdir / "entry.S", *sorted(envdir.glob("*.c")), source]
    else:
        sources = [source]
    newest = max(p.stat().st_mtime for p in [*sources, envdir / "riscv_test.h"])
    if elf.exists() and elf.stat().st_mtime >= newest:
        return elf
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        CC,
        f"-march={SUITES[suite]}",
        "-mabi=lp64d",
        *CFLAGS,
        *extra,
        f"-I{envdir}",
        f"-I{src / 'isa' / 'macros' / 'scalar'}",
        f"-T{envdir / 'link.ld'}",
        *map(str, sources),
        "-o",
        str(elf),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{CC} failed on {source}:\n{res.stderr}")
    return elf


def run(elf: Path, engine: str = "interp", limit: int = LIMIT) -> tuple[str, int | None, int]:
    """Run one ELF on the spike board: (stop reason, exit status, instructions)."""
    from vmcore.build import build_machine
    from vmcore.config import MachineConfig

    config = MachineConfig(isa="riscv64", board="spike", engine=engine, kernel=str(elf))
    machine = build_machine(config)
    reason = machine.run(limit=limit)
    insns = sum(cpu.retired() for cpu in machine.cpus)
    return reason, machine.exit_code, insns


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="riscv-tests checkout (with env/)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/riscv-tests-build"))
    ap.add_argument("--suite", action="append", choices=sorted(SUITES), help="repeatable")
    ap.add_argument("--only", help="run only tests whose name contains this")
    ap.add_argument("--engine", default="interp")
    ap.add_argument("--env", action="append", choices=("p", "v"), help="repeatable; default: p")
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args(argv)
    if shutil.which(CC) is None:
        raise SystemExit(f"{CC} not found (Debian: apt install gcc-riscv64-unknown-elf)")
    if not (args.src / "env" / "p" / "riscv_test.h").exists():
        raise SystemExit(f"{args.src}/env is empty: fetch riscv-software-src/riscv-test-env")
    failed_total = 0
    runs = [
        (suite, env)
        for env in args.env or ["p"]
        for suite in args.suite or DEFAULT_SUITES
        if has_env(args.src, suite, env)
    ]
    for suite, env in runs:
        names = [n for n in suite_tests(args.src, suite) if not args.only or args.only in n]
        passed, failed = 0, []
        for name in names:
            try:
                elf = build(args.src, args.out, suite, name, env)
            except RuntimeError as exc:
                failed.append(f"{name} (build: {str(exc).splitlines()[-1]})")
                continue
            if args.build_only:
                continue
            t0 = time.monotonic()
            try:
                reason, status, insns = run(elf, args.engine)
            except Exception as exc:  # report and go on: one broken test must not hide others
                failed.append(f"{name} (crash: {type(exc).__name__}: {exc})")
                print(f"CRASH {suite}-{env}-{name}: {type(exc).__name__}: {exc}", flush=True)
                continue
            dt = time.monotonic() - t0
            ok = reason == "halt" and status == 0
            what = "ok" if ok else (f"test {status}" if reason == "halt" else reason)
            print(
                f"{'PASS' if ok else 'FAIL'} {suite}-{env}-{name}: {what} "
                f"({insns} insns, {dt:.2f}s)",
                flush=True,
            )
            if ok:
                passed += 1
            else:
                failed.append(f"{name} ({what})")
        if not args.build_only:
            print(
                f"== {suite}-{env}: {passed}/{len(names)} passed"
                + (f"; failed: {', '.join(failed)}" if failed else ""),
                flush=True,
            )
        failed_total += len(failed)
    return 1 if failed_total else 0


if __name__ == "__main__":
    sys.exit(main())
