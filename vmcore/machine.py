"""A machine: harts, a bus, devices and a board, run by one engine with an event scheduler.

The run loop gives each hart a slice of instructions bounded by the next timer event,
processes due events, and repeats until a halt, a stop request or the instruction limit.
Virtual time advances with retired instructions (``ns_per_insn``); with ``clock="host"``
it follows the host's monotonic clock instead.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vmcore.cpu import Cpu
from vmcore.ir import GuestTrap
from vmcore.memory import Bus

if TYPE_CHECKING:
    from vmcore.engines.base import Engine
    from vmcore.isa import Isa
    from vmcore.mmu import Mmu

#: most instructions a hart runs before the machine looks at events and the other harts
DEFAULT_SLICE = 20_000


#: CPython garbage-collector thresholds while a machine runs. Translations allocate many
#: small container objects (IR ops and values, closures) that live as long as the
#: translation cache; with the default (700, 10, 10) the cyclic collector keeps walking
#: them again and took 8-22% of JIT runs in profiles (young-generation passes alone were
#: still 20% of a short jit run at 10,000). Emulation makes almost no reference
#: cycles, so collecting less often costs no memory to speak of.
RUN_GC_THRESHOLDS = (100_000, 50, 1_000)


class Event:
    """A scheduled callback; ``cancel()`` before it fires to drop it."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: int, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class StopReason:
    """Why :meth:`Machine.run` returned."""

    HALT = "halt"  #: the guest asked to power off / exit (``exit_code`` is set)
    LIMIT = "limit"  #: the instruction limit was reached
    STOP = "stop"  #: someone called :meth:`Machine.request_stop` (debugger, device)
    IDLE = "idle"  #: every hart waits for an interrupt and no event will ever come


class Machine:
    """Assembled machine. Normally built by :func:`vmcore.build.build_machine` from a config.

    :param isa: the guest instruction set object.
    :param engine: factory ``(machine) -> Engine``.
    :param mmu: factory ``(cpu) -> Mmu``.
    :param smp: number of harts.
    """

    def __init__(
        self,
        isa: Isa,
        engine: Callable[[Machine], Engine],
        mmu: Callable[[Cpu], Mmu],
        smp: int = 1,
        clock: str = "virtual",
        ns_per_insn: int = 1,
        slice_insns: int = DEFAULT_SLICE,
    ) -> None:
        self.isa = isa
        self.bus = Bus()
        self.devices: dict[str, Any] = {}
        self.board: Any = None
        self.config: Any = None
        self.clock = clock
        self.ns_per_insn = ns_per_insn
        self.slice_insns = slice_insns
        self.cpus = [Cpu(self, i, isa) for i in range(smp)]
        for cpu in self.cpus:
            cpu.mmu = mmu(cpu)
        self._engine_factory = engine
        self._engine: Engine | None = None
        self._events: list[tuple[int, int, Event]] = []
        self._seq = itertools.count()
        self._host_t0 = time.monotonic_ns()
        self._idle_insns = 0  # virtual time skipped while every hart waited
        self.exit_code: int | None = None
        self.stop_reason: str | None = None
        #: trap interceptors tried before the ISA (Linux user mode, debuggers): each
        #: ``(cpu, trap, pc) -> new pc or None``
        self.trap_hooks: list[Callable[[Cpu, GuestTrap, int], int | None]] = []
        self.hooks: Any = None  # the plugin manager's hook relay, when built from a config

    # -- components -------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, created on first use (after the board has mapped RAM)."""
        if self._engine is None:
            self._engine = self._engine_factory(self)
        return self._engine

    @property
    def engine_slice(self) -> int:
        """Most instructions per hart between two looks at events and interrupts: an
        engine may ask for longer slices (a native engine's round trip to Python is its
        main cost), and so may the machine's owner (Linux user mode has no interrupts);
        timer events still end a slice early."""
        return max(getattr(self.engine, "slice_insns", 0) or 0, self.slice_insns)

    def add_device(self, name: str, device: Any) -> Any:
        if name in self.devices:
            raise ValueError(f"two devices named {name!r}")
        self.devices[name] = device
        return device

    # -- time and events ----------------------------------------------------------------------

    def now_ns(self) -> int:
        """Virtual nanoseconds since reset (or host nanoseconds with clock="host")."""
        if self.clock == "host":
            return time.monotonic_ns() - self._host_t0
        insns = sum(c.retired() for c in self.cpus) // len(self.cpus)
        return (insns + self._idle_insns) * self.ns_per_insn

    def schedule(self, delay_ns: int, callback: Callable[[], None]) -> Event:
        """Call ``callback`` once ``delay_ns`` of machine time from now has passed."""
        ev = Event(self.now_ns() + max(0, delay_ns), callback)
        heapq.heappush(self._events, (ev.when, next(self._seq), ev))
        return ev

    def next_event_ns(self) -> int | None:
        """When the next scheduled event is due (machine time), or None if none is."""
        while self._events and self._events[0][2].cancelled:
            heapq.heappop(self._events)
        return self._events[0][0] if self._events else None

    def _fire_due_events(self) -> None:
        now = self.now_ns()
        while self._events and self._events[0][0] <= now:
            _, _, ev = heapq.heappop(self._events)
            if not ev.cancelled:
                ev.callback()

    # -- control ------------------------------------------------------------------------------

    def request_stop(self, reason: str = StopReason.STOP) -> None:
        """Make :meth:`run` return at the next block boundary."""
        self.stop_reason = reason
        for cpu in self.cpus:
            cpu.stop = True

    def halt(self, exit_code: int = 0) -> None:
        """The guest is done (power-off, HTIF exit, exit_group)."""
        self.exit_code = exit_code
        self.request_stop(StopReason.HALT)

    def take_trap(self, cpu: Cpu, trap: GuestTrap, pc: int) -> int:
        """Route a trap: interceptors first, then the ISA. Returns the new pc."""
        for hook in self.trap_hooks:
            new_pc = hook(cpu, trap, pc)
            if new_pc is not None:
                return new_pc
        return self.isa.enter_trap(cpu, trap, pc)

    def _deliver_interrupt(self, cpu: Cpu) -> None:
        """Take a pending interrupt before the slice: engines check only after blocks that
        may enable one, so device lines raised meanwhile are seen here."""
        irq = self.isa.pending_interrupt(cpu)
        if irq is not None:
            cpu.pc = self.take_trap(cpu, irq, cpu.pc)

    def reset(self, pc: int | None = None) -> None:
        """Reset every hart to ``pc`` (or the board's reset vector)."""
        if pc is None:
            pc = getattr(self.board, "reset_pc", 0)
        for cpu in self.cpus:
            cpu.instret = 0
            cpu.waiting = False
            cpu.stop = False
            self.isa.reset(cpu, pc)
        if self._engine is not None:
            self._engine.flush()

    def run(self, limit: int | None = None) -> str:
        """Run until the guest halts, a stop is requested or ``limit`` instructions
        (summed over harts) have retired. Returns a :class:`StopReason` value."""
        for cpu in self.cpus:
            cpu.stop = False
        self.stop_reason = None
        engine = self.engine
        retired = stalled = 0
        if self.hooks is not None:
            self.hooks.vmcore_machine_before_run(machine=self)
        gc_thresholds = gc.get_threshold()
        gc.set_threshold(*RUN_GC_THRESHOLDS)
        try:
            while self.stop_reason is None:
                if limit is not None and (retired >= limit or stalled > limit):
                    # (a hart caught in a trap loop retires nothing but must stop too)
                    self.stop_reason = StopReason.LIMIT
                    break
                budget = self.engine_slice
                nxt = self.next_event_ns()
                if nxt is not None and self.clock == "virtual":
                    ahead = (nxt - self.now_ns()) // self.ns_per_insn
                    budget = max(1, min(budget, ahead))
                if limit is not None:
                    budget = min(budget, limit - retired)
                ran_any = False
                for cpu in self.cpus:
                    if cpu.waiting:
                        if not self.isa.interrupt_waiting(cpu):
                            continue
                        cpu.waiting = False
                    ran_any = True
                    self._deliver_interrupt(cpu)
                    done = engine.run(cpu, budget)
                    retired += done
                    stalled = 0 if done else stalled + 1
                    if self.stop_reason is not None:
                        break
                if not ran_any:
                    if not self._skip_idle_time():
                        self.stop_reason = StopReason.IDLE
                        break
                self._fire_due_events()
        finally:
            gc.set_threshold(*gc_thresholds)
            if self.hooks is not None:
                self.hooks.vmcore_machine_after_stop(machine=self, reason=self.stop_reason)
        return self.stop_reason

    def _skip_idle_time(self) -> bool:
        """Every hart waits: jump virtual time to the next event (or sleep for host time)."""
        nxt = self.next_event_ns()
        if nxt is None:
            return False
        if self.clock == "host":
            time.sleep(max(0, nxt - self.now_ns()) / 1e9)
            return True
        self._idle_insns += max(0, -(-(nxt - self.now_ns()) // self.ns_per_insn))
        return True
