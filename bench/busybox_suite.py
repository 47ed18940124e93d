"""BusyBox's applets on vmcore and on qemu-riscv64: a real program, checked byte for byte.

BusyBox 1.35.0 comes from Debian (the ``.orig`` tarball of bookworm's package, pinned by
sha256). The script builds it once, static for riscv64 with Debian's cross gcc
(``defconfig``), into ``bench/build``, writes seeded input files (text, numbers, random
bytes), and runs some fifty applet command lines on them (sort, awk, sed, grep, the
hashes, gzip, bzip2, od, dc, find, sh ...) under each engine, in this process, and under
qemu-riscv64. Every run must print the same bytes and exit with the same status as under
QEMU; the table gives the times and their ratio to QEMU's.

Usage: ``python bench/busybox_suite.py [--engine jit] [--lines N] [--applet sort ...]``.
Not part of the test run: it downloads and builds (a few minutes). ``--lines`` shrinks
the inputs for slow engines (interp). Nothing from BusyBox is ever committed.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from sources import BUILD, fetch, unpack

URL = "https://deb.debian.org/debian/pool/main/b/busybox/busybox_1.35.0.orig.tar.bz2"
SHA256 = "faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694"
CROSS = "riscv64-linux-gnu-"
QEMU = "qemu-riscv64"

#: applet command lines, run in the work directory; "< file" is the applet's stdin (no
#: pipelines or command substitution: vmcore's user mode has no fork, see docs/linux-user.md)
COMMANDS = """
wc words.txt
md5sum words.txt bin.dat
sha1sum bin.dat
sha256sum bin.dat
sha512sum words.txt
sort words.txt
sort -n nums.txt
sort -k2 -g nums.txt
uniq -c words.txt
awk '{s+=$1; t+=$2} END {printf "%d %.3f\\n", s, t}' nums.txt
awk '{for(i=1;i<=NF;i++) c[$i]++} END {for(k in c) print k, c[k]}' words.txt
sed -e 's/alpha/ALPHA/g' -e '/beta/d' words.txt
grep -c gamma words.txt
grep -E '^(eta|iota) .*kappa$' words.txt
tr a-z A-Z < words.txt
cut -d' ' -f2,3 words.txt
od -A x -t x1z bin.dat
hexdump -C bin.dat
xxd bin.dat
base64 bin.dat
gzip -c -9 words.txt
bzip2 -c words.txt
cksum bin.dat
crc32 bin.dat
expr 123456789 * 987654321
seq 1 3 100000
factor 1234567890123 999999000001 600851475143
printf '%s\\n%x\\n%o\\n%e\\n' hello 255 8 3.14159
dc -e '2 200 ^ p'
tac words.txt
rev words.txt
head -c 100000 bin.dat
tail -n 50 words.txt
nl words.txt
fold -w 20 words.txt
paste words.txt nums.txt
comm words.txt words.txt
cmp bin.dat bin.dat
strings bin.dat
sum bin.dat
stat -c '%s %n' words.txt nums.txt bin.dat
date -u -d @1700000000
basename /a/b/c.txt .txt
find .
du -a .
ls -la
diff words.txt nums.txt
tar -cf - words.txt
sh -c 'i=0; x=0; while [ $i -lt 300 ]; do i=$((i + 1)); x=$((x + i * i)); done; echo $x'
uname -a
true
false
"""


def busybox() -> Path:
    """The static riscv64 busybox, built on first use."""
    tree = BUILD / "busybox-1.35.0"
    exe = tree / "busybox"
    if exe.exists():
        return exe
    if not tree.is_dir():
        unpack(fetch(URL, SHA256), BUILD)
    make = ["make", f"-j{os.cpu_count() or 1}", f"CROSS_COMPILE={CROSS}"]
    subprocess.run(["make", "defconfig"], cwd=tree, check=True, capture_output=True)
    config = tree / ".config"
    text = config.read_text().replace("# CONFIG_STATIC is not set", "CONFIG_STATIC=y")
    # tc needs kernel headers' CBQ definitions that newer kernels dropped
    config.write_text(text.replace("CONFIG_TC=y", "# CONFIG_TC is not set"))
    subprocess.run([*make, "busybox"], cwd=tree, check=True, capture_output=True)
    return exe


def inputs(work: Path, lines: int) -> None:
    """Seeded inputs: words (text), numbers (integers and decimals), random bytes."""
    rng = random.Random(5)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    text = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) for _ in range(lines)]
    (work / "words.txt").write_text("\n".join(text) + "\n")
    nums = [f"{rng.randint(-(10**6), 10**6)} {rng.random() * 1000:.4f}" for _ in range(lines)]
    (work / "nums.txt").write_text("\n".join(nums) + "\n")
    (work / "bin.dat").write_bytes(rng.randbytes(15 * lines))


def run_qemu(exe: Path, args: list[str], stdin: Path | None, work: Path) -> tuple:
    t0 = time.perf_counter()
    with open(stdin or os.devnull, "rb") as inp:
        proc = subprocess.run([QEMU, str(exe), *args], stdin=inp, capture_output=True, cwd=work)
    return time.perf_counter() - t0, proc.returncode, proc.stdout, proc.stderr


def run_vmcore(engine: str, exe: Path, args: list[str], stdin: Path | None) -> tuple:
    from vmcore.linux_user import run_program

    gc.collect()  # earlier runs' machines are garbage: collecting them is not this run's cost
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with open(stdin or os.devnull, "rb") as inp:
            t0 = time.perf_counter()
            status = run_program(
                [str(exe), *args], engine=engine, stdin=inp, stdout=out, stderr=err
            )
            seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return seconds, status, out.read(), err.read()


def parse(line: str) -> tuple[list[str], str | None]:
    """A command line's arguments and the file after ``<``, if any."""
    args = shlex.split(line)
    if "<" in args:
        i = args.index("<")
        return args[:i] + args[i + 2 :], args[i + 1]
    return args, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", action="append", help="vmcore engine (repeatable; jit)")
    ap.add_argument("--lines", type=int, default=20000, help="lines in the text inputs")
    ap.add_argument("--applet", action="append", help="only these applets")
    args = ap.parse_args(argv)
    exe = busybox()
    work = BUILD / "busybox-work"
    work.mkdir(exist_ok=True)
    inputs(work, args.lines)
    engines = args.engine or ["jit"]
    lines = COMMANDS.strip().splitlines()
    if args.applet:
        lines = [line for line in lines if line.split()[0] in args.applet]
    os.chdir(work)  # the applets' relative paths (vmcore runs in this process)
    failed = 0
    totals = dict.fromkeys(["qemu", *engines], 0.0)
    heads = " ".join(f"{e + ' s':>9s} {'x':>6s}" for e in engines)
    print(f"{'command':40s} {'qemu s':>7s} {heads}")
    for line in lines:
        argv_, stdin = parse(line)
        stdin_path = work / stdin if stdin else None
        q_seconds, q_status, q_out, _ = run_qemu(exe, argv_, stdin_path, work)
        totals["qemu"] += q_seconds
        cells = []
        for engine in engines:
            seconds, status, out, err = run_vmcore(engine, exe, argv_, stdin_path)
            totals[engine] += seconds
            ok = status == q_status and out == q_out
            cells.append(f"{seconds:9.2f} {seconds / q_seconds:5.1f}x" + ("" if ok else " DIFFERS"))
            if not ok:
                failed += 1
                print(
                    f"  {engine}: status {status} (qemu {q_status}), {len(out)} bytes out "
                    f"(qemu {len(q_out)}); stderr {err[-300:]!r}"
                )
        print(f"{line[:40]:40s} {q_seconds:7.2f} " + " ".join(cells))
    print(
        f"{'total':40s} {totals['qemu']:7.2f} "
        + " ".join(f"{totals[e]:9.2f} {totals[e] / totals['qemu']:5.1f}x" for e in engines)
    )
    print(f"{len(lines) * len(engines) - failed} of {len(lines) * len(engines)} runs as under QEMU")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
