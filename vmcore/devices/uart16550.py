"""A National Semiconductor 16550A UART, the serial port every OS has a driver for.

Registers (offset ``n << reg_shift`` from the base)::

    0  RBR (read) / THR (write)       DLL when LCR.DLAB=1
    1  IER                            DLM when LCR.DLAB=1
    2  IIR (read) / FCR (write)
    3  LCR   4 MCR   5 LSR   6 MSR   7 SCR

Transmission is instantaneous: a byte written to THR goes straight to the host stream, so
THRE/TEMT are always set and the THR-empty interrupt is raised right after each write (as
QEMU does). Received bytes wait in a host-side queue until the receive FIFO (16 bytes, or 1
with FIFOs off) has room, so a host never overruns the guest; in loopback mode THR feeds the
FIFO directly and can overrun it. The character-timeout interrupt is reported as soon as
the FIFO holds data below the trigger level (no 4-character delay). Bytes go out whole
whatever LCR's word length says (as QEMU does), so bare-metal code that never programs LCR
still prints. The interrupt output is
a level passed to ``irq_callback`` whenever it changes.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import attrs

from vmcore.config import parse_int

if TYPE_CHECKING:
    from vmcore.machine import Machine

RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)
THR, FCR, DLL, DLM = RBR, IIR, RBR, IER

IER_RDI, IER_THRI, IER_RLSI, IER_MSI = 0x01, 0x02, 0x04, 0x08
IIR_NONE, IIR_MSI, IIR_THRI, IIR_RDI, IIR_RLSI, IIR_CTI = 0x01, 0x00, 0x02, 0x04, 0x06, 0x0C
IIR_FIFO = 0xC0
FCR_ENABLE, FCR_CLEAR_RX = 0x01, 0x02
LCR_DLAB = 0x80
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10
LSR_DR, LSR_OE, LSR_THRE, LSR_TEMT = 0x01, 0x02, 0x20, 0x40
MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80
MSR_DELTAS = 0x0F

FIFO_SIZE = 16
#: receive-FIFO trigger levels selected by FCR bits 7:6
RX_TRIGGER = (1, 4, 8, 14)
#: modem status lines mirrored from MCR outputs in loopback mode: (MCR bit, MSR bit)
LOOPBACK_LINES = ((MCR_RTS, MSR_CTS), (MCR_DTR, MSR_DSR), (MCR_OUT1, MSR_RI), (MCR_OUT2, MSR_DCD))
#: modem status outside loopback: a terminal is attached and ready (CTS, DSR, DCD)
MSR_IDLE = MSR_CTS | MSR_DSR | MSR_DCD
#: how often (machine time) a UART reading host stdin looks for new bytes
STDIN_POLL_NS = 1_000_000


@attrs.define
class Uart16550Options:
    """Options of the ``uart16550`` device (``--device uart16550,base=0x10000000,irq=10``)."""

    #: physical address of register 0
    base: int = attrs.field(default=0x1000_0000, converter=parse_int)
    #: interrupt line at the board's interrupt controller
    irq: int = attrs.field(default=10, converter=parse_int)
    #: registers are ``1 << reg_shift`` bytes apart (0 on PCs and QEMU virt, 2 on many SoCs)
    reg_shift: int = attrs.field(
        default=0, converter=parse_int, validator=attrs.validators.in_(range(4))
    )
    #: input clock in Hz (baud = clock / (16 * divisor)); reported in the device tree
    clock: int = attrs.field(default=3_686_400, converter=parse_int)
    #: where transmitted bytes go: "stdout", "stderr", "null" or a file path (appended to)
    output: str = "stdout"
    #: where received bytes come from: "none" (only :meth:`Uart16550.feed`) or "stdin"
    input: str = attrs.field(default="none", validator=attrs.validators.in_(("none", "stdin")))


class Uart16550:
    """The register model. ``output`` receives transmitted bytes; ``irq_callback(level)``
    is called when the interrupt output changes."""

    def __init__(
        self,
        options: Uart16550Options | None = None,
        output: IO[bytes] | None = None,
        irq_callback: Callable[[bool], None] | None = None,
    ) -> None:
        self.options = options or Uart16550Options()
        self.output = output if output is not None else sys.stdout.buffer
        self.irq_callback = irq_callback
        #: bytes from the host not yet in the receive FIFO
        self.pending: deque[int] = deque()
        self.rx: deque[int] = deque()
        self.irq_level = False
        self.reset()

    @property
    def size(self) -> int:
        """Bytes of address space the register window takes."""
        return 8 << self.options.reg_shift

    def reset(self) -> None:
        self.ier = self.lcr = self.mcr = self.scr = self.fcr = 0
        self.dll, self.dlm = 0x0C, 0x00  # 9600 baud at 1.8432 MHz, as a PC BIOS leaves it
        self.msr = MSR_IDLE
        self.overrun = False
        self.thr_pending = False
        self.rx.clear()
        self._fill()
        self._update_irq()

    # -- host side ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes arriving on the serial line from the host."""
        self.pending.extend(data)
        self._fill()
        self._update_irq()

    def _fill(self) -> None:
        room = self._fifo_size() - len(self.rx)
        while room > 0 and self.pending:
            self.rx.append(self.pending.popleft())
            room -= 1

    def _fifo_size(self) -> int:
        return FIFO_SIZE if self.fcr & FCR_ENABLE else 1

    def _transmit(self, byte: int) -> None:
        if self.mcr & MCR_LOOP:
            if len(self.rx) < self._fifo_size():
                self.rx.append(byte)
            else:
                self.overrun = True
        else:
            self.output.write(bytes((byte,)))
            self.output.flush()
        self.thr_pending = True

    # -- interrupts --------------------------------------------------------------------------

    def interrupt_id(self) -> int:
        """The highest-priority pending, enabled interrupt (IIR bits 3:0)."""
        if self.ier & IER_RLSI and self.overrun:
            return IIR_RLSI
        if self.ier & IER_RDI and self.rx:
            below = self.fcr & FCR_ENABLE and len(self.rx) < RX_TRIGGER[self.fcr >> 6]
            return IIR_CTI if below else IIR_RDI
        if self.ier & IER_THRI and self.thr_pending:
            return IIR_THRI
        if self.ier & IER_MSI and self.msr & MSR_DELTAS:
            return IIR_MSI
        return IIR_NONE

    def _update_irq(self) -> None:
        level = self.interrupt_id() != IIR_NONE
        if level != self.irq_level:
            self.irq_level = level
            if self.irq_callback is not None:
                self.irq_callback(level)

    # -- registers ---------------------------------------------------------------------------

    def _reg(self, offset: int) -> int | None:
        shift = self.options.reg_shift
        if offset & ((1 << shift) - 1):
            return None
        return offset >> shift

    def mmio_read(self, offset: int, size: int) -> int:
        reg = self._reg(offset)
        value = 0 if reg is None else _READS[reg](self)
        self._update_irq()
        return value

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        reg = self._reg(offset)
        if reg is not None:
            _WRITES[reg](self, value & 0xFF)
            self._update_irq()

    def _read_rbr(self) -> int:
        if self.lcr & LCR_DLAB:
            return self.dll
        byte = self.rx.popleft() if self.rx else 0
        self._fill()
        return byte

    def _read_ier(self) -> int:
        return self.dlm if self.lcr & LCR_DLAB else self.ier

    def _read_iir(self) -> int:
        iid = self.interrupt_id()
        if iid == IIR_THRI:
            self.thr_pending = False
        return iid | (IIR_FIFO if self.fcr & FCR_ENABLE else 0)

    def _read_lsr(self) -> int:
        lsr = LSR_THRE | LSR_TEMT | (LSR_DR if self.rx else 0) | (LSR_OE if self.overrun else 0)
        self.overrun = False
        return lsr

    def _read_msr(self) -> int:
        msr = self.msr
        self.msr &= ~MSR_DELTAS
        return msr

    def _write_thr(self, value: int) -> None:
        if self.lcr & LCR_DLAB:
            self.dll = value
        else:
            self._transmit(value)

    def _write_ier(self, value: int) -> None:
        if self.lcr & LCR_DLAB:
            self.dlm = value
            return
        if value & IER_THRI and not self.ier & IER_THRI:
            self.thr_pending = True  # the transmitter is empty: say so at once
        self.ier = value & 0x0F

    def _write_fcr(self, value: int) -> None:
        if (value ^ self.fcr) & FCR_ENABLE or value & FCR_CLEAR_RX:
            self.rx.clear()
        self.fcr = value & (0xC0 | FCR_ENABLE)
        self._fill()

    def _write_lcr(self, value: int) -> None:
        self.lcr = value

    def _write_mcr(self, value: int) -> None:
        self.mcr = value & 0x1F
        old = self.msr
        if self.mcr & MCR_LOOP:
            status = 0
            for mcr_bit, msr_bit in LOOPBACK_LINES:
                if self.mcr & mcr_bit:
                    status |= msr_bit
        else:
            status = MSR_IDLE
        changed = (old ^ status) & 0xF0
        deltas = (changed & (MSR_CTS | MSR_DSR | MSR_DCD)) >> 4
        if old & MSR_RI and not status & MSR_RI:
            deltas |= MSR_RI >> 4  # TERI: trailing edge of ring indicator
        self.msr = status | (old & MSR_DELTAS) | deltas

    def _write_scr(self, value: int) -> None:
        self.scr = value

    def _ignore(self, value: int) -> None:
        """LSR and MSR are read-only (writes are for factory testing on real parts)."""

    def device_tree(self) -> dict[str, Any]:
        """Properties of this UART's device-tree node, for boards that build a DTB."""
        o = self.options
        return {
            "node": f"serial@{o.base:x}",
            "compatible": "ns16550a",
            "reg": (o.base, self.size),
            "interrupts": (o.irq,),
            "clock-frequency": o.clock,
            "reg-shift": o.reg_shift,
        }


_READS: tuple[Callable[[Uart16550], int], ...] = (
    Uart16550._read_rbr,
    Uart16550._read_ier,
    Uart16550._read_iir,
    lambda u: u.lcr,
    lambda u: u.mcr,
    Uart16550._read_lsr,
    Uart16550._read_msr,
    lambda u: u.scr,
)
_WRITES: tuple[Callable[[Uart16550, int], None], ...] = (
    Uart16550._write_thr,
    Uart16550._write_ier,
    Uart16550._write_fcr,
    Uart16550._write_lcr,
    Uart16550._write_mcr,
    Uart16550._ignore,
    Uart16550._ignore,
    Uart16550._write_scr,
)


def _open_output(spec: str) -> IO[bytes]:
    streams = {"stdout": lambda: sys.stdout.buffer, "stderr": lambda: sys.stderr.buffer}
    if spec in streams:
        return streams[spec]()
    if spec == "null":
        return open(os.devnull, "wb")  # lives as long as the device
    return open(spec, "ab")


def _read_stdin(uart: Uart16550, machine: Machine) -> None:
    """Feed host stdin to the UART: a reader thread queues bytes, a machine event moves
    them into the device (devices are only touched from the machine's thread)."""
    incoming: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    fd = sys.stdin.fileno()

    def reader() -> None:
        while data := os.read(fd, 1024):
            incoming.put(data)

    def poll() -> None:
        while not incoming.empty():
            uart.feed(incoming.get_nowait())
        machine.schedule(STDIN_POLL_NS, poll)

    threading.Thread(target=reader, name="uart-stdin", daemon=True).start()
    machine.schedule(STDIN_POLL_NS, poll)


def create(machine: Machine, name: str, options: Uart16550Options | None) -> Uart16550:
    """Device factory: map the UART on the bus and wire its interrupt.

    The interrupt goes to ``machine.board.irq_line(options.irq)`` when the board has an
    interrupt controller (see docs/contracts.md); otherwise ``irq_callback`` stays None
    and whoever owns the machine may set it.
    """
    options = options or Uart16550Options()
    uart = Uart16550(options, output=_open_output(options.output))
    irq_line = getattr(machine.board, "irq_line", None)
    if irq_line is not None:
        uart.irq_callback = irq_line(options.irq)
    machine.bus.add_mmio(options.base, uart.size, uart, name)
    machine.add_device(name, uart)
    if options.input == "stdin":
        _read_stdin(uart, machine)
    return uart
