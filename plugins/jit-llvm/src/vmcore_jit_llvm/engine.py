"""The ``jit`` engine: interp for cold code, LLVM-compiled native blocks for hot code.

Tiering. Every block first runs on the inherited
:class:`~vmcore.engines.interp.InterpEngine` path, which counts how often each block runs
(its instructions plus ENTRY_WEIGHT per run). A block that reaches ``threshold`` is
queued; so is every block of a loop region interp builds (here its blocks' runnables
chained, see _region_function) once it reaches ``region_threshold`` or runs ``loop_call``
instructions in one call, plus the region itself as one native function in which branches
between its blocks are plain jumps. The counters of blocks ending in an indirect jump
remember the targets seen; a region takes in the blocks those lead to when they lead back
into it (a call through a function pointer and its return), and such a jump becomes a
switch over the members seen, with the table for any other target.
Queued units are compiled together into one LLVM module per MCJIT instance: loops with the
full optimisation level, straight-line blocks with ``quick_opt``
(LLVM compiles those several times faster; they are entered through the table anyway); a
quick unit counts its entries natively and, after ``hot_entries``, exits once (EXIT_HOT) to
be recompiled at the full level. Loop units keep the guest registers they use in LLVM
registers (``promote``), written back to the state buffer on leaving.
Optimised code is compiled on a background thread (``background``, on by default; see
bench/README.md): tier-2 recompiles, and loops, which first compile inline at
``quick_opt`` too. LLVM releases the GIL (and runs without llvmlite's lock, see
_unlocked), so the hart keeps running the quick code meanwhile, and finished units are
installed at the next slice; a unit whose page is written while it compiles is
discarded. Quick units compile inline: until they land, their blocks would run on
interp, a hundred times slower. A loop's quick code is also entered at the member blocks
queued with it (see _fold_members and codegen.BlockGen), rather than each member
compiled alone.

Native execution. The hart's state list is copied into a native uint64 buffer (the ISA's
slots followed by a few control slots: instructions used, the limit, the exit reason and
trap details) and a native dispatcher is entered at a translated pc. Blocks check the
budget on entry and tail-call their successors through a direct-mapped table per mode, so
Python sees control again only on a table miss (untranslated code), the budget, a guest
trap, an exception in a callback or a stop request; then the buffer is copied back.

Callbacks. Slow-path memory (MMIO, outside main RAM, a non-identity MMU), helpers, f128
operations and 128-bit division are ctypes callbacks, reached through stubs with a calling
convention that preserves registers (so fast paths need no prologue); f16/f32/f64
operations call Berkeley SoftFloat natively (``fpnative``). Callbacks never let an
exception cross into native code: they store it and return 1, the block records the
instruction index and exits, and the run loop handles the trap exactly as interp would
(same pc, same registers, same retired count). State helpers see the state list in sync.

Invalidation. A store to a page holding translated code calls back into the bus (like
interp's ``CODEW``); native blocks from that page leave the tables at once. ``flush`` and a
full code cache (``max_blocks``) drop every native block and start a fresh MCJIT instance;
the old one is released when no native frame can be on the stack.
"""

from __future__ import annotations

import ctypes
import functools
import os
import queue
import struct
import sys
import threading
import time
import weakref
from collections import defaultdict, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import llvmlite.binding as llvm

from vmcore import softfp
from vmcore.engines.base import MAX_BLOCK_INSNS
from vmcore.engines.evaluate import EarlyExit
from vmcore.engines.interp import REGION, InterpEngine, chain_region
from vmcore.ir import Access, Block, GuestTrap, mask
from vmcore.memory import PAGE_SHIFT, BusError
from vmcore_jit_llvm import codegen, fpnative, quickmem
from vmcore_jit_llvm.codegen import (
    CAUSE,
    EXIT,
    EXIT_EXC,
    EXIT_HOT,
    EXIT_MISALIGN,
    EXIT_MISS,
    EXIT_NAMES,
    EXIT_TRAP,
    IO_ARGS,
    IO_FLAGS,
    IO_R0,
    IO_R1,
    IO_WORDS,
    LIMIT,
    LOAD_RMW,
    M64,
    NCTL,
    TLB,
    TRAP_PC,
    TVAL,
    USED,
    Env,
    K,
    Site,
)

if TYPE_CHECKING:
    from vmcore.cpu import Cpu

EMPTY = M64  #: pc of an empty table entry (its function is the miss stub)
#: what one run of a cold block costs beyond its instructions, in instructions: entering it
#: from native code (a table miss) costs as much as tens of interpreted instructions, so
#: short blocks get hot after about ``threshold / (n + ENTRY_WEIGHT)`` runs
ENTRY_WEIGHT = 40
#: misses (native code leaving for a block with no native code) after which the block is
#: hot whatever its count: each costs a round trip to Python (about 12 us) and interp's
#: run of the block, so a block that is entered from native code again and again should
#: not wait for ``threshold`` (lists' outer loops missed 90-300 times each). Start-up and
#: exit code, entered once or twice, stays below it. A compile costs about 0.8 ms a block
#: at -O0, some 50 misses: at 8, Lua's interpreter compiled many handlers that ran a few
#: times more (fib(25) in Lua 2.05 -> 1.89 s at 16, the bench workloads unchanged)
MISS_LIMIT = 16
#: targets remembered per indirect jump (a call through a pointer, a return): beyond a few
#: the site is megamorphic and the table is the better way
SEEN_TARGETS = 4
#: blocks a region may grow by, following them (see JitEngine._follow_seen)
SEEN_BLOCKS = 8
#: default ``region_threshold`` in ``threshold``s
REGION_FACTOR = 5

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

#: ... for units compiled quickly: none. LLVM's -O0 code generator (fast instruction
#: selection, fast register allocation) takes the lowered IR as it is; SROA, instcombine
#: and simplifycfg before it cost more than they saved (sort 2000: main-thread compile
#: 259 -> 187 ms, whole run 3.90 -> 3.77 s; fpkernel 2000 1.56 -> 1.48 s; others equal)
QUICK_PASSES: tuple[str, ...] = ()

_LLVM_READY = False
#: GIL switch interval (seconds) while a compiler thread exists (see _Compiler.submit)
SWITCH_INTERVAL = 1e-4


#: LLVM command-line options set once per process (they are global to LLVM, so they also
#: apply to any other llvmlite user in the process). Loop strength reduction rewrites
#: guest address arithmetic into extra induction variables: off, matrix runs 15% faster
#: and compiles faster; the post-RA scheduler costs compile time and bought nothing here.
LLVM_OPTIONS = ("-disable-lsr", "-post-RA-scheduler=false")


def _init_llvm() -> None:
    global _LLVM_READY
    if not _LLVM_READY:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        for option in LLVM_OPTIONS:
            llvm.set_option("vmcore-jit", option)
        _LLVM_READY = True


@functools.cache
def _host() -> tuple[str, str, str]:
    """The host's triple, CPU name and CPU features (asking LLVM takes 0.3 ms)."""
    _init_llvm()
    return (
        llvm.get_process_triple(),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
    )


def _switch(value: object) -> bool:
    """An on/off option from a bool or an environment string ("0", "off", ... are off)."""
    return str(value).strip().lower() not in ("0", "false", "no", "off")


@attrs.define
class JitOptions:
    """Options of the ``jit`` engine (also read from the environment, see README)."""

    #: instructions an entry retires on interp before it is compiled (1: at once)
    threshold: int = attrs.field(default=4000, converter=int)
    #: ... for a loop region (None: REGION_FACTOR times ``threshold``): one-shot start-up
    #: loops (glibc's tunables parsing) finish below it on interp in a few ms, where
    #: compiling each at ``opt`` took 10-20 ms; a loop that keeps running pays that once
    region_threshold: int | None = attrs.field(
        default=None, converter=attrs.converters.optional(int)
    )
    #: ... or a loop that runs this many instructions in one call, without leaving: it
    #: is hot at once (start-up loops run a few hundred a call, a program's own loops
    #: thousands; 0: only ``region_threshold`` counts)
    loop_call: int = attrs.field(default=2000, converter=int)
    #: compile the queue once it holds this many blocks
    batch: int = attrs.field(default=64, converter=int)
    #: native blocks before the native cache is flushed whole
    max_blocks: int = attrs.field(default=32768, converter=int)
    #: LLVM optimisation level of the TargetMachine (0-3) for loops
    opt: int = attrs.field(default=2, converter=int)
    #: ... and for straight-line blocks (-1: the same as ``opt``)
    quick_opt: int = attrs.field(default=0, converter=int)
    #: write LLVM IR and host disassembly of every compiled unit into this directory
    dump: str | None = None
    #: entries after which a quickly compiled unit is recompiled at ``opt`` (0: never)
    hot_entries: int = attrs.field(default=10_000, converter=int)
    #: keep guest registers in LLVM registers across a unit compiled at ``opt`` (loops):
    #: loaded on entry, written back on leaving and around state helpers
    promote: bool = attrs.field(default=True, converter=_switch)
    #: compile at ``opt`` on a background thread (tier-2 recompiles of hot quick units,
    #: and loops, quickly compiled inline too) while the quick code keeps running (off in
    #: eager mode and while dumping)
    background: bool = attrs.field(default=True, converter=_switch)
    #: f16/f32/f64 ops call SoftFloat natively (off: through a Python callback, for A/B)
    native_fp: bool = attrs.field(default=True, converter=_switch)
    #: ... and f32/f64 arithmetic tries the host FPU first where that is exact (fpnative)
    host_fp: bool = attrs.field(default=True, converter=_switch)
    #: blocks per native unit grown from a hot block along direct exits (1: the block alone)
    superblock: int = attrs.field(default=1, converter=int)
    #: most quick blocks that share one function (a pack, see codegen.BlockGen; 1: a
    #: function per block)
    pack: int = attrs.field(default=32, converter=int)
    #: log2 of entries in each mode's translation table
    table_bits: int = attrs.field(default=15, converter=int)

    @classmethod
    def from_env(cls, base: JitOptions | None = None) -> JitOptions:
        opts = base or cls()
        env = {
            "threshold": "VMCORE_JIT_THRESHOLD",
            "region_threshold": "VMCORE_JIT_REGION_THRESHOLD",
            "loop_call": "VMCORE_JIT_LOOP_CALL",
            "batch": "VMCORE_JIT_BATCH",
            "max_blocks": "VMCORE_JIT_MAX_BLOCKS",
            "opt": "VMCORE_JIT_OPT",
            "quick_opt": "VMCORE_JIT_QUICK_OPT",
            "superblock": "VMCORE_JIT_SUPERBLOCK",
            "pack": "VMCORE_JIT_PACK",
            "background": "VMCORE_JIT_BACKGROUND",
            "hot_entries": "VMCORE_JIT_HOT_ENTRIES",
            "promote": "VMCORE_JIT_PROMOTE",
            "native_fp": "VMCORE_JIT_NATIVE_FP",
            "host_fp": "VMCORE_JIT_HOST_FP",
            "dump": "VMCORE_JIT_DUMP",
        }
        changes = {k: os.environ[v] for k, v in env.items() if os.environ.get(v)}
        return attrs.evolve(opts, **changes) if changes else opts


def _jumps_indirect(block: Block) -> bool:
    exit_ = block.exit
    return exit_ is not None and exit_.name == "goto_ind"


def _links(block: Block) -> bool:
    """Whether a block jumps elsewhere after writing the pc that follows it into a
    register: a call, whose return lands there."""
    exit_ = block.exit
    if exit_ is None or exit_.name == "branch" or block.end in block.direct_targets():
        return False
    consts = block.constants()
    return any(
        op.name == "set" and consts.get(getattr(op.args[1], "id", None)) == block.end
        for op in block.ops
    )


def _is_loop(blocks: list[Block], seen: dict[int, tuple[int, ...]] | None = None) -> bool:
    """Whether a unit has a cycle of direct branches between its blocks (or of indirect
    jumps to members they were ``seen`` to reach, which the unit also takes as branches)."""
    members = {b.pc for b in blocks}
    seen = seen or {}
    succ = {
        b.pc: [t for t in [*b.direct_targets(), *seen.get(b.pc, ())] if t in members]
        for b in blocks
    }
    state: dict[int, int] = {}  # 1: on the DFS path, 2: done

    def cyclic(pc: int) -> bool:
        state[pc] = 1
        for t in succ[pc]:
            if state.get(t) == 1 or (t not in state and cyclic(t)):
                return True
        state[pc] = 2
        return False

    return any(pc not in state and cyclic(pc) for pc in succ)


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


def _unlocked(name: str) -> Any:
    """llvmlite's binding ``name`` without llvmlite's process-wide lock (the plain ctypes
    function, which releases the GIL like the wrapper). The lock serialises every LLVM
    call, so an inline compile on the main thread would wait for a whole background
    compile. The two long calls, the pass pipeline and code generation, go without it:
    each _Native has its own context, TargetMachine and MCJIT instance and is used by
    one thread at a time, and LLVM compiles separate contexts concurrently (as ORC's
    concurrent compilation does). The locked wrapper if llvmlite's internals change."""
    wrapper = getattr(llvm.ffi.lib, name)
    return getattr(wrapper, "_cfn", wrapper)


_run_passes = _unlocked("LLVMPY_RunNewModulePassManager")
_finalize_object = _unlocked("LLVMPY_FinalizeObject")


class _Native:
    """One MCJIT instance with its TargetMachine and pass pipeline (never shared)."""

    def __init__(self, opt: int) -> None:
        _init_llvm()
        triple, cpu, features = _host()
        self.tm = llvm.Target.from_triple(triple).create_target_machine(
            cpu=cpu,
            features=features,
            opt=opt,
            jit=True,
        )
        self.layout = str(self.tm.target_data)
        self.mpm = llvm.create_new_module_pass_manager()
        self.passes = PASSES if opt > 0 else QUICK_PASSES
        for name in self.passes:
            getattr(self.mpm, f"add_{name}_pass")()
        self.pb = llvm.create_pass_builder(self.tm, llvm.create_pipeline_tuning_options(opt))
        #: its own LLVM context: the compiler thread and the main thread may each be
        #: working in a different instance (a context is not thread-safe)
        self.ctx = llvm.create_context()
        self.ee = llvm.create_mcjit_compiler(llvm.parse_assembly("", self.ctx), self.tm)
        self.modules: list[Any] = []
        # released by a finalizer holding the LLVM objects, not by __del__: an engine and
        # its instances die as one cycle of garbage, and the collector calls the __del__
        # of each object in it in no set order; llvmlite's context going before the
        # execution engine that owns modules of it crashed the process (a segfault in
        # the test suite). Not at exit: the compiler thread may still be in LLVM then.
        self._release = weakref.finalize(
            self, _release_native, self.ee, self.pb, self.mpm, self.ctx
        )
        self._release.atexit = False

    def add(self, text: str) -> Any:
        mod = llvm.parse_assembly(text, self.ctx)
        mod.triple = _host()[0]
        mod.data_layout = self.layout
        mod.verify()
        if self.passes:
            _run_passes(self.mpm, mod, self.pb)  # self.mpm.run(mod, self.pb), unlocked
        self.ee.add_module(mod)
        _finalize_object(self.ee)  # self.ee.finalize_object(), unlocked
        self.modules.append(mod)
        return mod

    def address(self, name: str) -> int:
        return self.ee.get_function_address(name)


def _release_native(ee: Any, pb: Any, mpm: Any, ctx: Any) -> None:
    """Dispose of an MCJIT instance's LLVM objects in an order that is safe: the pass
    builder before the TargetMachine it uses, which the execution engine owns, and the
    engine, which owns the modules, before the context they were made in."""
    mpm.close()
    pb.close()
    ee.close()
    ctx.close()


@attrs.define(eq=False)
class _Job:
    """One unit of native code to build: lowered and compiled by :meth:`run`, on the
    compiler thread or inline; installed by the engine on the main thread."""

    jit: _Native
    env: Env
    unit: int
    names: list  #: (function name, blocks, fast_ram)
    pages: list[set[int]]  #: physical pages of each function's blocks
    generation: int  #: the engine's native generation when queued (a flush starts a new one)
    stale: bool = False  #: a page of its code was written while it compiled
    text: str = ""
    mod: Any = None
    addresses: dict[str, int] = attrs.field(factory=dict)
    ns: int = 0
    error: BaseException | None = None
    counters: dict[str, int] = attrs.field(factory=dict)  #: function -> entry counter
    #: functions that keep guest registers in LLVM registers (loops at the full level)
    promote: set[str] = attrs.field(factory=set)
    #: function -> (block pc -> pcs its indirect jump was seen to reach; codegen.BlockGen)
    targets: dict[str, dict[int, tuple[int, ...]]] = attrs.field(factory=dict)
    quick: bool = False  #: compiled at ``quick_opt`` (codegen.BlockGen's direct_callbacks)
    #: function -> the members of its region it may also be entered at (codegen.BlockGen)
    entries: dict[str, tuple[int, ...]] = attrs.field(factory=dict)
    #: the functions that are packs of unrelated blocks (codegen.BlockGen)
    packs: set[str] = attrs.field(factory=set)

    def run(self) -> None:
        t0 = time.perf_counter_ns()
        try:
            self.text = codegen.lower_blocks(
                self.env,
                self.names,
                self.counters,
                self.promote,
                self.targets,
                self.quick,
                self.entries,
                self.packs,
            )
            self.mod = self.jit.add(self.text)
            self.addresses = {fname: self.jit.address(fname) for fname, _, _ in self.names}
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            self.error = exc
        self.ns = time.perf_counter_ns() - t0


class _Setup:
    """A machine's MCJIT instances and its infrastructure module (the dispatcher, the
    callback stubs and, without paging, the quick units' store helpers), made by
    :meth:`run` on the compiler thread while the hart starts on interp, or inline. The
    module's text is made on the main thread: only LLVM's work moves."""

    def __init__(
        self, quick_opt: int | None, opt: int, text: str, names: list[str], background: bool
    ) -> None:
        self.quick_opt, self.opt, self.text, self.names = quick_opt, opt, text, names
        self.background = background
        #: the instance for the compiler thread's own jobs (JitEngine._jit_bg)
        self.bg: _Native | None = None
        self.quick: _Native | None = None
        self.full: _Native | None = None
        self.addresses: dict[str, int] = {}
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._taken = False
        self._lock = threading.Lock()

    def run(self) -> None:
        """Make it, unless the other thread has begun to: the main thread, needing it
        before the compiler thread got to it, makes it itself rather than wait behind
        other jobs (``ready`` is set either way once it is made)."""
        with self._lock:
            if self._taken:
                return
            self._taken = True
        try:
            self.quick = None if self.quick_opt is None else _Native(self.quick_opt)
            self.full = _Native(self.opt)
            self.bg = _Native(self.opt) if self.background else None
            # the infrastructure is a few instructions a function: the quick level
            # compiles it in a third of the time (2.4 against 6.3 ms, every machine)
            infra = self.quick or self.full
            infra.add(self.text)
            self.addresses = {name: infra.address(name) for name in self.names}
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            self.error = exc
        self.ready.set()


#: compiler threads running; the switch interval is lowered while any runs
_threads = {"running": 0, "switch_interval": 0.0}
_threads_lock = threading.Lock()


def _thread_started() -> None:
    with _threads_lock:
        if _threads["running"] == 0:
            # the thread needs the GIL between LLVM calls; while the hart runs Python
            # (interp, callbacks) it would wait the default 5 ms for it at every handoff
            _threads["switch_interval"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_threads["switch_interval"], SWITCH_INTERVAL))
        _threads["running"] += 1


def _thread_stopped() -> None:
    with _threads_lock:
        _threads["running"] -= 1
        if _threads["running"] == 0:
            sys.setswitchinterval(_threads["switch_interval"])


def _compile_loop(jobs: queue.Queue, owner: weakref.ref) -> None:
    """The compiler thread. Between jobs it holds its :class:`_Compiler` only weakly, so
    an engine nobody uses any more is freed with its LLVM instances (each run's engine
    used to stay alive with its thread: about 16 MB per lists run)."""
    try:
        while (job := jobs.get()) is not None:
            job.run()
            compiler = owner()
            if compiler is not None:
                compiler.done.append(job)
            del compiler, job
            jobs.task_done()
        jobs.task_done()
    finally:
        _thread_stopped()


def _stop_thread(jobs: queue.Queue, thread: threading.Thread) -> None:
    jobs.put(None)
    if thread is not threading.current_thread():
        thread.join(timeout=5)


class _Compiler:
    """A thread that compiles jobs while the hart runs on. LLVM's work happens in C++
    calls that release the GIL, so on a machine with a spare core compile latency leaves
    the critical path; until a job is installed its blocks keep running on interp. The
    thread ends when its engine is freed or at exit, whichever comes first."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[_Job | _Setup | None] = queue.Queue()
        self.done: deque[_Job | _Setup] = deque()
        self.thread: threading.Thread | None = None

    def submit(self, job: _Job | _Setup) -> None:
        if self.thread is None:
            self.thread = threading.Thread(
                target=_compile_loop,
                args=(self.jobs, weakref.ref(self)),
                name="vmcore-jit",
                daemon=True,
            )
            _thread_started()
            self.thread.start()
            # ends the thread when this is freed, or at exit (finalize keeps itself alive)
            weakref.finalize(self, _stop_thread, self.jobs, self.thread)
        self.jobs.put(job)

    def drain(self) -> None:
        """Wait until every submitted job is done."""
        if self.thread is not None:
            self.jobs.join()


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
        #: (mode, pc) -> how often native code left for it, until MISS_LIMIT
        self._misses: dict[tuple[int, int], int] = {}
        #: the keys of _misses halfway to MISS_LIMIT, in the order they got there (a dict
        #: as an ordered set; see _queue_near_misses)
        self._near_misses: dict[tuple[int, int], None] = {}
        self._region_heads: set[tuple[int, int]] = set()  #: (mode, pc) of native regions
        #: (mode, head) of a region -> pcs of the blocks it grew by (see _follow_seen)
        self._grown: dict[tuple[int, int], set[int]] = {}
        self._compiler = _Compiler()
        self._inflight: list[_Job] = []  #: submitted, not yet installed
        self._compiling: set[int] = set()  #: head pcs of the in-flight units
        self._generation = 0
        #: entry counters of quick units (EXIT_HOT), allocated in order, reset on flush
        self._counters = (ctypes.c_uint64 * self.options.max_blocks)()
        self._ncounters = 0
        self._tier2: set[int] = set()  #: pcs queued for recompilation at full opt
        #: (mode, pc) of a block ending in an indirect jump -> targets it was seen to reach
        #: while counted on interp (at most SEEN_TARGETS): regions follow them
        self._seen: dict[tuple[int, int], set[int]] = {}
        self._tlbs: dict[tuple[int, int], Any] = {}  #: (hart, mode) -> software TLB
        self._tlb_arr: Any = None  #: the running hart's TLB (None: no paging)
        self._trap_box = [[0]]  # insn pcs of native "region" entries: the faulting pc
        self._jit: _Native | None = None
        self._jit_quick: _Native | None = None  #: MCJIT instance for straight-line blocks
        #: ... for tier-2 recompiles on the compiler thread (an instance is never shared
        #: between threads: loops compile in ``_jit`` on the main thread meanwhile)
        self._jit_bg: _Native | None = None
        self._graveyard: list[_Native] = []
        #: the native infrastructure, being made on the compiler thread (_start_native)
        self._setup: _Setup | None = None
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
            native_fp=self.options.native_fp and fpnative.library() is not None,
            host_fp=self.options.host_fp,
            cc=codegen.block_cc(_host()[0]),
        )
        self.env.counters = ctypes.addressof(self._counters)
        self.env.hot_entries = self.options.hot_entries
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
            setup, self._setup = self._setup, None
            if setup is None:
                setup = self._new_setup()
            setup.run()
            setup.ready.wait()
            if setup.error is not None:
                raise setup.error
            self._jit_quick, self._jit = setup.quick, setup.full
            self._jit_bg = self._jit_bg or setup.bg
            addr = setup.addresses
            self.env.stubs = {
                name: addr[f"vm_cb_{name}"]
                for name in codegen.CALLBACK_ARITY
                if f"vm_cb_{name}" in addr
            }
            helpers = quickmem.helper_names(False)  # in the set-up without paging
            self.env.store_helpers.update({name: addr[name] for name in helpers if name in addr})
            self._dispatch = _DISPATCH(addr["vm_dispatch"])
            self._miss_stub = addr["vm_miss"]
            for _mode, table in self._tables.items():
                self._clear_table(table)
        return self._jit

    def _new_setup(self) -> _Setup:
        """The native infrastructure to make (see _Setup): its LLVM IR text."""
        quick = self.options.quick_opt
        quick_opt = quick if 0 <= quick < self.options.opt else None
        stubs = codegen.callback_stubs(self.env, _host()[0])
        text = codegen.dispatcher(self.env) + stubs
        names = ["vm_dispatch", "vm_miss"]
        if stubs:
            names += [f"vm_cb_{name}" for name in codegen.CALLBACK_ARITY]
        if quick_opt is not None and self.env.ram_size > 0:
            # the store helpers without paging: all a user-mode program needs
            text += quickmem.store_helpers(self.env, False)
            names += quickmem.helper_names(False)
        return _Setup(quick_opt, self.options.opt, text, names, self._background())

    def _start_native(self) -> None:
        """Have the compiler thread make the native infrastructure while the hart runs on
        interp, from the first loop interp finds (lists: in glibc's start-up, about 40 ms
        before its first unit): creating the MCJIT instances and compiling the dispatcher
        and the helpers cost every run 6-8 ms on the main thread. A program without loops
        (most tests) makes none of it unless it compiles."""
        if self._jit is None and self._setup is None and self._background():
            self._setup = self._new_setup()
            self._compiler.submit(self._setup)

    def _background(self) -> bool:
        return self.options.background and self.options.threshold > 0 and not self.options.dump

    def _store_helpers(self, tlb: bool) -> None:
        """Compile the quick units' store helpers for RAM without paging, or through the
        TLB, into the quick instance, once (see quickmem)."""
        names = quickmem.helper_names(tlb)
        if names[0] in self.env.store_helpers:
            return
        self._jit_quick.add(quickmem.store_helpers(self.env, tlb))
        self.env.store_helpers.update({name: self._jit_quick.address(name) for name in names})

    def _table_address(self, mode: int) -> int:
        table = self._tables.get(mode)
        if table is None:
            # two ways of _tsize entries (see _install), an entry two words (pc, function)
            table = self._tables[mode] = (ctypes.c_uint64 * (4 * self._tsize))()
            self._clear_table(table)
        return ctypes.addressof(table)

    def _clear_table(self, table: Any) -> None:
        stub = self._miss_stub if self._jit is not None else 0
        # one bytes pattern copied in whole: filling the two slices from lists took
        # about 1.5 ms per table, twice per machine
        pattern = struct.pack("QQ", EMPTY, stub) * (2 * self._tsize)  # host byte order
        ctypes.memmove(table, pattern, len(pattern))

    def _install(self, mode: int, pc: int, addr: int) -> None:
        """Put ``pc``'s native code in its entry in the table's first way, where native
        code finds it inline. A block that held that entry moves to its entry in the
        second way, where the dispatcher finds it: two hot blocks sharing an entry in
        the first way would otherwise evict each other at every step, a miss and a
        round trip to Python each time. A pc has one entry in one way at most."""
        self._table_address(mode)
        table = self._tables[mode]
        env = self.env
        i, j = env.entry(pc), env.entry2(pc)
        if table[j] == pc:
            table[j] = EMPTY
            table[j + 1] = self._miss_stub
        held = table[i]
        if held != pc and held != EMPTY:
            k = env.entry2(held)
            table[k] = held
            table[k + 1] = table[i + 1]
        table[i] = pc
        table[i + 1] = addr

    def _uninstall(self, mode: int, pc: int) -> None:
        table = self._tables.get(mode)
        if table is None:
            return
        for i in (self.env.entry(pc), self.env.entry2(pc)):
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

    def compile(self, cpu: Cpu, block: Block) -> Any:
        """interp's runnable, marked when the block ends in an indirect jump (its counter
        then remembers the targets seen)."""
        fn = super().compile(cpu, block)
        if _jumps_indirect(block):
            fn.jumps_indirect = True
        return fn

    def _tier_up_tier0(self, run: Any, cpu: Cpu) -> Any:
        """interp's promotion of a tier-0 block to Python, unless the jit is about to
        compile the block: its heat is half way to ``threshold``, so it stays on tier 0
        until it is native. (95% of the blocks compiled to Python in a busybox grep, the
        C++ test or a shell loop were compiled by the jit later, after a median of 32-36
        runs as Python: 190-330 us of compile() to save about 2 us a run.)"""
        origin = getattr(run, "origin", None)
        if origin is not None:
            ent = dict.get(self.cache.table(origin[0]), origin[1])
            heat = getattr(ent[0], "heat", None) if ent is not None else None
            if heat is not None and 2 * heat[0] >= self.options.threshold:
                return None
        return super()._tier_up_tier0(run, cpu)

    def block_of(self, cpu: Cpu, fn: Any) -> Block | None:
        """interp's, for the runnable a counting wrapper wraps (which keeps the block)."""
        return super().block_of(cpu, getattr(fn, "inner", fn))

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
        region_threshold = self.options.region_threshold
        if region_threshold is None:
            region_threshold = REGION_FACTOR * threshold
        heat = [0]
        engine = self
        native = self._native[mode]
        # (constants bound as defaults: one tuple per block, where cells were one object
        # per name for the garbage collector to walk)

        if kind is REGION:
            self._start_native()  # a program with loops is likely to compile something
            # a call on interp runs at most call_limit instructions: a loop's first call
            # would otherwise take the whole slice (200,000 instructions); one that was cut
            # there (it retired more than call_limit less its longest block) is hot
            loop_call = self.options.loop_call
            call_limit = min(loop_call, region_threshold) if loop_call > 0 else region_threshold
            long_call = call_limit - max(map(len, ent[3]), default=0) if loop_call > 0 else 1 << 62

            def counted(
                S: Any,
                C: Any,
                heat: list = heat,
                fn: Any = fn,
                eager: bool = eager,
                engine: JitEngine = engine,
                mode: int = mode,
                pc: int = pc,
                ent: tuple = ent,
                native: dict = native,
                region_threshold: int = region_threshold,
                call_limit: int = call_limit,
                long_call: int = long_call,
            ) -> int:
                if eager:
                    engine._hot(C, mode, pc, ent)
                    if pc in native:
                        return engine._enter(C, pc, C.loop_limit, mode)
                C.loop_limit = min(C.loop_limit, call_limit)
                try:
                    return fn(S, C)
                finally:
                    heat[0] += C.iters + ENTRY_WEIGHT
                    if heat[0] >= region_threshold or C.iters > long_call:
                        engine._hot(C, mode, pc, ent)

        else:
            indirect = getattr(fn, "jumps_indirect", False) and fn.origin[1] == pc
            seen = self._seen.setdefault((mode, pc), set()) if indirect else None

            def counted(
                S: Any,
                C: Any,
                heat: list = heat,
                fn: Any = fn,
                weight: int = n + ENTRY_WEIGHT,
                threshold: int = threshold,
                eager: bool = eager,
                engine: JitEngine = engine,
                mode: int = mode,
                pc: int = pc,
                ent: tuple = ent,
                n: int = n,
                native: dict = native,
                seen: set | None = seen,
            ) -> int:
                heat[0] += weight
                if heat[0] >= threshold or eager:
                    engine._hot(C, mode, pc, ent)
                    if eager and pc in native:
                        return engine._enter(C, pc, n, mode, single=True)
                target = fn(S, C)
                if seen is not None and len(seen) < SEEN_TARGETS:
                    seen.add(target)
                return target

        counted.counted = True
        counted.inner = fn
        if kind is not REGION:  # see _tier_up_tier0
            counted.heat = heat
        return counted

    def _hot(self, cpu: Cpu, mode: int, pc: int, ent: tuple) -> None:
        """Queue the blocks of a hot entry for compilation; put the raw entry back."""
        if self._compiler.done and self._depth == 0:
            self._collect()
        table = self.cache.table(mode)
        if table.get(pc) is not None and hasattr(table[pc][0], "inner"):
            dict.__setitem__(table, pc, (table[pc][0].inner, *table[pc][1:]))
        if mode != cpu.isa.mode_key(cpu):
            return
        fast = self.ram is not None and cpu.mmu.is_identity()
        if ent[2] is REGION:
            self._queue_region(cpu, mode, [pcs[0] for pcs in ent[3] if pcs], fast)
        elif pc not in self._native[mode] and not self._pending(pc):
            block = self.block_of(cpu, ent[0])
            if block is not None and block.pc == pc:
                self._enqueue(cpu, self._superblock(cpu, mode, block), fast)
        if (
            len(self._queue) >= self.options.batch
            or ent[2] is REGION
            or self.options.threshold <= 0
        ):
            self._compile_queue()

    def _region_function(self, blocks: list[Block], runnables: list[Any], fast: bool) -> Any:
        """interp's region of a hot loop, without compiling Python source: its blocks' own
        runnables, chained (interp's chain_region). Here a region only counts the loop's
        instructions until ``region_threshold`` and lasts a few ms before native code
        replaces it; compiling its source cost more than it saved (sort 20: 0.68 -> 0.64
        s, lists 10: 0.165 -> 0.156 s)."""
        return chain_region(blocks, [getattr(fn, "inner", fn) for fn in runnables])

    def _tier_up(self, cpu: Cpu, mode: int, pc: int) -> None:
        """A quick unit at ``pc`` got hot: queue it for compilation at the full level (it
        replaces the quick one when installed; the queue compiles at the next slice)."""
        if mode != cpu.isa.mode_key(cpu) or self._pending(pc):
            return
        try:
            block = self.lift(cpu, pc)
        except (GuestTrap, BusError):
            return
        self._enqueue(cpu, [block], self.ram is not None and cpu.mmu.is_identity())
        self._tier2.add(pc)
        self.stats["tier2_queued"] += 1
        if len(self._queue) >= self.options.batch:
            self._compile_queue()

    def _enqueue(self, cpu: Cpu, blocks: list[Block], fast: bool) -> None:
        """Queue a unit (entered at its first block) with the code pages it comes from."""
        pages: set[int] = set()
        for block in blocks:
            pages |= self._mark_code_pages(cpu, block)
        self._queue.append((blocks, fast, pages))
        self._queued.add(blocks[0].pc)

    def _pending(self, pc: int) -> bool:
        """Whether a unit headed at ``pc`` is queued or compiling."""
        return pc in self._queued or pc in self._compiling

    def _superblock(self, cpu: Cpu, mode: int, block: Block) -> list[Block]:
        """``block`` and the blocks that already ran which it reaches by direct exits
        (breadth first, at most ``superblock`` blocks): one native function in which those
        transitions are plain branches."""
        blocks = [block]
        seen = {block.pc}
        todo = block.direct_targets()
        table = self.cache.table(mode)
        while todo and len(blocks) < self.options.superblock:
            pc = todo.pop(0)
            if pc in seen:
                continue
            seen.add(pc)
            member = self._joinable(cpu, table, pc)
            if member is not None:
                blocks.append(member)
                todo += member.direct_targets()
        return blocks

    def _joinable(self, cpu: Cpu, table: dict, pc: int) -> Block | None:
        """The block at ``pc`` if it may join a unit: it already ran (so it is in the
        mode's ``table``), it lifts, it starts at ``pc`` and it needs no sync."""
        if dict.get(table, pc) is None:
            return None
        try:
            block = self._block_at(cpu, table, pc)
        except (GuestTrap, BusError):
            return None
        return None if block.pc != pc or block.sync else block

    def _block_at(self, cpu: Cpu, table: dict, pc: int) -> Block:
        """The block at ``pc``: the one its runnable in the mode's ``table`` keeps or lifts
        again (see block_of: then it keeps it), else lifted now (raising what lift raises)."""
        ent = dict.get(table, pc)
        if ent is not None:
            block = self.block_of(cpu, ent[0])
            if block is not None and block.pc == pc:
                return block
        return self.lift(cpu, pc)

    def _queue_region(self, cpu: Cpu, mode: int, starts: list[int], fast: bool) -> None:
        """Queue interp's hot region as one native function entered at its head, and each
        other member block alone (they are entered from outside too, after a return say,
        or when the loop is entered past its head: leaving them to the compiler thread
        cost lists 1000 more in misses than it saved in compile time). In the background
        mode the members queued with their region become entries of its quick code
        instead (_fold_members)."""
        native = self._native[mode]
        table = self.cache.table(mode)
        blocks = []
        for start in starts:
            if start == EMPTY:
                continue
            try:
                block = self._block_at(cpu, table, start)
            except (GuestTrap, BusError):
                continue
            if block.pc != start:
                continue
            blocks.append(block)
            if start != starts[0] and start not in native and not self._pending(start):
                self._enqueue(cpu, [block], fast)
        blocks = self._follow_seen(cpu, mode, blocks)
        head = starts[0] if starts else EMPTY
        if blocks and blocks[0].pc == head and not self._pending(head):
            if (mode, head) in self._region_heads and head in native:
                return
            self._enqueue(cpu, blocks, fast)
            self._region_heads.add((mode, head))

    def _follow_seen(self, cpu: Cpu, mode: int, blocks: list[Block]) -> list[Block]:
        """``blocks`` and the blocks their indirect jumps were seen to reach that lead back
        into them (by direct branches or seen jumps, through at most SEEN_BLOCKS blocks): a
        loop that calls through a function pointer (qsort's comparison) then runs the
        callee and returns without leaving its function. Paths that never come back (a
        return to another caller) stay out: they would only cost compile time."""
        members = {b.pc for b in blocks}
        table = self.cache.table(mode)
        found: dict[int, Block] = {}
        succ: dict[int, list[int]] = {}
        todo = [t for b in blocks for t in self._seen.get((mode, b.pc), ())]
        tried: set[int] = set()
        while todo and len(found) < SEEN_BLOCKS:
            pc = todo.pop(0)
            if pc in members or pc in tried:
                continue
            tried.add(pc)
            block = self._joinable(cpu, table, pc)
            if block is None:
                continue
            found[pc] = block
            succ[pc] = [*block.direct_targets(), *self._seen.get((mode, pc), ())]
            todo += succ[pc]
        back = set(members)
        grew = True
        while grew:
            grew = False
            for pc, targets in succ.items():
                if pc not in back and any(t in back for t in targets):
                    back.add(pc)
                    grew = True
        added = [block for pc, block in found.items() if pc in back]
        if added:
            self._grown[(mode, blocks[0].pc)] = {b.pc for b in added}
        return blocks + added

    def _seen_targets(self, blocks: list[Block]) -> dict[int, tuple[int, ...]]:
        """The seen targets a region's indirect jumps branch to. The blocks it grew by
        keep all theirs; its own blocks keep theirs but the return points of calls made
        from the region (a recursive function returning into itself): as switches those
        made LLVM's work on merge sort's region several times longer for no gain, while
        a switch's jump table among its own cases is what a state machine needs."""
        if len(blocks) < 2:
            return {}
        added = self._grown.get((blocks[0].mode, blocks[0].pc), set())
        returns = {b.end for b in blocks if _links(b)}
        out = {}
        for b in blocks:
            seen = self._seen.get((b.mode, b.pc), set())
            keep = seen if b.pc in added else {t for t in seen if t not in returns}
            if keep:
                out[b.pc] = tuple(sorted(keep))
        return out

    def _compile_queue(self) -> None:
        """Compile the queue: loops (regions, blocks that jump to themselves) with the full
        optimisation level, straight-line blocks with ``quick_opt``, which LLVM compiles
        several times faster (they are entered through the table anyway). In the
        background mode a loop is compiled both ways: quickly inline, so that it runs
        natively at once, and at the full level on the compiler thread."""
        queue, self._queue = self._queue, []
        self._queued.clear()
        if not queue:
            return
        if self._nblocks + len(queue) > self.options.max_blocks:
            self._flush_native()
        self._native_jit()
        background = self._background()
        if self._jit_quick is None:  # no quick units, so nothing to run meanwhile
            self._compile_unit(self._jit, queue)
            return
        quick, full, again = [], [], []  # again: tier-2 recompiles of quick units
        for q in queue:
            blocks = q[0]
            if blocks[0].pc in self._tier2:
                again.append(q)
            elif _is_loop(blocks, self._seen_targets(blocks)):
                full.append(q)
            else:
                quick.append(q)
        self._tier2.difference_update(q[0][0].pc for q in again)
        # a region that is no loop here (its cycle runs through a call and the callee's
        # return) compiles quickly only; in the background the loops compile quickly too
        # (otherwise only at the full level, without member entries: theirs stay quick)
        regions = [q for q in quick if len(q[0]) > 1]
        loops = {q[0][0].pc for q in full}
        quick, entries = self._fold_members(quick, regions + full if background else regions)
        quick, packs = self._packed(quick, entries)
        if background:  # loops run quickly compiled until their optimised code lands
            quick, again, full = quick + full, again + full, []
        # inline: until they land, their blocks would run on interp
        if quick:
            self._compile_unit(
                self._jit_quick,
                quick,
                counted=self.options.hot_entries > 0,
                entries=entries,
                packs=packs,
                loops=loops,
            )
        if full:
            self._compile_unit(self._jit, full)
        if again:  # in the background the quick code they replace runs meanwhile
            if background and self._jit_bg is None:
                self._jit_bg = _Native(self.options.opt)
            self._compile_unit(self._jit_bg if background else self._jit, again)

    @staticmethod
    def _fold_members(quick: list, regions: list) -> tuple[list, dict[int, tuple[int, ...]]]:
        """Take out of ``quick`` the single blocks that are members of a region in
        ``regions`` (queued alone with it by _queue_region): the region's quick code is
        entered at them instead (see codegen.BlockGen.member_entries). Returns the rest of
        ``quick`` and, per region head, its members taken. Compiled one by one, lists'
        state machine added 16 functions to its region's module, 50 KB of LLVM IR and 11
        ms of inline compile; a busybox grep compiled 247 such blocks into packs, most
        never entered (the regions they belong to were no loops by _is_loop, which sees
        no cycle through a call's return)."""
        member_of = {b.pc: q[0][0].pc for q in regions if len(q[0]) > 1 for b in q[0][1:]}
        rest, taken = [], defaultdict(list)
        for q in quick:
            head = member_of.get(q[0][0].pc) if len(q[0]) == 1 else None
            if head is None:
                rest.append(q)
            else:
                taken[head].append(q[0][0].pc)
        return rest, {head: tuple(pcs) for head, pcs in taken.items()}

    def _packed(self, quick: list, entries: dict[int, tuple[int, ...]]) -> tuple[list, set[int]]:
        """``quick`` with its single blocks put in packs of at most ``pack`` blocks (one
        function each, entered at any of its blocks: see codegen.BlockGen), and the pcs of
        the packs' heads. Each pack's blocks go into ``entries`` as a region's members
        do. A busybox shell loop compiled 650 of its 1,983 quick blocks as a function
        each; in packs it has 206 functions instead of 748, and its quick compiles take
        about 15% less (LLVM's fixed cost per function, and the entry and exit blocks each
        function repeats)."""
        size = self.options.pack
        if size <= 1:
            return quick, set()
        rest, singles = [], defaultdict(list)
        for q in quick:
            blocks, fast, _ = q
            if len(blocks) == 1 and blocks[0].pc not in entries:
                singles[fast].append(q)
            else:
                rest.append(q)
        heads = set()
        for fast, items in singles.items():
            for i in range(0, len(items), size):
                group = items[i : i + size]
                if len(group) == 1:
                    rest.append(group[0])
                    continue
                blocks = [q[0][0] for q in group]
                pages = set().union(*(q[2] for q in group))
                rest.append((blocks, fast, pages))
                entries[blocks[0].pc] = tuple(b.pc for b in blocks[1:])
                heads.add(blocks[0].pc)
        return rest, heads

    def _compile_unit(
        self,
        jit: _Native,
        queue: list,
        counted: bool = False,
        entries: dict[int, tuple[int, ...]] | None = None,
        packs: set[int] | None = None,
        loops: set[int] | None = None,
    ) -> None:
        """Lower and compile ``queue`` as one module in ``jit``: inline, or on the compiler
        thread when ``jit`` is the background instance. ``entries``: per region head, the
        members its function may also be entered at (_fold_members); ``packs``: the heads
        of packs among them (_packed); ``loops``: the heads of loops whose code at the
        full level is on its way (their quick code does not count entries at the head)."""
        unit = self._units
        self._units += 1
        names = [(f"u{unit}_b{i}", unit_, fast) for i, (unit_, fast, _) in enumerate(queue)]
        for blocks, _, _ in queue:
            self._table_address(blocks[0].mode)  # made here: the job only reads it
        job_entries = {
            fname: entries[blocks[0].pc]
            for fname, blocks, _ in names
            if entries and len(blocks) > 1 and blocks[0].pc in entries
        }
        job_packs = {fname for fname, blocks, _ in names if packs and blocks[0].pc in packs}
        counters = {}
        if counted:
            counted_names = []
            for fname, blocks, _ in names:
                if fname in job_entries:
                    # each member entry (see codegen.BlockGen.member_entries), and the head
                    # unless it is a loop's, whose full-level code is on its way
                    pcs = job_entries[fname]
                    counted_names += [] if blocks[0].pc in (loops or ()) else [fname]
                    counted_names += [codegen.entry_name(fname, k) for k in range(1, len(pcs) + 1)]
                else:
                    counted_names.append(fname)
            for fname in counted_names:
                if self._ncounters < len(self._counters):
                    counters[fname] = self._ncounters
                    self._ncounters += 1
        if jit is self._jit_quick and self.env.ram_size > 0:
            for tlb in {not fast for _, _, fast in names}:
                self._store_helpers(tlb)
        job = _Job(jit, self.env, unit, names, [p for _, _, p in queue], self._generation)
        job.counters = counters
        job.entries = job_entries
        job.packs = job_packs
        job.quick = jit is self._jit_quick
        # loops at the full level keep registers in LLVM registers: they repay the write-backs
        promote = not job.quick and self.options.promote
        for fname, blocks, _ in names:
            if fname in job_packs:
                continue
            seen, members = self._seen_targets(blocks), {b.pc for b in blocks}
            if seen:
                job.targets[fname] = seen
                # indirect jumps that may now stay in their unit
                self.stats["seen_jumps"] += sum(not members.isdisjoint(t) for t in seen.values())
            if promote and _is_loop(blocks, seen):
                job.promote.add(fname)
        if jit is self._jit_bg:
            self._inflight.append(job)
            self._compiling.update(blocks[0].pc for blocks, _, _ in queue)
            self._compiler.submit(job)
        else:
            job.run()
            self._install_job(job)

    def _collect(self) -> None:
        """Install the jobs the compiler thread has finished (on the main thread)."""
        done = self._compiler.done
        while done:
            job = done.popleft()
            if isinstance(job, _Setup):  # taken by _native_jit
                continue
            self._inflight.remove(job)
            self._compiling.difference_update(blocks[0].pc for _, blocks, _ in job.names)
            if job.generation != self._generation or job.stale:
                self.stats["compiles_discarded"] += 1
                continue
            self._install_job(job)
            self.stats["background_units"] += 1

    def _install_job(self, job: _Job) -> None:
        if job.error is not None:
            raise job.error
        names, jit, text, mod, unit = job.names, job.jit, job.text, job.mod, job.unit
        for (fname, blocks, _), pages in zip(names, job.pages, strict=True):
            addr = job.addresses[fname]
            self._install_entry(blocks[0], addr, pages)
            members = {b.pc: b for b in blocks} if fname in job.entries else {}
            for pc in job.entries.get(fname, ()):  # the function itself (codegen.BlockGen)
                self._install_entry(members[pc], addr, pages)
                self.stats["member_entries"] += 1
        nblocks = sum(len(blocks) for _, blocks, _ in names)
        self._nblocks += nblocks
        self.stats["native_blocks"] += nblocks
        self.stats["native_regions"] += sum(
            len(blocks) > 1 and fname not in job.packs for fname, blocks, _ in names
        )
        self.stats["packed_blocks"] += sum(
            len(blocks) for fname, blocks, _ in names if fname in job.packs
        )
        self.stats["units"] += 1
        self.stats["compile_ns"] += job.ns
        if self.options.dump:
            from vmcore_jit_llvm.dump import dump_unit

            dump_unit(Path(self.options.dump), unit, text, mod, jit, names)

    def _install_entry(self, blk: Block, addr: int, pages: set[int]) -> None:
        """Native code at ``addr`` runs from block ``blk`` on: in the translation table,
        and in interp's cache (through a trampoline), dropped with any of ``pages``."""
        mode, pc = blk.mode, blk.pc
        self._native[mode][pc] = addr
        self._install(mode, pc, addr)
        for page in pages:
            self._native_pages[page].append((mode, pc))
        entry = (self._trampoline(mode, pc), len(blk.insns), REGION, self._trap_box)
        self.cache.add(mode, pc, entry, pages)

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
        for job in self._inflight:
            if any(paddr >> PAGE_SHIFT in pages for pages in job.pages):
                job.stale = True
        for mode, pc in self._native_pages.pop(paddr >> PAGE_SHIFT, ()):
            if self._native[mode].pop(pc, None) is not None:
                self._uninstall(mode, pc)
                self.stats["native_invalidations"] += 1
        if self._queue:
            self._queue = [q for q in self._queue if (paddr >> PAGE_SHIFT) not in q[2]]
            self._queued = {q[0][0].pc for q in self._queue}

    def flush(self) -> None:
        """Drop every translation (the ISA calls this when mappings change: satp writes,
        sfence.vma), and so every software TLB entry too."""
        super().flush()
        for tlb in self._tlbs.values():
            self._clear_tlb(tlb)
        self._seen.clear()  # seen targets are virtual pcs of the mappings now gone
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
        self._region_heads.clear()
        self._grown.clear()
        self._generation += 1
        ctypes.memset(self._counters, 0, ctypes.sizeof(self._counters))
        self._ncounters = 0
        self._tier2.clear()
        self._misses.clear()  # the blocks made hot by misses have no native code now
        self._near_misses.clear()
        self._queue.clear()
        self._queued.clear()
        if self._jit is not None:
            self._graveyard.append(self._jit)
            for other in (self._jit_quick, self._jit_bg):
                if other is not None:
                    self._graveyard.append(other)
            self._jit = self._jit_quick = self._jit_bg = None
            self.env.store_helpers.clear()  # they lived in the quick instance
        self._nblocks = 0
        self.stats["native_flushes"] += 1

    def run(self, cpu: Cpu, budget: int) -> int:
        self._cpu_for_wrap = cpu
        if self._depth == 0:
            if self._graveyard:
                self._compiler.drain()  # no job may still be compiling into a dead instance
                self._collect()
                self._graveyard.clear()
                if self._jit is None:
                    self._sites = []
            if self._queue:
                self._compile_queue()
            self._collect()
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
            access = Access.LOAD
            if size & LOAD_RMW:  # an atomic's read (codegen.LOAD_RMW)
                access, size = Access.STORE, size - LOAD_RMW
            value = cpu.read_virtual(addr, size, access)
            cpu.progress = 0
            if self._tlb_arr is not None:
                self._refill(cpu, addr, size, access)
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
            cpu.write_virtual(addr, size, lo | (hi << 64))
            cpu.progress = 0
            if self._tlb_arr is not None:
                self._refill(cpu, addr, size, Access.STORE)
            self._check_stop(cpu)
            return 2 if self._code_writes != before else 0
        except BaseException as exc:  # noqa: BLE001
            self._cpu.progress = 0
            self._exc = exc
            return 1

    def _refill(self, cpu: Cpu, addr: int, size: int, access: Access) -> None:
        """After a slow access under paging: map its page in the software TLB if it is in
        main RAM (a store's refill makes the page writable too; the MMU has set D)."""
        ram = self.ram
        if (addr & 0xFFF) + size > 0x1000 or cpu.mmu.is_identity():
            return
        off = (cpu.mmu.translate(addr, access) & ~0xFFF) - ram.base
        if not 0 <= off < ram.size:
            return
        tlb = self._tlb_arr
        self.stats["tlb_refills"] += 1
        vpn = addr >> PAGE_SHIFT
        e = codegen.TLB_WORDS * (vpn & (codegen.TLB_ENTRIES - 1))
        tlb[e + 2] = (off - (vpn << PAGE_SHIFT)) & M64
        tlb[e] = vpn
        if access == Access.STORE:
            tlb[e + 1] = vpn
        elif tlb[e + 1] != vpn:
            tlb[e + 1] = codegen.EMPTY_TAG

    def _tlb_for(self, cpu: Cpu, mode: int) -> Any:
        """The software TLB of ``cpu`` in ``mode`` (one per hart and mode key: the key
        holds everything permissions depend on)."""
        tlb = self._tlbs.get((cpu.index, mode))
        if tlb is None:
            words = codegen.TLB_WORDS * codegen.TLB_ENTRIES
            tlb = self._tlbs[(cpu.index, mode)] = (ctypes.c_uint64 * words)()
            self._clear_tlb(tlb)
        return tlb

    @staticmethod
    def _clear_tlb(tlb: Any) -> None:
        """Forget every mapping, in place (native code may hold the TLB's address)."""
        tlb[0 :: codegen.TLB_WORDS] = [codegen.EMPTY_TAG] * codegen.TLB_ENTRIES
        tlb[1 :: codegen.TLB_WORDS] = [codegen.EMPTY_TAG] * codegen.TLB_ENTRIES

    def _cb_codew(self, offset: int, size: int) -> int:
        try:
            self.machine.bus.note_write(self.ram, offset, size)
            return 0
        except BaseException as exc:  # noqa: BLE001
            self._exc = exc
            return 1

    def _cb_call(self, index: int) -> int:
        self.stats["helper_calls"] += 1
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
        if self._compiler.done and self._depth == 0:
            self._collect()  # native code compiled meanwhile: the sooner the better
        arr = self._state_buffer(cpu)
        S = cpu.s
        base = self.nslots
        self._pack.pack_into(arr, 0, *S)
        arr[base + USED] = 0
        arr[base + LIMIT] = max(0, left)
        arr[base + EXIT] = 0
        self._install(mode, pc, self._native[mode][pc])
        tlb = None
        if self.ram is not None and not cpu.mmu.is_identity():
            tlb = self._tlb_for(cpu, mode)
            arr[base + TLB] = ctypes.addressof(tlb)
        prev = (self._cpu, self._arr, self._entry_instret, self._tlb_arr)
        entry_instret = cpu.instret
        self._cpu, self._arr, self._entry_instret, self._tlb_arr = cpu, arr, entry_instret, tlb
        self._stop_req = False
        self._exc = None
        self._depth += 1
        try:
            npc = self._dispatch(ctypes.addressof(arr), ctypes.addressof(self._tables[mode]), pc)
        finally:
            self._depth -= 1
            self._cpu, self._arr, self._entry_instret, self._tlb_arr = prev
        S[:] = self._pack.unpack_from(arr)
        used = arr[base + USED]
        cpu.instret = entry_instret
        cpu.iters = used
        reason = arr[base + EXIT]
        stats = self.stats
        stats["native_entries"] += 1
        stats["native_insns"] += used
        stats["exit_" + EXIT_NAMES.get(reason, str(reason))] += 1
        if reason == EXIT_MISS:
            self._missed(cpu, mode, npc)
        elif reason == EXIT_HOT:
            self._tier_up(cpu, mode, npc)
        elif reason in (EXIT_TRAP, EXIT_EXC, EXIT_MISALIGN):
            trap = self._native_trap(cpu, reason)
            self._trap_box[0] = [arr[base + TRAP_PC]]
            if single:  # a plain interp entry: the trap names the instruction in the block
                trap.insn_index = arr[base + K]
            else:
                trap.block_index = 0
                trap.insn_index = 0
                trap.done = used
            raise trap
        if single and used < left:  # a plain interp entry counts the whole block
            raise EarlyExit(npc, used)
        return npc

    def _missed(self, cpu: Cpu, mode: int, pc: int) -> None:
        """Native code left for ``pc``. If it waits in the queue, compile it now, not when
        the queue fills or the slice ends (each pass would miss again, a round trip to
        Python of about 12 us). (Compiling a region's members that wait for the compiler
        thread at their first miss, one unit each, cost lists' state machine 18 small
        compiles, 23 ms, against 5 ms of misses.) The MISS_LIMIT-th miss on a block
        makes it hot (see MISS_LIMIT)."""
        if pc in self._queued and self._depth == 0:
            self._queue_near_misses(cpu, mode)
            self._compile_queue()
            return
        key = (mode, pc)
        n = self._misses.get(key, 0) + 1
        if n > MISS_LIMIT or self.options.threshold <= 0:
            return
        self._misses[key] = n
        if n == MISS_LIMIT // 2:
            self._near_misses[key] = None
        elif n == MISS_LIMIT:
            self._near_misses.pop(key, None)
        ent = self.cache.table(mode).get(pc)
        if n == MISS_LIMIT and ent is not None and self._depth == 0:
            self._hot(cpu, mode, pc, ent)

    def _queue_near_misses(self, cpu: Cpu, mode: int) -> None:
        """Before a compile forced by a miss, queue the blocks halfway to MISS_LIMIT too:
        the blocks of one outer loop miss in step, each about to become hot, and each
        would otherwise cost a module of its own (about 2 ms, mostly MCJIT's fixed cost)
        a moment later. (They are kept apart from the other misses: walking all of those
        at every forced compile took Lua's garbage-collector test 0.6 s.)"""
        table = self.cache.table(mode)
        for key in [key for key in self._near_misses if key[0] == mode]:
            ent = table.get(key[1])
            if ent is not None and ent[2] is not REGION:  # (a region compiles in _hot)
                self._misses[key] = MISS_LIMIT
                del self._near_misses[key]
                self._hot(cpu, mode, key[1], ent)

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
