"""Linux user-mode personality: run a static Linux executable of any installed ISA, as
``qemu-user`` does.

The ISA is picked from the ELF's ``e_machine`` among the installed ISA plugins (each
describes its Linux ABI in ``Isa.linux``); the engine is any installed engine. Nothing here
knows a particular ISA.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vmcore.components import ConfigError
from vmcore.isa import Isa
from vmcore.linux_user.elf import ElfError, machine_name, parse_elf, peek_machine
from vmcore.linux_user.mm import UserMmu
from vmcore.linux_user.process import Process
from vmcore.machine import Machine
from vmcore.tracing import Tracer

__all__ = ["ElfError", "Process", "build_process", "run_program", "select_isa"]

RUN_SLICE = 50_000_000  #: instructions per machine.run call (Ctrl-C is seen in between)
#: instructions per engine slice: user mode has no interrupts or timers to look at, so as
#: long as a machine.run call (each return to Python costs a native engine about 20 us:
#: lists 4000 on the jit, 485 returns at 10M, 97 here, 8 ms less)
USER_SLICE = RUN_SLICE


def select_isa(machine: int, isa: str | Isa | None = None, registry: Any = None) -> Isa:
    """The ISA object to run a program for ELF ``machine``.

    ``isa`` may be an :class:`Isa` (used as is), an installed ISA's name, or None (every
    installed ISA with a Linux ABI is asked whether it runs ``machine``).
    """
    if isinstance(isa, Isa):
        obj = isa
    else:
        if registry is None:
            from vmcore.plugins import get_registry

            registry = get_registry()
        if isa is not None:
            obj = registry.get("isa", isa).load()()
        else:
            found = []
            for comp in registry.all("isa"):
                try:
                    candidate = comp.load()()
                except Exception as exc:  # a broken plugin must not hide the others
                    found.append(f"{comp.name} (failed to load: {exc})")
                    continue
                linux = getattr(candidate, "linux", None)
                if linux is not None and linux.elf_machine == machine:
                    return candidate
                found.append(comp.name)
            have = ", ".join(found) or "none"
            raise ElfError(
                f"program is for {machine_name(machine)}; no installed ISA plugin runs it "
                f"(installed ISAs: {have})"
            )
    if obj.linux is None:
        raise ElfError(f"ISA {obj.name!r} does not support Linux user mode")
    if obj.linux.elf_machine != machine:
        raise ElfError(
            f"program is for {machine_name(machine)}, not {obj.name} "
            f"({machine_name(obj.linux.elf_machine)})"
        )
    return obj


def _engine_factory(engine: str | Callable, registry: Any = None) -> tuple[Callable, str]:
    if not isinstance(engine, str):
        return engine, getattr(engine, "name", "") or getattr(engine, "__name__", "engine")
    if registry is None:
        from vmcore.plugins import get_registry

        registry = get_registry()
    return registry.get("engine", engine).load(), engine


def build_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | Sequence[str] | None = None,
    engine: str | Callable = "interp",
    isa: str | Isa | None = None,
    strace: bool = False,
    sysroot: str | os.PathLike | None = None,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    registry: Any = None,
    **options: Any,
) -> Machine:
    """Load ``argv[0]`` and set up its process; return the machine, ready to run.

    The process is ``machine.process`` (a :class:`Process`). ``stdin``/``stdout``/
    ``stderr`` are the guest's fds 0-2: None for the host's own, a host fd (int), a Python
    stream, or (stdin only) bytes. Raises :class:`ElfError` when the file cannot be run,
    :class:`~vmcore.components.ConfigError` for an unknown engine or ISA name.
    """
    if not argv:
        raise ElfError("no program given")
    path = os.fspath(argv[0])
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except IsADirectoryError:
        raise ElfError(f"{path}: is a directory") from None
    except OSError as exc:
        raise ElfError(f"{path}: {exc.strerror or exc}") from None
    try:
        image = parse_elf(data, what=path)
        isa_obj = select_isa(peek_machine(data), isa, registry)
    except ElfError as exc:
        msg = str(exc)
        raise ElfError(msg if msg.startswith(path) else f"{path}: {msg}") from None
    if sysroot is not None and not os.path.isdir(sysroot):
        raise ConfigError(f"sysroot {os.fspath(sysroot)}: not a directory")
    factory, _ = _engine_factory(engine, registry)
    # no interrupts or devices here: long slices (each ends in an exact budget, which
    # costs engines a few single steps)
    machine = Machine(isa_obj, factory, UserMmu, slice_insns=USER_SLICE)
    if env is None:
        env = dict(os.environ)
    process = Process(
        machine,
        image,
        [os.fspath(a) for a in argv],
        env,
        exe=path,
        strace=strace,
        sysroot=sysroot,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        **options,
    )
    machine.process = process
    return machine


def run_program(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | Sequence[str] | None = None,
    engine: str | Callable = "interp",
    isa: str | Isa | None = None,
    strace: bool = False,
    sysroot: str | os.PathLike | None = None,
    trace: bool = False,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    stats: dict | None = None,
    limit: int | None = None,
    registry: Any = None,
) -> int:
    """Run a static Linux executable to completion; return its exit status (the guest's
    own, or 128 + signal when a signal killed it, 130 on Ctrl-C).

    ``trace`` prints every executed instruction to stderr (slow). ``stats``, if given, is
    filled with ``instructions``, ``seconds``, ``engine`` and ``syscalls``. ``limit`` stops
    a runaway guest after that many instructions (status 124, like timeout(1)).
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    machine = build_process(
        argv,
        env=env,
        engine=engine,
        isa=isa,
        strace=strace,
        sysroot=sysroot,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        registry=registry,
    )
    process: Process = machine.process
    _, engine_name = _engine_factory(engine, registry)
    t0 = time.perf_counter()
    status: int
    try:
        try:
            if trace:
                _run_traced(machine, process, limit)
            else:
                _run(machine, limit)
        except KeyboardInterrupt:
            process.message("interrupted")
            process.exit_status = 130
        if process.exit_status is not None:
            status = process.exit_status
        else:
            process.message(
                f"guest stopped after {sum(c.instret for c in machine.cpus)} "
                f"instructions without exiting ({machine.stop_reason})"
            )
            status = 124
    finally:
        process.close()
        if stats is not None:
            stats.update({k: v for k, v in machine.engine.stats.items() if isinstance(v, int)})
            stats.update(
                instructions=sum(c.instret for c in machine.cpus),
                seconds=time.perf_counter() - t0,
                engine=engine_name,
                syscalls=process.syscall_count,
            )
    return status


def _run(machine: Machine, limit: int | None) -> None:
    left = limit
    while True:
        reason = machine.run(limit=RUN_SLICE if left is None else min(left, RUN_SLICE))
        if reason != "limit":
            return
        if left is not None:
            left -= RUN_SLICE
            if left <= 0:
                return


def _run_traced(machine: Machine, process: Process, limit: int | None) -> None:
    """One line per instruction (vmcore.tracing) into the process's log stream."""

    class _Log:
        def write(self, text: str) -> None:
            process.trace_line(text.rstrip("\n"))

    Tracer(machine, _Log()).run(limit)
