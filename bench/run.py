"""Run the CPU-bound workloads on vmcore engines and on qemu-riscv64, in one script.

Every workload is built static for riscv64 from ``bench/src`` (Debian's cross gcc) into
``bench/build`` and run at two scales, N and 2N. ``interp`` runs at the base scale; the
native engines (jit, qemu) at ``--native-scale`` times it, so their runs last long enough
to measure. Reported per engine:

- ``MIPS``: guest instructions of the 2N run over its wall time (translation included);
- ``MIPS warm``: the extra instructions of 2N over N divided by the extra time, which
  removes start-up and translation warm-up;
- ratios of MIPS against the first engine (for the same work this is the ratio of wall
  times; the instruction counts come from vmcore, and the same binary executes the same
  instructions under qemu-riscv64).

Usage: ``python bench/run.py [--engine interp --engine jit] [--scale N] [--json]``.
Speed is only ever a ratio measured here, in the same run; never an absolute in a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
BUILD = HERE / "build"
CC = "riscv64-linux-gnu-gcc"
QEMU = "qemu-riscv64"

#: default scale per workload: a few seconds on interp (N and 2N); the native engines run
#: --native-scale (100) times more, so QEMU runs for about a second or more
SCALES = {"crc32": 20, "sort": 10, "lists": 20, "matrix": 20, "fpkernel": 20}


def build(name: str) -> Path:
    out = BUILD / name
    src = SRC / f"{name}.c"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        BUILD.mkdir(exist_ok=True)
        subprocess.run([CC, "-static", "-O2", "-o", str(out), str(src), "-lm"], check=True)
    return out


def run_vmcore(engine: str, exe: Path, scale: int) -> tuple[int, float, str]:
    from vmcore.linux_user import run_program

    stats: dict = {}
    gc.collect()  # earlier runs' machines are garbage: collecting them is not this run's cost
    out = BUILD / f".{exe.name}.{engine}.out"
    with open(out, "w+") as fh:
        status = run_program([str(exe), str(scale)], engine=engine, stats=stats, stdout=fh)
        fh.seek(0)
        text = fh.read()
    if status != 0:
        raise SystemExit(f"{exe.name} on {engine} exited {status}")
    return stats["instructions"], stats["seconds"], text


def run_qemu(exe: Path, scale: int) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([QEMU, str(exe), str(scale)], capture_output=True, text=True)
    return time.perf_counter() - t0, proc.stdout


def _warm(extra_insns: int, t_big: float, t_small: float) -> float:
    """MIPS of the extra work; NaN when the difference drowns in timing noise."""
    if t_big - t_small < 0.1 * t_big:
        return float("nan")
    return extra_insns / (t_big - t_small) / 1e6


def measure(
    engines: list[str], names: list[str], factor: int, native: int, repeat: int
) -> list[dict]:
    """Each workload at N and 2N on every engine and on QEMU, ``repeat`` rounds. A round
    runs every engine once at each size before the next round starts, so a slow spell of
    the host (they last seconds to minutes here) falls on all of them alike instead of on
    one engine's block of runs; each time reported is the median over the rounds."""
    have_qemu = shutil.which(QEMU) is not None
    rows = []
    for name in names:
        exe = build(name)
        base = SCALES[name] * factor
        sizes = {e: base * (1 if e == "interp" else native) for e in engines}
        if have_qemu:
            sizes["qemu"] = base * native
        #: engine -> size -> wall times of its runs; (engine, size) -> (instructions, output)
        times: dict[str, dict[int, list[float]]] = {e: {n: [], 2 * n: []} for e, n in sizes.items()}
        first: dict[tuple[str, int], tuple[int | None, str]] = {}
        for _ in range(repeat):
            for engine, n in sizes.items():
                for size in (n, 2 * n):
                    if engine == "qemu":
                        seconds, text = run_qemu(exe, size)
                        insns = None
                    else:
                        insns, seconds, text = run_vmcore(engine, exe, size)
                    times[engine][size].append(seconds)
                    first.setdefault((engine, size), (insns, text))
        # the same program at the same size prints the same on every engine
        outputs: dict[int, str] = {}
        for (engine, size), (_, text) in first.items():
            expected = outputs.setdefault(size, text)
            if text != expected:
                raise SystemExit(f"{name}: {engine} printed {text!r}, expected {expected!r}")
        # QEMU counts no instructions: the same binary retires the same ones under vmcore
        counts = {size: insns for (_, size), (insns, _) in first.items() if insns is not None}
        for size in (sizes.get("qemu", 0), 2 * sizes.get("qemu", 0)):
            if have_qemu and size not in counts:
                counts[size] = run_vmcore(engines[0], exe, size)[0]
        row: dict = {"workload": name}
        for engine, n in sizes.items():
            t_small = statistics.median(times[engine][n])
            t_big = statistics.median(times[engine][2 * n])
            insns_small, insns_big = counts[n], counts[2 * n]
            row[engine] = {
                "scale": 2 * n,
                "instructions": insns_big,
                "seconds": t_big,
                "mips": insns_big / t_big / 1e6,
                "mips_warm": _warm(insns_big - insns_small, t_big, t_small),
            }
        rows.append(row)
    return rows


def _ratio(a: dict, b: dict) -> str:
    return f"{a['mips'] / b['mips']:.2f}x ({a['mips_warm'] / b['mips_warm']:.2f}x)"


def report(rows: list[dict], engines: list[str]) -> str:
    """Markdown: MIPS per engine, each later column against the first engine, and every
    vmcore engine after the first against QEMU (the issue's jit/qemu ratio)."""
    cols = [*engines, "qemu"] if "qemu" in rows[0] else engines
    versus_qemu = engines[1:] if "qemu" in cols else []
    head = [f"{c} MIPS (warm)" for c in cols] + [f"{c}/{engines[0]} (warm)" for c in cols[1:]]
    head += [f"{c}/qemu (warm)" for c in versus_qemu]
    lines = ["| workload | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for r in rows:
        cells = [f"{r[c]['mips']:.1f} ({r[c]['mips_warm']:.1f})" for c in cols]
        cells += [_ratio(r[c], r[engines[0]]) for c in cols[1:]]
        cells += [_ratio(r[c], r["qemu"]) for c in versus_qemu]
        lines.append(f"| {r['workload']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def hello_end_to_end(engines: list[str], repeat: int) -> str:
    """Wall time of ``vmctl run`` of a short program (hello world, glibc static) per
    engine, a fresh process each, imports and translation included: what a user waits for."""
    exe = BUILD / "hello"
    src = HERE.parent / "guests" / "riscv64" / "linux" / "hello.c"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        BUILD.mkdir(exist_ok=True)
        subprocess.run([CC, "-static", "-O2", "-o", str(exe), str(src)], check=True)

    def once(engine: str) -> float:
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "vmcore", "run", "--engine", engine, str(exe)]
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t0

    runs: dict[str, list[float]] = {e: [] for e in engines}
    for _ in range(repeat):  # rounds interleave the engines, as in measure
        for e in engines:
            runs[e].append(once(e))
    times = {e: statistics.median(t) for e, t in runs.items()}
    base = times[engines[0]]
    cells = [f"{e} {t * 1000:.0f} ms ({t / base:.2f}x)" for e, t in times.items()]
    return "hello, end to end: " + ", ".join(cells)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", action="append", help="vmcore engine (repeatable)")
    ap.add_argument("--workload", action="append", choices=sorted(SCALES))
    ap.add_argument("--scale", type=int, default=1, help="multiply every workload's size")
    ap.add_argument("--native-scale", type=int, default=100, help="extra factor for jit, qemu")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; each time is their median")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    engines = args.engine or ["interp"]
    rows = measure(
        engines, args.workload or sorted(SCALES), args.scale, args.native_scale, args.repeat
    )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(report(rows, engines))
        print()
        print(hello_end_to_end(engines, max(3, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
