"""The 16550 UART model, register by register, as a Linux 8250 driver would drive it."""

from __future__ import annotations

import io

import pytest
from toy_machine import Toy32

from vmcore import Machine
from vmcore.components import ConfigError
from vmcore.devices import uart16550 as u
from vmcore.devices.uart16550 import Uart16550, Uart16550Options
from vmcore.engines.interp import InterpEngine
from vmcore.mmu import FlatMmu
from vmcore.plugins import Registry, make_plugin_manager


class Line:
    """Records interrupt-line levels."""

    def __init__(self) -> None:
        self.levels: list[bool] = []

    def __call__(self, level: bool) -> None:
        self.levels.append(level)


@pytest.fixture
def uart() -> Uart16550:
    return Uart16550(Uart16550Options(), output=io.BytesIO(), irq_callback=Line())


def rd(dev: Uart16550, reg: int) -> int:
    return dev.mmio_read(reg << dev.options.reg_shift, 1)


def wr(dev: Uart16550, reg: int, value: int) -> None:
    dev.mmio_write(reg << dev.options.reg_shift, 1, value)


def test_reset_state(uart):
    assert rd(uart, u.IIR) == 0x01  # no interrupt pending, FIFOs off
    assert rd(uart, u.LSR) == u.LSR_THRE | u.LSR_TEMT
    assert rd(uart, u.IER) == 0
    assert rd(uart, u.MSR) == u.MSR_CTS | u.MSR_DSR | u.MSR_DCD
    assert not uart.irq_level


def test_transmit_goes_to_host_stream(uart):
    for ch in b"hi\n":
        wr(uart, u.THR, ch)
    assert uart.output.getvalue() == b"hi\n"


def test_bytes_go_out_whole_even_before_lcr_is_programmed(uart):
    assert rd(uart, u.LCR) == 0  # 5 data bits after reset on a real part
    wr(uart, u.THR, 0xC1)
    assert uart.output.getvalue() == b"\xc1"


def test_divisor_latch_shadows_rbr_thr_and_ier(uart):
    wr(uart, u.IER, 0x05)
    wr(uart, u.LCR, u.LCR_DLAB | 0x03)
    wr(uart, u.DLL, 0x01)
    wr(uart, u.DLM, 0x02)
    assert (rd(uart, u.DLL), rd(uart, u.DLM)) == (0x01, 0x02)
    assert uart.output.getvalue() == b""  # the DLL write did not transmit
    wr(uart, u.LCR, 0x03)
    assert rd(uart, u.IER) == 0x05
    assert rd(uart, u.LCR) == 0x03


def test_scratch_register(uart):
    wr(uart, u.SCR, 0x5A)
    assert rd(uart, u.SCR) == 0x5A


def test_receive_without_fifo_holds_one_byte_and_keeps_the_rest(uart):
    uart.feed(b"ab")
    assert rd(uart, u.LSR) & u.LSR_DR
    assert len(uart.rx) == 1 and list(uart.pending) == [ord("b")]
    assert rd(uart, u.RBR) == ord("a")
    assert rd(uart, u.RBR) == ord("b")
    assert not rd(uart, u.LSR) & u.LSR_DR
    assert rd(uart, u.RBR) == 0  # empty: reads as 0


def test_receive_interrupt_raised_and_cleared_by_reading(uart):
    wr(uart, u.IER, u.IER_RDI)
    assert not uart.irq_level
    uart.feed(b"x")
    assert uart.irq_level and uart.irq_callback.levels == [True]
    assert rd(uart, u.IIR) == u.IIR_RDI
    assert rd(uart, u.RBR) == ord("x")
    assert not uart.irq_level and uart.irq_callback.levels == [True, False]
    assert rd(uart, u.IIR) == u.IIR_NONE


def test_fifo_trigger_level_and_timeout(uart):
    wr(uart, u.FCR, 0x40 | u.FCR_ENABLE)  # trigger at 4 bytes
    wr(uart, u.IER, u.IER_RDI)
    uart.feed(b"abc")
    assert rd(uart, u.IIR) == u.IIR_FIFO | u.IIR_CTI  # below the trigger: timeout
    uart.feed(b"defghijklmnopqrstu")  # 21 bytes in all: 16 fit
    assert len(uart.rx) == 16 and len(uart.pending) == 5
    assert rd(uart, u.IIR) == u.IIR_FIFO | u.IIR_RDI
    got = bytes(rd(uart, u.RBR) for _ in range(21))
    assert got == b"abcdefghijklmnopqrstu"
    assert rd(uart, u.IIR) == u.IIR_FIFO | u.IIR_NONE


def test_fcr_clears_receive_fifo(uart):
    wr(uart, u.FCR, u.FCR_ENABLE)
    uart.feed(b"abc")
    wr(uart, u.FCR, u.FCR_ENABLE | u.FCR_CLEAR_RX)
    assert not rd(uart, u.LSR) & u.LSR_DR


def test_thr_empty_interrupt_on_enable_and_after_each_write(uart):
    wr(uart, u.IER, u.IER_THRI)
    assert uart.irq_level
    assert rd(uart, u.IIR) == u.IIR_THRI
    assert not uart.irq_level  # reading IIR acknowledged it
    wr(uart, u.THR, ord("z"))
    assert uart.irq_level
    wr(uart, u.IER, 0)
    assert not uart.irq_level


def test_interrupt_priority_line_status_first(uart):
    wr(uart, u.MCR, u.MCR_LOOP)
    wr(uart, u.IER, u.IER_RLSI | u.IER_RDI | u.IER_THRI)
    wr(uart, u.THR, 1)  # loopback: fills the 1-byte holding register
    wr(uart, u.THR, 2)  # overrun
    assert rd(uart, u.IIR) == u.IIR_RLSI
    assert rd(uart, u.LSR) & u.LSR_OE
    assert not rd(uart, u.LSR) & u.LSR_OE  # cleared by reading LSR
    assert rd(uart, u.IIR) == u.IIR_RDI
    assert rd(uart, u.RBR) == 1
    assert rd(uart, u.IIR) == u.IIR_THRI


def test_loopback_modem_lines_and_deltas(uart):
    wr(uart, u.MCR, u.MCR_LOOP)
    msr = rd(uart, u.MSR)
    assert msr & 0xF0 == 0
    assert msr & u.MSR_DELTAS == 0b1011  # CTS, DSR, DCD dropped
    assert rd(uart, u.MSR) & u.MSR_DELTAS == 0  # deltas clear on read
    wr(uart, u.MCR, u.MCR_LOOP | u.MCR_RTS | u.MCR_OUT1)
    assert rd(uart, u.MSR) == u.MSR_CTS | u.MSR_RI | 0b0001
    wr(uart, u.MCR, u.MCR_LOOP)
    assert rd(uart, u.MSR) == 0b0101  # CTS delta, trailing edge of RI


def test_modem_status_interrupt(uart):
    wr(uart, u.IER, u.IER_MSI)
    wr(uart, u.MCR, u.MCR_LOOP | u.MCR_DTR)
    assert uart.irq_level and rd(uart, u.IIR) == u.IIR_MSI
    rd(uart, u.MSR)
    assert not uart.irq_level


def test_loopback_does_not_reach_host(uart):
    wr(uart, u.MCR, u.MCR_LOOP)
    wr(uart, u.THR, ord("q"))
    assert uart.output.getvalue() == b""
    assert rd(uart, u.RBR) == ord("q")


def test_reg_shift_spaces_registers():
    dev = Uart16550(Uart16550Options(reg_shift=2), output=io.BytesIO())
    assert dev.size == 32
    dev.mmio_write(7 << 2, 4, 0x1234_56AB)  # SCR, 32-bit access: low byte counts
    assert dev.mmio_read(7 << 2, 4) == 0xAB
    assert dev.mmio_read(7 << 2 | 1, 1) == 0  # between registers: nothing


def test_options_convert_strings_and_reject_bad_values():
    opts = Uart16550Options(base="0x10000000", irq="10", reg_shift="2")
    assert (opts.base, opts.irq, opts.reg_shift) == (0x1000_0000, 10, 2)
    with pytest.raises(ValueError):
        Uart16550Options(reg_shift=7)
    with pytest.raises(ValueError):
        Uart16550Options(input="keyboard")


def test_factory_maps_device_wires_irq_and_writes_file(tmp_path):
    class Board:
        lines: dict[int, Line] = {}

        def irq_line(self, n: int) -> Line:
            return self.lines.setdefault(n, Line())

    reg = Registry.from_plugin_manager(make_plugin_manager(entry_points=False))
    comp = reg.get("device", "uart16550")
    out = tmp_path / "serial.txt"
    options = comp.make_options({"base": "0x9000", "irq": "3", "output": str(out)})
    machine = Machine(Toy32(), engine=InterpEngine, mmu=FlatMmu)
    machine.board = Board()
    dev = comp.load()(machine, "serial0", options)
    assert machine.devices["serial0"] is dev
    machine.bus.write(0x9000 + u.IER, 1, u.IER_THRI)
    assert Board.lines[3].levels == [True]
    for ch in b"ok":
        machine.bus.write(0x9000 + u.THR, 1, ch)
    assert out.read_bytes() == b"ok"
    with pytest.raises(ConfigError, match="valid options: base, irq, reg_shift"):
        comp.make_options({"bsae": 1})


def test_stdin_input_reaches_the_guest_through_machine_events(monkeypatch):
    import os
    import time

    r, w = os.pipe()
    monkeypatch.setattr("sys.stdin", os.fdopen(r, "rb", buffering=0))
    machine = Machine(Toy32(), engine=InterpEngine, mmu=FlatMmu)
    reg = Registry.from_plugin_manager(make_plugin_manager(entry_points=False))
    comp = reg.get("device", "uart16550")
    dev = comp.load()(machine, "tty", comp.make_options({"input": "stdin", "output": "null"}))
    os.write(w, b"ls\n")
    deadline = time.monotonic() + 10
    while len(dev.rx) + len(dev.pending) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
        machine._idle_insns += u.STDIN_POLL_NS  # let machine time pass: the poll event fires
        machine._fire_due_events()
    assert bytes(rd(dev, u.RBR) for _ in range(3)) == b"ls\n"
    os.close(w)
