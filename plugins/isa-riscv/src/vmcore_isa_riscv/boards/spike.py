"""The ``spike`` board: what riscv-tests, riscv-arch-test and bare-metal demos expect.

Memory map (Spike's): RAM at 0x8000_0000 (``config.memory``), a CLINT at 0x0200_0000. The
kernel ELF's PT_LOAD segments are copied into RAM and every hart starts at its entry point
in M mode.

HTIF, Spike's host interface, is two 64-bit words in guest RAM named by the ELF symbols
``tohost`` and ``fromhost``. The board polls ``tohost`` every :data:`POLL_NS` of machine time
(Spike checks it every 5000 instructions too). A command is ``device << 56 | cmd << 48 |
payload``:

- device 0 (syscall proxy), payload odd: exit with status ``payload >> 1`` (riscv-tests
  write 1 to pass and ``testnum << 1 | 1`` to fail); payload even: the address of a
  ``magic_mem`` block ``[n, a0, a1, a2 ...]`` for a proxied syscall (``write`` and ``exit``);
- device 1 (console), command 1: write the payload's low byte to the console.

Each handled command clears ``tohost`` and answers in ``fromhost`` as Spike does. On exit,
``config.signature`` receives the words between ``begin_signature`` and ``end_signature``,
one 32-bit little-endian word per line in hex, like Spike's ``+signature=``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from vmcore import BusError, ConfigError
from vmcore_isa_riscv import csr
from vmcore_isa_riscv.devices.clint import Clint, ClintOptions
from vmcore_isa_riscv.linux import EM_RISCV

if TYPE_CHECKING:
    from vmcore import Machine

RAM_BASE = 0x8000_0000
CLINT_BASE = 0x0200_0000
DEFAULT_MEMORY = 256 << 20
#: how often (machine time) HTIF looks at tohost
POLL_NS = 5_000

SYS_WRITE = 64
SYS_EXIT = 93
ENOSYS = 38
EFAULT = 14
#: largest proxied write, so a wild length cannot copy all of RAM
MAX_WRITE = 1 << 20
MASK64 = (1 << 64) - 1


def load_elf(path: str | None, what: str = "kernel") -> tuple[Any, dict[str, int]]:
    """Parse a bare-metal RISC-V ELF: the image and its symbols (name -> address).

    Every problem (missing file, not an ELF, wrong machine, broken symbol table) is a
    :class:`ConfigError` naming the file.
    """
    from vmcore.linux_user.elf import ElfError, parse_elf

    if not path:
        raise ConfigError(f"{what}: the spike board needs a bare-metal ELF (--kernel FILE)")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        image = parse_elf(data, machine=EM_RISCV, what=what)
    except ElfError as exc:
        raise ConfigError(f"{what}: {path}: {exc}") from None
    return image, _symbols(data, path, what)


def _symbols(data: bytes, path: str, what: str) -> dict[str, int]:
    import io

    try:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
    except ImportError:
        raise ConfigError(
            "the spike board reads ELF symbols with pyelftools: pip install pyelftools"
        ) from None

    try:
        elf = ELFFile(io.BytesIO(data))
        symtab = elf.get_section_by_name(".symtab")
        if symtab is None or not hasattr(symtab, "iter_symbols"):
            return {}
        return {sym.name: sym["st_value"] for sym in symtab.iter_symbols() if sym.name}
    except (ELFError, ValueError, KeyError, IndexError) as exc:  # malformed section headers
        raise ConfigError(f"{what}: {path}: cannot read the symbol table: {exc}") from None


class Htif:
    """tohost/fromhost polling and the two devices riscv-tests and newlib ports use."""

    def __init__(
        self, machine: Machine, tohost: int, fromhost: int | None, output: IO[bytes] | None = None
    ) -> None:
        self.machine = machine
        self.tohost = tohost
        self.fromhost = fromhost
        self.output = output if output is not None else sys.stdout.buffer
        #: called with the exit status just before the machine halts (signature dump)
        self.on_exit: list = []
        self._event = machine.schedule(POLL_NS, self.poll)

    def poll(self) -> None:
        value = self.machine.bus.read(self.tohost, 8)
        if value:
            self.handle(value)
        if self.machine.exit_code is None and not self._deadlocked():
            self._event = self.machine.schedule(POLL_NS, self.poll)

    def _deadlocked(self) -> bool:
        """Every hart waits for an interrupt and no other event is scheduled: nothing can
        ever write tohost again, so stop polling and let the machine stop as idle (idle
        time retires no instructions, so an instruction limit would never end the run)."""
        m = self.machine
        for cpu in m.cpus:
            v = cpu.arch.csrs.values
            if not cpu.waiting or v[csr.MIP] & v[csr.MIE]:
                return False
        return m.next_event_ns() is None

    def handle(self, value: int) -> None:
        device, cmd, payload = value >> 56, (value >> 48) & 0xFF, value & ((1 << 48) - 1)
        bus = self.machine.bus
        bus.write(self.tohost, 8, 0)
        if device == 0 and cmd == 0:
            if payload & 1:
                self.exit(payload >> 1)
                return
            self._syscall(payload)
            self._respond(1)
        elif device == 1 and cmd == 1:
            self.output.write(bytes([payload & 0xFF]))
            if payload & 0xFF == 10:
                self.output.flush()
            self._respond((1 << 56) | (1 << 48) | 0x100 | (payload & 0xFF))

    def _respond(self, value: int) -> None:
        if self.fromhost is not None:
            self.machine.bus.write(self.fromhost, 8, value)

    def _syscall(self, addr: int) -> None:
        """A proxied syscall; a bad guest pointer is the guest's EFAULT, never a host error."""
        bus = self.machine.bus
        try:
            n, a0, a1, a2 = (bus.read(addr + 8 * i, 8) for i in range(4))
        except BusError:
            return
        try:
            if n == SYS_WRITE and a0 in (1, 2):
                stream = self.output if a0 == 1 else sys.stderr.buffer
                stream.write(bus.read_bytes(a1, min(a2, MAX_WRITE)))
                stream.flush()
                ret = min(a2, MAX_WRITE)
            elif n == SYS_EXIT:
                self.exit(a0)
                ret = 0
            else:
                ret = -ENOSYS
        except BusError:
            ret = -EFAULT
        bus.write(addr, 8, ret & MASK64)

    def exit(self, status: int) -> None:
        self.output.flush()
        for callback in self.on_exit:
            callback(status)
        self.machine.halt(status)


class SpikeBoard:
    """Board factory ``(machine, config)``: maps RAM and the CLINT, loads the kernel."""

    def __init__(self, machine: Machine, config: Any) -> None:
        if getattr(config, "bios", None):
            raise ConfigError("bios: the spike board boots the kernel ELF directly; drop --bios")
        self.machine = machine
        self.config = config
        size = getattr(config, "memory", None) or DEFAULT_MEMORY
        self.ram = machine.bus.add_ram(RAM_BASE, size, "ram")
        self.clint = Clint(machine, ClintOptions(base=CLINT_BASE))
        machine.bus.add_mmio(CLINT_BASE, 0x10000, self.clint, "clint")
        machine.add_device("clint", self.clint)
        image, self.symbols = load_elf(getattr(config, "kernel", None))
        for seg in image.segments:
            if seg.vaddr < RAM_BASE or seg.end > RAM_BASE + size:
                raise ConfigError(
                    f"kernel: segment {seg.vaddr:#x}-{seg.end:#x} lies outside RAM "
                    f"{RAM_BASE:#x}-{RAM_BASE + size:#x} (link at 0x80000000 or raise --memory)"
                )
            machine.bus.write_bytes(seg.vaddr, image.segment_bytes(seg))
        self.reset_pc = image.entry
        self.htif: Htif | None = None
        if getattr(config, "signature", None) and not {
            "begin_signature",
            "end_signature",
        } <= set(self.symbols):
            raise ConfigError(
                f"signature: {config.kernel} has no begin_signature/end_signature symbols"
            )
        for sym in ("tohost", "fromhost"):
            addr = self.symbols.get(sym)
            if addr is not None and not RAM_BASE <= addr <= RAM_BASE + size - 8:
                raise ConfigError(f"kernel: {sym} at {addr:#x} is outside RAM")
        if "tohost" in self.symbols:
            self.htif = Htif(machine, self.symbols["tohost"], self.symbols.get("fromhost"))
            self.htif.on_exit.append(self._write_signature)

    def _write_signature(self, status: int) -> None:
        path = getattr(self.config, "signature", None)
        if not path:
            return
        begin, end = self.symbols["begin_signature"], self.symbols["end_signature"]
        data = self.machine.bus.read_bytes(begin, max(0, end - begin))
        words = [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4)]
        Path(path).write_text("".join(f"{w:08x}\n" for w in words))
