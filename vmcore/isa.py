"""What an ISA plugin provides: a register file description and an :class:`Isa` object.

The kernel and the engines only ever talk to a guest architecture through this interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from vmcore.ir import Access, Builder, GuestTrap

if TYPE_CHECKING:
    from vmcore.cpu import Cpu
    from vmcore.memory import BusError


@attrs.define(frozen=True)
class Reg:
    """One architectural register: ``name``, first state ``slot``, ``width`` in bits.

    ``group`` sorts registers for tracing and debuggers ("gpr", "fpr", "pc", "sys", ...);
    ``aliases`` are other names accepted by :meth:`RegisterFile.lookup` (ABI names).
    """

    name: str
    slot: int
    width: int = 64
    group: str = "gpr"
    aliases: tuple[str, ...] = ()


@attrs.define
class RegisterFile:
    """The layout of a hart's state array: every register and the slot of the pc."""

    regs: list[Reg]
    pc: int  #: slot of the program counter
    nslots: int  #: total number of 64-bit slots
    _by_name: dict[str, Reg] = attrs.field(init=False, factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        for r in self.regs:
            for n in (r.name, *r.aliases):
                self._by_name[n.lower()] = r

    def lookup(self, name: str) -> Reg:
        try:
            return self._by_name[name.lower()]
        except KeyError:
            raise KeyError(f"no register named {name!r}") from None

    def names(self) -> list[str]:
        return [r.name for r in self.regs]


@attrs.define(frozen=True)
class LinuxAbi:
    """How Linux user mode sees this ISA: syscall registers, ELF machine, hwcaps.

    ``syscall_nr``/``args``/``result`` are state slots; ``ecall_cause`` is the trap cause
    an ISA raises for a syscall instruction (the personality intercepts it);
    ``syscall_insn_len`` is added to the trap pc to resume after the syscall.
    """

    elf_machine: int
    syscall_nr: int
    args: tuple[int, ...]
    result: int
    sp: int
    ecall_cause: int
    syscall_insn_len: int
    hwcap: int = 0
    platform: str = ""
    #: trap causes mapped to a Linux signal number (SIGILL=4, SIGTRAP=5, SIGBUS=7, SIGSEGV=11)
    signals: dict[int, int] = attrs.field(factory=dict)
    #: slots to set at process start, e.g. {"a0": 0}
    initial: dict[int, int] = attrs.field(factory=dict)
    #: slot of the thread pointer, for set_tid_address/clone settls
    tp: int | None = None
    link_register: int | None = None
    #: ``uname -m`` (default: ``platform``, else the ISA's name)
    uname_machine: str = ""
    #: open(2) flags this ABI numbers differently from asm-generic, by name
    #: (arm64: ``{"O_DIRECTORY": 0o40000, "O_NOFOLLOW": 0o100000, "O_DIRECT": 0o200000,
    #: "O_LARGEFILE": 0o400000}``)
    open_flags: dict[str, int] = attrs.field(factory=dict)
    #: ``struct sigaction`` has ``sa_restorer`` (arm64, x86-64: 32 bytes; riscv64: 24)
    sa_restorer: bool = False


class Isa:
    """Base class of an instruction set. Subclasses fill in every method.

    One object per machine; per-hart architectural state beyond the slots (CSR files and
    the like) belongs in the object :meth:`create_state` returns, kept as ``cpu.arch``.
    """

    name: str = ""
    #: register size in bits (32 or 64)
    xlen: int = 64
    #: ``(capstone arch, capstone mode)`` for disassembly, or None
    capstone: tuple[int, int] | None = None
    #: name GDB uses for the architecture (``set architecture``)
    gdb_arch: str = ""
    regs: RegisterFile
    linux: LinuxAbi | None = None
    #: longest instruction in bytes (translation stops before crossing a page)
    max_insn_len: int = 4
    #: MMU used when a machine config names none (a registered "mmu" component)
    default_mmu: str = "flat"
    #: ``e_machine`` of ELF files for this ISA (``vmctl disasm``); 0 = use ``linux.elf_machine``
    elf_machine: int = 0

    def create_state(self, cpu: Cpu) -> Any:
        """Per-hart state that does not live in slots (CSRs ...)."""
        return None

    def reset(self, cpu: Cpu, pc: int) -> None:
        """Put the hart in its reset state, about to fetch at ``pc``."""
        raise NotImplementedError

    def mode_key(self, cpu: Cpu) -> int:
        """A small int naming everything that changes how code translates (privilege,
        paging on/off, FP enabled ...). Translations are cached per key."""
        return 0

    def lift(self, b: Builder, cpu: Cpu, pc: int) -> int:
        """Lift one instruction at virtual ``pc`` into ``b`` (starting with ``b.insn``).

        Fetch through ``cpu.fetch``; a fetch fault propagates as :class:`GuestTrap` or
        :class:`~vmcore.memory.BusError`. Undecodable bits lift to the ISA's illegal
        instruction trap. Returns the instruction's length in bytes.
        """
        raise NotImplementedError

    def enter_trap(self, cpu: Cpu, trap: GuestTrap, pc: int) -> int:
        """Take a synchronous trap or an interrupt raised at ``pc``; return the new pc."""
        raise NotImplementedError

    def bus_fault(self, err: BusError) -> GuestTrap:
        """The guest exception for a bus error (access fault)."""
        raise NotImplementedError

    def misaligned(self, access: Access, addr: int) -> GuestTrap:
        """The guest exception for a misaligned access that the ISA does not allow."""
        raise NotImplementedError

    def pending_interrupt(self, cpu: Cpu) -> GuestTrap | None:
        """An interrupt that is pending and enabled now, or None. Called between blocks."""
        return None

    def interrupt_waiting(self, cpu: Cpu) -> bool:
        """True when a pending interrupt should wake the hart from a wait-for-interrupt."""
        return self.pending_interrupt(cpu) is not None

    def disasm(self, bits: int, length: int, pc: int) -> str:
        """One instruction as text (capstone by default)."""
        from vmcore.disasm import disassemble_one

        return disassemble_one(self, bits, length, pc)
