"""Instruction tracing for any machine (``--trace``): one line per executed instruction.

Each line shows the hart, the pc, the instruction bits, the disassembly and the registers
the instruction wrote, e.g.::

    0 0x0000000080000004 00a58593  addi a1, a1, 0xa           a1=0x000000000000000a

Slow by design: the machine runs one instruction at a time. It needs nothing from the
engine or the ISA beyond lifting, ``Isa.disasm`` and the register description, so it works
for every pairing, and the normal run loop pays nothing for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from vmcore.ir import GuestTrap
from vmcore.machine import StopReason
from vmcore.memory import BusError

if TYPE_CHECKING:
    from vmcore.cpu import Cpu
    from vmcore.machine import Machine

__all__ = ["Tracer", "describe_next", "run_traced"]


def describe_next(machine: Machine, cpu: Cpu) -> str:
    """``bits  disassembly`` of the instruction ``cpu`` is about to execute."""
    pc = cpu.pc
    try:
        ins = machine.engine.lift(cpu, pc, max_insns=1).insns[0]
    except (GuestTrap, BusError):
        return "(fetch fault)"  # taken, and handled by the ISA, when the hart runs it
    text = machine.isa.disasm(ins.bits, ins.length, pc)
    return f"{ins.bits:0{2 * ins.length}x}  {text}"


class Tracer:
    """Prints what each instruction did: registers written, or the trap it took."""

    def __init__(self, machine: Machine, out: TextIO) -> None:
        self.machine = machine
        self.out = out
        regs = machine.isa.regs
        self._watch = [r for r in regs.regs if r.slot != regs.pc]
        self._pc_slot = regs.pc

    def _changes(self, cpu: Cpu, before: list[int]) -> str:
        out = []
        for reg in self._watch:
            slots = range(reg.slot, reg.slot + (reg.width + 63) // 64)
            if any(cpu.s[i] != before[i] for i in slots):
                value = cpu.read_reg(reg.name)
                name = reg.aliases[0] if reg.aliases else reg.name
                out.append(f"{name}={value:#0{2 + (reg.width + 3) // 4}x}")
        return " ".join(out)

    def run(self, limit: int | None = None) -> str:
        """Like :meth:`Machine.run`, tracing every instruction."""
        machine = self.machine
        steps = 0
        while limit is None or steps < limit:
            live = [c for c in machine.cpus if not c.waiting]
            snap = {c.index: (c.pc, list(c.s), c.instret, describe_next(machine, c)) for c in live}
            reason = machine.run(limit=len(machine.cpus))  # one instruction per hart
            for cpu in live:
                pc, before, instret, text = snap[cpu.index]
                note = self._changes(cpu, before)
                if cpu.instret == instret and cpu.pc != pc:
                    note = f"trap -> {cpu.pc:#x} {note}".rstrip()
                self.out.write(f"{cpu.index} {pc:#018x} {text:<44} {note}".rstrip() + "\n")
            steps += 1
            if reason != StopReason.LIMIT:
                return reason
        return StopReason.LIMIT


def run_traced(machine: Machine, out: TextIO, limit: int | None = None) -> str:
    """Run ``machine`` printing one line per executed instruction to ``out``."""
    return Tracer(machine, out).run(limit)
