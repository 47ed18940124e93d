"""What every engine shares: block building from the ISA, the translation cache, invalidation.

An engine subclass implements :meth:`Engine.compile` (IR block -> something runnable) and
:meth:`Engine.run`. Block building is ISA-neutral: it asks the ISA to lift instruction after
instruction until one ends the block, the block reaches ``max_insns`` or the next
instruction would start on another page.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from vmcore.ir import Access, Block, Builder, GuestTrap
from vmcore.memory import PAGE_SHIFT, RAM, BusError

if TYPE_CHECKING:
    from vmcore.cpu import Cpu
    from vmcore.machine import Machine

#: default longest block, in guest instructions
MAX_BLOCK_INSNS = 64


class TranslationCache:
    """Translations keyed by (mode key, pc), with the physical pages each came from.

    Entries are ``(runnable, ninsns, slow, insn_pcs)``: ``slow`` when the run loop must
    handle the block itself (sync or state helpers), ``insn_pcs`` the pc of each
    instruction for precise traps.
    """

    def __init__(self) -> None:
        self.tables: dict[int, dict[int, tuple]] = defaultdict(dict)
        self.by_page: dict[int, list[tuple[int, int]]] = defaultdict(list)
        #: truncated blocks for budgets ending mid-block, keyed (mode, pc, length)
        self.partial: dict[tuple[int, int, int], tuple] = {}

    def table(self, mode: int) -> dict[int, tuple]:
        return self.tables[mode]

    def add(self, mode: int, pc: int, entry: tuple, pages: set[int]) -> None:
        self.tables[mode][pc] = entry
        for page in pages:
            self.by_page[page].append((mode, pc))

    def invalidate_page(self, paddr: int) -> int:
        """Drop every translation made from the physical page of ``paddr``."""
        dropped = 0
        self.partial.clear()
        for mode, pc in self.by_page.pop(paddr >> PAGE_SHIFT, ()):
            if self.tables[mode].pop(pc, None) is not None:
                dropped += 1
        return dropped

    def flush(self) -> None:
        for table in self.tables.values():
            table.clear()
        self.by_page.clear()
        self.partial.clear()

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())


class Engine:
    """Base class of an execution engine (one object per machine, shared by its harts)."""

    name = ""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.cache = TranslationCache()
        self.stats: dict[str, Any] = defaultdict(int)
        #: changes whenever code may have changed (a write to a page of code, a flush):
        #: blocks lifted again for runnables (block_of) are kept for one generation
        self.code_generation = 0
        machine.bus.code_write_listeners.append(self.invalidate_page)

    # -- what subclasses provide -----------------------------------------------------------

    def compile(self, cpu: Cpu, block: Block) -> Any:
        raise NotImplementedError

    def run(self, cpu: Cpu, budget: int) -> int:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------

    def lift(self, cpu: Cpu, pc: int, max_insns: int = MAX_BLOCK_INSNS) -> Block:
        """Build the IR block starting at virtual ``pc``.

        A fetch fault on the first instruction propagates (as GuestTrap) so it is taken
        when executed; on a later one the block simply ends before it.
        """
        isa = cpu.isa
        b = Builder(pc, isa.mode_key(cpu))
        cur = pc
        page = pc >> PAGE_SHIFT
        for i in range(max_insns):
            nops, ninsns = len(b.block.ops), len(b.block.insns)
            try:
                cur += isa.lift(b, cpu, cur)
            except (GuestTrap, BusError) as exc:
                if i == 0:
                    if isinstance(exc, BusError):
                        exc = isa.bus_fault(exc)
                    raise exc from None
                del b.block.ops[nops:], b.block.insns[ninsns:]
                break
            if b.ended or b.end_requested:
                break
            if (cur + isa.max_insn_len - 1) >> PAGE_SHIFT != page:
                break
        if not b.ended:
            b.goto(cur)
        return b.finish()

    def translate(self, cpu: Cpu, pc: int, max_insns: int = MAX_BLOCK_INSNS) -> tuple:
        """Lift, compile and (for full-size blocks) cache the block at ``pc``."""
        block = self.lift(cpu, pc, max_insns)
        runnable = self.compile(cpu, block)
        slow = self.entry_kind(block, runnable)
        entry = (runnable, len(block.insns), slow, [ins.pc for ins in block.insns])
        self.stats["translations"] += 1
        if max_insns == MAX_BLOCK_INSNS:
            self.cache.add(block.mode, pc, entry, self._mark_code_pages(cpu, block))
        return entry

    def partial_block(self, cpu: Cpu, pc: int, max_insns: int) -> tuple:
        """The first ``max_insns`` instructions of the block at ``pc`` (for a budget that
        ends inside it), cached beside the full blocks."""
        key = (cpu.isa.mode_key(cpu), pc, max_insns)
        entry = self.cache.partial.get(key)
        if entry is None:
            entry = self.cache.partial[key] = self.translate(cpu, pc, max_insns)
        return entry

    def entry_kind(self, block: Block, runnable: Any) -> Any:
        """Truthy when the run loop must take its slow path for this block (sync blocks,
        state helpers); engines may return their own markers."""
        if block.sync or block.state_calls:
            return True
        if block.state_calls is None:  # a block built by hand
            return any(op.name == "call" and op.attrs["helper"].state for op in block.ops)
        return False

    @staticmethod
    def origin(block: Block) -> tuple:
        """What :meth:`block_of` needs to lift ``block`` again: its mode, pc and words."""
        return block.mode, block.pc, tuple(ins.bits for ins in block.insns)

    def block_of(self, cpu: Cpu, fn: Any) -> Block | None:
        """The IR block runnable ``fn`` was compiled from, or None when the code there has
        changed since (or no longer lifts, or ``cpu`` is in another mode).

        A runnable keeps its block (``fn.block``) only once it is warm; otherwise it keeps
        ``fn.origin`` and the block is lifted again. Most blocks run only a few times, and
        their IR made a third of the objects the garbage collector walked during a short
        run (about 20 ms of lists' 130 at size 1). Being asked for its block is what makes
        a runnable warm: the block lifted again stays on it (``fn.lifted``) until code is
        written or the cache flushed, since tier-up, region building and the jit ask
        again (code-heavy programs lifted such a block 3 times more on average: 3,340
        lifts of 1,071 blocks in a busybox grep, about 6% of its run).
        """
        block = getattr(fn, "block", None)
        if block is not None:
            return block
        origin = getattr(fn, "origin", None)
        if origin is None:
            return None
        mode, pc, words = origin
        if cpu.isa.mode_key(cpu) != mode:
            return None
        lifted = getattr(fn, "lifted", None)
        if lifted is not None and lifted[0] == self.code_generation:
            return lifted[1]
        try:
            block = self.lift(cpu, pc, len(words))
        except (GuestTrap, BusError):
            return None
        if block.pc != pc or tuple(ins.bits for ins in block.insns) != words:
            return None
        self._mark_code_pages(cpu, block)  # a write there starts a new generation
        fn.lifted = (self.code_generation, block)
        return block

    def _mark_code_pages(self, cpu: Cpu, block: Block) -> set[int]:
        """Mark the physical pages the block's instructions came from as holding code and
        return their numbers (one translation per virtual page: a block spans one or two)."""
        if not block.insns:
            return set()
        # a block's instructions follow one another (see lift): its first and last byte
        first = block.insns[0].pc
        last = max(block.end - 1, first)
        pages = set()
        for addr in (first, last) if first >> PAGE_SHIFT != last >> PAGE_SHIFT else (first,):
            try:
                paddr = cpu.mmu.translate(addr, Access.FETCH)
            except GuestTrap:
                continue
            region = cpu.bus.find(paddr)
            if isinstance(region, RAM):
                region.code_pages[(paddr - region.base) >> PAGE_SHIFT] = 1
                pages.add(paddr >> PAGE_SHIFT)
        return pages

    def invalidate_page(self, paddr: int) -> None:
        self.code_generation += 1
        self.stats["invalidations"] += self.cache.invalidate_page(paddr)

    def flush(self) -> None:
        """Drop every translation (fence.i, ic ivau, satp changes ...)."""
        self.code_generation += 1
        self.cache.flush()
        for region in self.machine.bus.regions:
            if isinstance(region, RAM):
                region.code_pages[:] = bytes(len(region.code_pages))
        self.stats["flushes"] += 1
