"""The ``jit`` engine: interp for cold code, LLVM-compiled native blocks for hot code.

Tiering. Every block first runs on the inherited :class:`~vmcore.engines.interp.InterpEngine`
path, which counts how often each block runs. A block that reaches ``threshold`` runs is
queued; queued blocks are compiled together into one LLVM module (one hand-built pass
pipeline and one TargetMachine per MCJIT instance) when the queue is full or at the start
of the next ``run`` slice. LLVM costs milliseconds per block, so only hot code pays it.

Native execution. The hart's state list is copied into a native uint64 buffer (the ISA's
slots followed by a few control slots: instructions used, the limit, the exit reason and
trap details) and a native dispatcher is entered at a translated pc. Blocks check the
budget on entry and tail-call their successors through a direct-mapped table per mode, so
Python sees control again only on a table miss (untranslated code), the budget, a guest
trap, an exception in a callback or a stop request; then the buffer is copied back.

Callbacks. Slow-path memory (MMIO, outside main RAM, a non-identity MMU), helpers, FP ops
(vmcore.softfp) and 128-bit division are ctypes callbacks. They never let an exception
cross into native code: they store it and return 1, the block records the instruction
index and exits, and the run loop handles the trap exactly as interp would (same pc, same
registers, same retired count). State helpers see the state list in sync.

Invalidation. A store to a page holding translated code calls back into the bus (like
interp's ``CODEW``); native blocks from that page leave the tables at once. ``flush`` and a
full code cache (``max_blocks``) drop every native block and start a fresh MCJIT instance;
the old one is released when no native frame can be on the stack.
"""

from __future__ import annotations

import ctypes
import os
import struct
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import llvmlite.binding as llvm

from vmcore import softfp
from vmcore.engines.base import MAX_BLOCK_INSNS
from vmcore.engines.interp import REGION, InterpEngine
from vmcore.ir import Access, Block, GuestTrap, mask
from vmcore.memory import PAGE_SHIFT, BusError
from vmcore_jit_llvm import codegen
from vmcore_jit_llvm.codegen import (
    CAUSE,
    EXIT,
    EXIT_EXC,
    EXIT_MISALIGN,
    EXIT_NAMES,
    EXIT_TRAP,
    IO_ARGS,
    IO_FLAGS,
    IO_R0,
    IO_R1,
    IO_WORDS,
    LIMIT,
    NCTL,
    TRAP_PC,
    TVAL,
    USED,
    Env,
    K,
    Site,
)

if TYPE_CHECKING:
    from vmcore.cpu import Cpu

M64 = mask(64)
EMPTY = M64  #: pc of an empty table entry (its function is the miss stub)

_U64 = ctypes.c_uint64
_LOAD_CB = ctypes.CFUNCTYPE(ctypes.c_int32, _U64, _U64, _U64)
_STORE_CB = ctypes.CFUNCTYPE(ctypes.c_int32, _U64, _U64, _U64, _U64, _U64)
_ONE_CB = ctypes.CFUNCTYPE(ctypes.c_int32, _U64)
_TWO_CB = ctypes.CFUNCTYPE(ctypes.c_int32, _U64, _U64)
_DISPATCH = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64)

#: the hand-built pass pipeline (PassBuilder's default pipelines cannot be run twice)
PASSES = (
    "sroa",
    "instruction_combine",
    "simplify_cfg",
    "new_gvn",
    "dead_store_elimination",
    "instruction_combine",
    "simplify_cfg",
)

_LLVM_READY = False


def _init_llvm() -> None:
    global _LLVM_READY
    if not _LLVM_READY:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _LLVM_READY = True


@attrs.define
class JitOptions:
    """Options of the ``jit`` engine (also read from the environment, see README)."""

    #: instructions an entry retires on interp before it is compiled (1: at once)
    threshold: int = attrs.field(default=4000, converter=int)
    #: compile the queue once it holds this many blocks
    batch: int = attrs.field(default=64, converter=int)
    #: native blocks before the native cache is flushed whole
    max_blocks: int = attrs.field(default=32768, converter=int)
    #: LLVM optimisation level of the TargetMachine (0-3)
    opt: int = attrs.field(default=2, converter=int)
    #: write LLVM IR and host disassembly of every compiled unit into this directory
    dump: str | None = None
    #: log2 of entries in each mode's translation table
    table_bits: int = attrs.field(default=15, converter=int)

    @classmethod
    def from_env(cls, base: JitOptions | None = None) -> JitOptions:
        opts = base or cls()
        env = {
            "threshold": "VMCORE_JIT_THRESHOLD",
            "batch": "VMCORE_JIT_BATCH",
            "max_blocks": "VMCORE_JIT_MAX_BLOCKS",
            "opt": "VMCORE_JIT_OPT",
            "dump": "VMCORE_JIT_DUMP",
        }
        changes = {k: os.environ[v] for k, v in env.items() if os.environ.get(v)}
        return attrs.evolve(opts, **changes) if changes else opts


class _Table(dict):
    """One mode's translations: entries are wrapped to count their use as they go in."""

    def __init__(self, engine: JitEngine, mode: int) -> None:
        super().__init__()
        self.engine = engine
        self.mode = mode

    def __setitem__(self, pc: int, entry: tuple) -> None:
        super().__setitem__(pc, self.engine._wrap(self.mode, pc, entry))


class _Tables(dict):
    """``TranslationCache.tables`` with a :class:`_Table` per mode."""

    def __init__(self, engine: JitEngine) -> None:
        super().__init__()
        self.engine = engine

    def __missing__(self, mode: int) -> _Table:
        table = self[mode] = _Table(self.engine, mode)
        return table


class _Native:
    """One MCJIT instance with its TargetMachine and pass pipeline (never shared)."""

    def __init__(self, opt: int) -> None:
        _init_llvm()
        target = llvm.Target.from_triple(llvm.get_process_triple())
        self.tm = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(),
            features=llvm.get_host_cpu_features().flatten(),
            opt=opt,
            jit=True,
        )
        self.mpm = llvm.create_new_module_pass_manager()
        for name in PASSES:
            getattr(self.mpm, f"add_{name}_pass")()
        self.pb = llvm.create_pass_builder(self.tm, llvm.create_pipeline_tuning_options(opt))
        self.ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self.modules: list[Any] = []

    def add(self, text: str) -> Any:
        mod = llvm.parse_assembly(text)
        mod.triple = llvm.get_process_triple()
        mod.data_layout = str(self.tm.target_data)
        mod.verify()
        self.mpm.run(mod, self.pb)
        self.ee.add_module(mod)
        self.ee.finalize_object()
        self.modules.append(mod)
        return mod

    def address(self, name: str) -> int:
        return self.ee.get_function_address(name)


class JitEngine(InterpEngine):
    """Tiered LLVM JIT; see the module docstring."""

    name = "jit"
    #: instructions per machine slice: each return to Python costs about 1 us, so the JIT
    #: runs long slices (timer events still end them early)
    slice_insns = 200_000

    def __init__(self, machine: Any, options: JitOptions | None = None) -> None:
        super().__init__(machine)
        cfg_opts = getattr(getattr(machine, "config", None), "engine_options", None)
        if options is None and isinstance(cfg_opts, JitOptions):
            options = cfg_opts
        elif options is None and isinstance(cfg_opts, dict):
            options = JitOptions(**cfg_opts)
        self.options = JitOptions.from_env(options)
        self._cpu_for_wrap: Cpu | None = None
        self.cache.tables = _Tables(self)
        self.nslots = machine.isa.regs.nslots
        self._pack = struct.Struct(f"<{self.nslots}Q")
        self._io = (ctypes.c_uint64 * IO_WORDS)()
        self._tsize = 1 << self.options.table_bits
        self._tables: dict[int, Any] = {}
        self._states: dict[int, Any] = {}
        self._sites: list[Site] = []
        # per mode: pc -> function address of native blocks
        self._native: dict[int, dict[int, int]] = defaultdict(dict)
        self._native_pages: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self._queue: list[tuple[Block, bool, set[int]]] = []
        self._queued: set[int] = set()
        self._trap_box = [[0]]  # insn pcs of native "region" entries: the faulting pc
        self._jit: _Native | None = None
        self._graveyard: list[_Native] = []
        self._depth = 0  # native frames on the stack
        self._exc: BaseException | None = None
        self._cpu: Cpu | None = None
        self._arr: Any = None
        self._entry_instret = 0
        self._stop_req = False
        self._units = 0
        self._code_writes = 0
        self._nblocks = 0
        self._ram_cp_ref: Any = None
        self._callbacks = {
            "load": _LOAD_CB(self._cb_load),
            "store": _STORE_CB(self._cb_store),
            "codew": _TWO_CB(self._cb_codew),
            "call": _ONE_CB(self._cb_call),
        }
        ram = self.ram
        self.env = Env(
            nslots=self.nslots,
            io=ctypes.addressof(self._io),
            callbacks={
                k: ctypes.cast(v, ctypes.c_void_p).value for k, v in self._callbacks.items()
            },
            table=self._table_address,
            table_mask=self._tsize - 1,
            add_site=self._add_site,
            softfp=softfp,
        )
        if ram is not None:
            self._ram_cp_ref = (ctypes.c_char * len(ram.code_pages)).from_buffer(ram.code_pages)
            self.env.ram_host = ram.host_address
            self.env.ram_base = ram.base
            self.env.ram_size = ram.size
            self.env.code_pages = ctypes.addressof(self._ram_cp_ref)
        for key in ("native_blocks", "units", "cache_hits", "compile_ns", "native_entries"):
            self.stats[key] = 0
        if self.options.dump:
            Path(self.options.dump).mkdir(parents=True, exist_ok=True)

    # -- native infrastructure ----------------------------------------------------------------

    def _native_jit(self) -> _Native:
        if self._jit is None:
            jit = _Native(self.options.opt)
            jit.add(codegen.dispatcher(self.env))
            self._dispatch = _DISPATCH(jit.address("vm_dispatch"))
            self._miss_stub = jit.address("vm_miss")
            self._jit = jit
            for _mode, table in self._tables.items():
                self._clear_table(table)
        return self._jit

    def _table_address(self, mode: int) -> int:
        table = self._tables.get(mode)
        if table is None:
            table = self._tables[mode] = (ctypes.c_uint64 * (2 * self._tsize))()
            self._clear_table(table)
        return ctypes.addressof(table)

    def _clear_table(self, table: Any) -> None:
        stub = self._miss_stub if self._jit is not None else 0
        table[0::2] = [EMPTY] * self._tsize
        table[1::2] = [stub] * self._tsize

    def _install(self, mode: int, pc: int, addr: int) -> None:
        self._table_address(mode)
        table = self._tables[mode]
        i = 2 * ((pc >> 1) & (self._tsize - 1))
        table[i] = pc
        table[i + 1] = addr

    def _uninstall(self, mode: int, pc: int) -> None:
        table = self._tables.get(mode)
        if table is None:
            return
        i = 2 * ((pc >> 1) & (self._tsize - 1))
        if table[i] == pc:
            table[i] = EMPTY
            table[i + 1] = self._miss_stub

    def _add_site(self, site: Site) -> int:
        self._sites.append(site)
        return len(self._sites) - 1

    def _state_buffer(self, cpu: Cpu) -> Any:
        arr = self._states.get(cpu.index)
        if arr is None:
            arr = self._states[cpu.index] = (ctypes.c_uint64 * (self.nslots + NCTL))()
        return arr

    # -- translation ------------------------------------------------------------------------

    def translate(self, cpu: Cpu, pc: int, max_insns: int = MAX_BLOCK_INSNS) -> tuple:
        """interp's translation; the entry returned is the cached (counting) one."""
        entry = super().translate(cpu, pc, max_insns)
        cached = self.cache.table(cpu.isa.mode_key(cpu)).get(pc)
        if cached is not None and getattr(cached[0], "inner", None) is entry[0]:
            return cached
        return entry

    def _wrap(self, mode: int, pc: int, entry: tuple) -> tuple:
        """What the translation cache stores for ``entry``: a counting wrapper."""
        fn = entry[0]
        if getattr(fn, "counted", False) or hasattr(fn, "native_pc") or self._cpu_for_wrap is None:
            return entry
        return (self._counter(self._cpu_for_wrap, mode, pc, entry), *entry[1:])

    def _counter(self, cpu: Cpu, mode: int, pc: int, ent: tuple) -> Any:
        """``ent``'s function, counting the instructions it retires until it gets hot.

        With ``threshold`` 0 (eager, for tests) the block is compiled before its first run
        and that run is already native.
        """
        fn, n, kind, _ = ent
        eager = self.options.threshold <= 0
        threshold = max(1, self.options.threshold)
        heat = [0]
        engine = self
        native = self._native[mode]

        if kind is REGION:

            def counted(S: Any, C: Any) -> int:
                if eager:
                    engine._hot(C, mode, pc, ent)
                    if pc in native:
                        return engine._enter(C, pc, C.loop_limit, mode)
                try:
                    return fn(S, C)
                finally:
                    heat[0] += C.iters
                    if heat[0] >= threshold:
                        engine._hot(C, mode, pc, ent)

        else:

            def counted(S: Any, C: Any) -> int:
                heat[0] += n
                if heat[0] >= threshold or eager:
                    engine._hot(C, mode, pc, ent)
                    if eager and pc in native:
                        return engine._enter(C, pc, n, mode, single=True)
                return fn(S, C)

        counted.counted = True
        counted.block = getattr(fn, "block", None)
        counted.inner = fn
        return counted

    def _hot(self, cpu: Cpu, mode: int, pc: int, ent: tuple) -> None:
        """Queue the blocks of a hot entry for compilation; put the raw entry back."""
        table = self.cache.table(mode)
        if table.get(pc) is not None and hasattr(table[pc][0], "inner"):
            dict.__setitem__(table, pc, (table[pc][0].inner, *table[pc][1:]))
        if mode != cpu.isa.mode_key(cpu):
            return
        if ent[2] is REGION:
            starts = [pcs[0] for pcs in ent[3] if pcs]
        else:
            starts = [pc]
        fast = self.ram is not None and cpu.mmu.is_identity()
        native = self._native[mode]
        for start in starts:
            if start in native or start == EMPTY or start in self._queued:
                continue
            if start == pc and ent[2] is not REGION:
                block = getattr(ent[0], "block", None)
            else:
                try:
                    block = self.lift(cpu, start)
                except (GuestTrap, BusError):
                    continue
            if block is None or block.pc != start:
                continue
            pages = self._mark_code_pages(cpu, block)
            self._queue.append((block, fast, pages))
            self._queued.add(start)
        if (
            len(self._queue) >= self.options.batch
            or ent[2] is REGION
            or self.options.threshold <= 0
        ):
            self._compile_queue()

    def _compile_queue(self) -> None:
        queue, self._queue = self._queue, []
        self._queued.clear()
        if not queue:
            return
        if self._nblocks + len(queue) > self.options.max_blocks:
            self._flush_native()
        t0 = time.perf_counter_ns()
        jit = self._native_jit()
        unit = self._units
        self._units += 1
        names = [(f"u{unit}_b{i}", blk, fast) for i, (blk, fast, _) in enumerate(queue)]
        text = codegen.lower_blocks(self.env, names)
        mod = jit.add(text)
        for (fname, blk, _), (_, _, pages) in zip(names, queue, strict=True):
            addr = jit.address(fname)
            self._native[blk.mode][blk.pc] = addr
            self._install(blk.mode, blk.pc, addr)
            for page in pages:
                self._native_pages[page].append((blk.mode, blk.pc))
            entry = (self._trampoline(blk.mode, blk.pc), len(blk.insns), REGION, self._trap_box)
            self.cache.add(blk.mode, blk.pc, entry, pages)
        self._nblocks += len(queue)
        self.stats["native_blocks"] += len(queue)
        self.stats["units"] += 1
        self.stats["compile_ns"] += time.perf_counter_ns() - t0
        if self.options.dump:
            from vmcore_jit_llvm.dump import dump_unit

            dump_unit(Path(self.options.dump), unit, text, mod, jit, names)

    def _trampoline(self, mode: int, pc: int) -> Any:
        """The interp cache entry of a native block: a "region" that runs native code."""
        enter = self._enter

        def native(S: Any, C: Any) -> int:
            return enter(C, pc, C.loop_limit, mode)

        native.native_pc = pc
        return native

    def invalidate_page(self, paddr: int) -> None:
        self._code_writes += 1
        super().invalidate_page(paddr)
        for mode, pc in self._native_pages.pop(paddr >> PAGE_SHIFT, ()):
            if self._native[mode].pop(pc, None) is not None:
                self._uninstall(mode, pc)
                self.stats["native_invalidations"] += 1
        if self._queue:
            self._queue = [q for q in self._queue if (paddr >> PAGE_SHIFT) not in q[2]]
            self._queued = {q[0].pc for q in self._queue}

    def flush(self) -> None:
        super().flush()
        self._flush_native()

    def _flush_native(self) -> None:
        """Forget every native block (and the interp entries that run them)."""
        for mode, native in self._native.items():
            table = self.cache.table(mode)
            for pc in native:
                ent = table.get(pc)
                if ent is not None and getattr(ent[0], "native_pc", None) == pc:
                    del table[pc]
            native.clear()
        for table in self._tables.values():
            self._clear_table(table)
        self._native_pages.clear()
        self._queue.clear()
        self._queued.clear()
        if self._jit is not None:
            self._graveyard.append(self._jit)
            self._jit = None
        self._nblocks = 0
        self.stats["native_flushes"] += 1

    def run(self, cpu: Cpu, budget: int) -> int:
        self._cpu_for_wrap = cpu
        if self._depth == 0:
            if self._graveyard:
                self._graveyard.clear()
                if self._jit is None:
                    self._sites = []
            if self._queue:
                self._compile_queue()
        return super().run(cpu, budget)

    # -- callbacks (never raise) ------------------------------------------------------------

    def _sync_instret(self) -> None:
        self._cpu.instret = self._entry_instret + self._arr[self.nslots + USED]

    def _check_stop(self, cpu: Cpu) -> None:
        """Leave native code at the next block boundary if the hart must stop or wait.

        (Pending interrupts are not polled here: ``pending_interrupt`` may have side
        effects. The run loop checks them whenever native code returns, within the slice.)
        """
        if cpu.stop or cpu.waiting:
            self._arr[self.nslots + LIMIT] = 0
            self._stop_req = True

    def _cb_load(self, addr: int, size: int, k: int) -> int:
        try:
            cpu = self._cpu
            self._sync_instret()
            cpu.progress = k
            value = cpu.bus.read(cpu.mmu.translate(addr, Access.LOAD), size, Access.LOAD)
            cpu.progress = 0
            self._io[IO_R0] = value & M64
            if size > 8:
                self._io[IO_R1] = (value >> 64) & M64
            self._check_stop(cpu)
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised by the run loop
            self._cpu.progress = 0
            self._exc = exc
            return 1

    def _cb_store(self, addr: int, size: int, lo: int, hi: int, k: int) -> int:
        try:
            cpu = self._cpu
            self._sync_instret()
            cpu.progress = k
            before = self._code_writes
            cpu.bus.write(cpu.mmu.translate(addr, Access.STORE), size, lo | (hi << 64))
            cpu.progress = 0
            self._check_stop(cpu)
            return 2 if self._code_writes != before else 0
        except BaseException as exc:  # noqa: BLE001
            self._cpu.progress = 0
            self._exc = exc
            return 1

    def _cb_codew(self, offset: int, size: int) -> int:
        try:
            self.machine.bus.note_write(self.ram, offset, size)
            return 0
        except BaseException as exc:  # noqa: BLE001
            self._exc = exc
            return 1

    def _cb_call(self, index: int) -> int:
        try:
            site = self._sites[index]
            io = self._io
            args = []
            word = IO_ARGS
            for w in site.widths:
                v = io[word]
                word += 1
                if w > 64:
                    v |= io[word] << 64
                    word += 1
                args.append(v)
            if site.state:
                cpu = self._cpu
                arr = self._arr
                cpu.s[:] = self._pack.unpack_from(arr)
                self._sync_instret()
                cpu.progress = site.k
                try:
                    result = site.fn(cpu, *args)
                finally:
                    cpu.progress = 0
                    self._pack.pack_into(arr, 0, *cpu.s)
                self._check_stop(cpu)
            elif site.kind == "fp":
                result, flags = site.fn(*args)
                io[IO_FLAGS] = flags
            else:
                result = site.fn(*args)
            if site.result:
                result = int(result) & mask(site.result)
                io[IO_R0] = result & M64
                if site.result > 64:
                    io[IO_R1] = result >> 64
            return 0
        except BaseException as exc:  # noqa: BLE001
            self._exc = exc
            return 1

    # -- execution ------------------------------------------------------------------------------

    def _enter(self, cpu: Cpu, pc: int, left: int, mode: int, single: bool = False) -> int:
        """Run native code from ``pc`` for at most ``left`` instructions (interp's region
        protocol: ``cpu.iters`` gets the instructions retired; a trap is raised with
        ``block_index``/``insn_index``/``done`` naming the faulting instruction)."""
        arr = self._state_buffer(cpu)
        S = cpu.s
        base = self.nslots
        self._pack.pack_into(arr, 0, *S)
        arr[base + USED] = 0
        arr[base + LIMIT] = max(0, left)
        arr[base + EXIT] = 0
        self._install(mode, pc, self._native[mode][pc])
        prev = (self._cpu, self._arr, self._entry_instret)
        entry_instret = cpu.instret
        self._cpu, self._arr, self._entry_instret = cpu, arr, entry_instret
        self._stop_req = False
        self._exc = None
        self._depth += 1
        try:
            npc = self._dispatch(ctypes.addressof(arr), ctypes.addressof(self._tables[mode]), pc)
        finally:
            self._depth -= 1
            self._cpu, self._arr, self._entry_instret = prev
        S[:] = self._pack.unpack_from(arr)
        used = arr[base + USED]
        cpu.instret = entry_instret
        cpu.iters = used
        reason = arr[base + EXIT]
        stats = self.stats
        stats["native_entries"] += 1
        stats["native_insns"] += used
        stats["exit_" + EXIT_NAMES.get(reason, str(reason))] += 1
        if reason in (EXIT_TRAP, EXIT_EXC, EXIT_MISALIGN):
            trap = self._native_trap(cpu, reason)
            self._trap_box[0] = [arr[base + TRAP_PC]]
            if single:  # a plain interp entry: the trap names the instruction in the block
                trap.insn_index = arr[base + K]
            else:
                trap.block_index = 0
                trap.insn_index = 0
                trap.done = used
            raise trap
        return npc

    def _native_trap(self, cpu: Cpu, reason: int) -> Exception:
        """The exception a native exit stands for."""
        arr = self._states[cpu.index]
        base = self.nslots
        if reason == EXIT_TRAP:
            return GuestTrap(arr[base + CAUSE], arr[base + TVAL])
        if reason == EXIT_MISALIGN:
            return cpu.isa.misaligned(Access(arr[base + CAUSE]), arr[base + TVAL])
        exc, self._exc = self._exc, None
        if isinstance(exc, (BusError, GuestTrap)):
            return exc
        cpu.s[cpu.isa.regs.pc] = arr[base + TRAP_PC]
        raise exc
