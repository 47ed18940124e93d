"""Instruction tracing for any machine: step one instruction per hart at a time and print
each hart's pc and disassembly before it executes (``vmctl machine --trace``).

Slow by design (one run-loop round trip per instruction); it needs nothing from the engine
or the ISA beyond lifting and ``Isa.disasm``, so it works for every pairing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from vmcore.ir import GuestTrap
from vmcore.machine import StopReason
from vmcore.memory import BusError

if TYPE_CHECKING:
    from vmcore.cpu import Cpu
    from vmcore.machine import Machine

__all__ = ["describe_next", "run_traced"]


def describe_next(machine: Machine, cpu: Cpu) -> str:
    """``hart pc: instruction`` for the instruction ``cpu`` is about to execute."""
    pc = cpu.pc
    try:
        ins = machine.engine.lift(cpu, pc, max_insns=1).insns[0]
        text = machine.isa.disasm(ins.bits, ins.length, pc)
    except (GuestTrap, BusError):
        text = "(fetch fault)"  # taken, and handled by the ISA, when the hart runs it
    return f"{cpu.index}: {pc:#018x}: {text}"


def run_traced(machine: Machine, out: TextIO, limit: int | None = None) -> str:
    """Like :meth:`Machine.run`, printing every instruction to ``out`` before it runs."""
    steps = 0
    while limit is None or steps < limit:
        for cpu in machine.cpus:
            if not cpu.waiting:
                print(describe_next(machine, cpu), file=out)
        reason = machine.run(limit=1)
        steps += 1
        if reason != StopReason.LIMIT:
            return reason
    return StopReason.LIMIT
