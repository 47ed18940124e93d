"""vmctl: assemble and run machines, run Linux programs, compare engines, list plugins.

Importing this module is cheap on purpose: components are listed from their descriptors
(string factories), and engines, ISAs and Linux user mode are imported only by the command
that runs them. Usage errors and :class:`ConfigError` exit with status 2 and one line on
stderr, never a traceback.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

import vmcore
from vmcore.components import KINDS, ConfigError
from vmcore.config import CLOCKS, MachineConfig, load_toml

__all__ = ["bench_engines", "main", "make_cli", "run_cli"]

#: exit status for usage and configuration errors (as click and argparse use)
EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(vmcore.__version__, prog_name="vmctl")
def cli() -> None:
    """vmcore: a plugin-based machine emulator.

    Machines are assembled from named components (ISA, engine, MMU, board, devices) that
    plugins provide; `vmctl plugins` lists what is installed.
    """


# -- vmctl plugins ---------------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> int:
    """List every component by kind, with the distribution that provides it.

    Plugins that failed to load are listed at the end with the error.
    """
    from vmcore.plugins import get_registry

    data = get_registry().describe()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return 0
    components = data["components"]
    width = max((len(c["name"]) for cs in components.values() for c in cs), default=0)
    for kind in KINDS:
        click.echo(f"{kind}:")
        if not components[kind]:
            click.echo("  (none installed)")
        for c in components[kind]:
            origin = f"{c['distribution']} {c['version']}".strip()
            isas = f" [isa: {', '.join(c['isas'])}]" if c["isas"] else ""
            click.echo(f"  {c['name']:<{width}}  {c['help']}{isas}  ({origin})")
    if data["failures"]:
        click.echo("failed plugins:")
        for f in data["failures"]:
            click.echo(f"  {f['distribution']}: {f['error']}")
    return 0


# -- vmctl machine ---------------------------------------------------------------------------


@cli.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Machine TOML.")
@click.option("--isa", help="Guest instruction set.")
@click.option("--engine", help="Execution engine [default: interp].")
@click.option("--mmu", help="MMU strategy [default: the ISA's].")
@click.option("--board", help="Board: memory map, devices, boot protocol.")
@click.option("--memory", "-m", help="Guest RAM, e.g. 128M or 2G [default: 128M].")
@click.option("--smp", type=click.IntRange(min=1), help="Number of harts [default: 1].")
@click.option(
    "--device",
    "devices",
    multiple=True,
    metavar="KIND[,key=val...]",
    help="Add a device, e.g. uart16550,base=0x10000000,irq=10 (repeatable).",
)
@click.option("--kernel", help="Kernel or bare-metal program for the board to load.")
@click.option("--bios", help="Firmware the board runs first.")
@click.option("--initrd", help="Initial RAM disk.")
@click.option("--append", help="Kernel command line.")
@click.option("--drive", "drives", multiple=True, help="Disk image (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N instructions.")
@click.option("--signature", help="File to write the test signature to.")
@click.option("--trace/--no-trace", default=None, help="Print every instruction to stderr (slow).")
@click.option("--clock", type=click.Choice(CLOCKS), help="Time base [default: virtual].")
def machine(config_file: str | None, **flags: Any) -> int:
    """Assemble a machine and run it until the guest halts.

    Flags override the values of --config; --device and --drive add to its lists. The exit
    status is the guest's exit code (0 if it stopped otherwise).
    """
    from vmcore.build import build_machine
    from vmcore.machine import StopReason
    from vmcore.plugins import get_registry

    config = load_toml(config_file) if config_file else MachineConfig()
    config = config.merged(flags)
    m = build_machine(config, get_registry())
    if config.trace:
        from vmcore.tracing import run_traced

        reason = run_traced(m, sys.stderr, config.limit)
    else:
        reason = m.run(limit=config.limit)
    notes = {
        StopReason.LIMIT: f"stopped after the instruction limit ({config.limit})",
        StopReason.IDLE: "stopped: every hart waits for an interrupt that nothing will raise",
    }
    if reason in notes:
        click.echo(f"vmctl: {notes[reason]}", err=True)
    return m.exit_code or 0


# -- vmctl run -------------------------------------------------------------------------------


_GUEST_ARGS = {"allow_interspersed_args": False, "ignore_unknown_options": True}


@cli.command(context_settings=_GUEST_ARGS)
@click.option("--isa", help="Guest ISA [default: from the ELF header].")
@click.option("--engine", default="interp", show_default=True, help="Execution engine.")
@click.option("--strace", is_flag=True, help="Log every system call to stderr.")
@click.option(
    "--sysroot",
    type=click.Path(exists=True, file_okay=False),
    help="Directory holding the guest's dynamic loader and libraries.",
)
@click.option("--trace", is_flag=True, help="Print every instruction to stderr (slow).")
@click.argument("program", type=click.Path(exists=True, dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(
    isa: str | None,
    engine: str,
    strace: bool,
    sysroot: str | None,
    trace: bool,
    program: str,
    args: tuple[str, ...],
) -> int:
    """Run a Linux user-mode PROGRAM (like qemu-user); exit with its status."""
    _check_names(engine=engine, isa=isa)
    from vmcore.linux_user import run_program

    status = run_program(
        [program, *args], engine=engine, isa=isa, strace=strace, sysroot=sysroot, trace=trace
    )
    if _exit_fast:
        _exit_now(status)
    return status


#: set by main(): the process is vmctl's own, so a finished ``vmctl run`` may end it at
#: once (never when vmctl is called in-process, from tests or another program)
_exit_fast = False


def _exit_now(status: int) -> None:
    """End the process without the interpreter's teardown, which took 0.2-0.4 s after a
    jit run (freeing LLVM's modules and every translation object one by one). Safe after
    Linux user mode: guest files are host descriptors written through at once, so only
    our own stdio buffers need flushing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status & 0xFF)


def _check_names(engine: str | None = None, isa: str | None = None) -> None:
    """Fail early, listing valid names, before a long run starts."""
    from vmcore.plugins import get_registry

    registry = get_registry()
    for kind, name in (("engine", engine), ("isa", isa)):
        if name is not None:
            registry.get(kind, name)


# -- vmctl bench -----------------------------------------------------------------------------

Runner = Callable[..., int]


def bench_engines(
    argv: Sequence[str],
    engines: Sequence[str],
    repeat: int = 3,
    isa: str | None = None,
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Run the Linux user-mode guest ``argv`` ``repeat`` times on every engine.

    Returns ``{"guest", "repeat", "engines": [...]}`` where each engine entry has its runs
    (seconds, wall_seconds, instructions, status), the median time, MIPS at the median and
    ``ratio``: its MIPS over the first engine's (how many times faster it is). ``seconds``
    is the time the guest ran as run_program reports it (``stats["seconds"]``: loading the
    ELF and importing the engine do not count), else the wall time of the call. The guest's
    stdout is discarded; its stderr stays visible (errors, a fatal signal). ``runner`` stands
    in for :func:`vmcore.linux_user.run_program`.
    """
    if runner is None:
        from vmcore.linux_user import run_program as runner
    results = []
    with open(os.devnull, "wb") as devnull:
        sink = devnull.fileno()
        for engine in engines:
            runs = []
            stats: dict[str, Any] = {}
            for _ in range(repeat):
                stats = {}
                gc.collect()  # the previous run's machine is garbage: not this run's cost
                t0 = time.perf_counter()
                status = runner(list(argv), engine=engine, isa=isa, stdout=sink, stats=stats)
                wall = time.perf_counter() - t0
                if "instructions" not in stats:
                    raise click.ClickException(
                        "run_program did not report stats['instructions'] (docs/contracts.md)"
                    )
                runs.append(
                    {
                        "seconds": stats.get("seconds", wall),
                        "wall_seconds": wall,
                        "instructions": stats["instructions"],
                        "status": status,
                    }
                )
            median = statistics.median(r["seconds"] for r in runs)
            insns = int(statistics.median(r["instructions"] for r in runs))
            results.append(
                {
                    "engine": engine,
                    "runs": runs,
                    "instructions": insns,
                    "median_seconds": median,
                    "mips": insns / median / 1e6 if median > 0 else 0.0,
                    "stats": {
                        k: v for k, v in stats.items() if k not in ("instructions", "seconds")
                    },
                }
            )
    base = results[0]["mips"] if results else 0.0
    for r in results:
        r["ratio"] = r["mips"] / base if base else 0.0
    return {"guest": list(argv), "repeat": repeat, "engines": results}


@cli.command(context_settings=_GUEST_ARGS)
@click.option("--engine", "engines", multiple=True, required=True, help="Engine (repeatable).")
@click.option("--isa", help="Guest ISA [default: from the ELF header].")
@click.option("--repeat", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--stats", "show_stats", is_flag=True, help="Also print each engine's counters.")
@click.argument("guest", nargs=-1, required=True, type=click.UNPROCESSED)
def bench(
    engines: tuple[str, ...],
    isa: str | None,
    repeat: int,
    as_json: bool,
    show_stats: bool,
    guest: tuple[str, ...],
) -> int:
    """Run the same Linux guest on several engines and compare their speed.

    Usage: vmctl bench --engine interp --engine jit -- ./coremark ARGS. Reports retired
    instructions, median seconds, MIPS and the speed ratio against the first engine. Exits 1
    if the guest's exit status differs between runs or is not 0.
    """
    for engine in engines:
        _check_names(engine=engine)
    _check_names(isa=isa)
    if not os.path.isfile(guest[0]):
        raise ConfigError(f"bench: no such guest program: {guest[0]}")
    report = bench_engines(guest, engines, repeat, isa)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_bench(report, show_stats)
    statuses = {run["status"] for e in report["engines"] for run in e["runs"]}
    if statuses != {0}:
        click.echo(f"vmctl: the guest exited with status {sorted(statuses)}", err=True)
        return 1
    return 0


def _print_bench(report: dict[str, Any], show_stats: bool) -> None:
    first = report["engines"][0]["engine"]
    click.echo(f"{' '.join(report['guest'])}: median of {report['repeat']} runs")
    click.echo(
        f"{'engine':<12} {'instructions':>14} {'seconds':>10} {'MIPS':>10} {'vs ' + first:>12}"
    )
    for e in report["engines"]:
        click.echo(
            f"{e['engine']:<12} {e['instructions']:>14,} {e['median_seconds']:>10.4f} "
            f"{e['mips']:>10.2f} {e['ratio']:>11.2f}x"
        )
    counts = {e["instructions"] for e in report["engines"]}
    if len(counts) > 1:
        click.echo("vmctl: warning: engines retired different instruction counts", err=True)
    if show_stats:
        for e in report["engines"]:
            items = ", ".join(f"{k}={v}" for k, v in sorted(e["stats"].items()))
            click.echo(f"{e['engine']} stats: {items or '(none reported)'}")


# -- vmctl disasm ----------------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def disasm(file: str) -> int:
    """Disassemble the executable sections of an ELF FILE of any installed ISA."""
    from vmcore.disasm import disassemble_elf

    disassemble_elf(file, sys.stdout)
    return 0


# -- entry point -----------------------------------------------------------------------------


def make_cli() -> click.Group:
    """The ``vmctl`` group with every plugin's commands added (``vmcore_add_commands``).

    A plugin whose hook fails is reported on stderr and skipped, so one broken plugin does
    not break the other commands.
    """
    from vmcore.plugins import get_plugin_manager

    for impl in get_plugin_manager().hook.vmcore_add_commands.get_hookimpls():
        try:
            impl.function(**{name: cli for name in impl.argnames})
        except Exception as exc:
            click.echo(
                f"vmctl: warning: plugin {impl.plugin_name} could not add commands: "
                f"{type(exc).__name__}: {exc}",
                err=True,
            )
    return cli


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run vmctl with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    group = make_cli()
    try:
        rv = group.main(
            args=list(argv) if argv is not None else None, prog_name="vmctl", standalone_mode=False
        )
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)
        return EXIT_USAGE
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"vmctl: error: {exc.format_message()}{hint}", err=True)
        return EXIT_USAGE
    except ConfigError as exc:
        click.echo(f"vmctl: error: {exc}", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"vmctl: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.Abort:
        click.echo("vmctl: aborted", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return rv if isinstance(rv, int) else 0


def main() -> None:
    """Console-script entry point of ``vmctl``."""
    global _exit_fast
    _exit_fast = True
    sys.exit(run_cli())
