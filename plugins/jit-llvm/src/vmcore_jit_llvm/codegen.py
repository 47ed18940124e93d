"""Lowering of vmcore IR blocks to LLVM IR (textual, opaque pointers).

Each block becomes ``i64 @name(ptr %S)``: ``%S`` is the hart's native state buffer (the ISA's
slots followed by the control slots below). A block checks the instruction budget on entry,
keeps guest state in memory (LLVM promotes what it can), and at its exit looks its successor
up in the mode's direct-mapped translation table and tail-calls it (native chaining); on a
table miss it returns the next pc to the dispatcher loop, which returns to Python.

Abnormal exits (budget, guest trap, a callback that raised, a misaligned access) store the
reason and the faulting instruction's index and pc in the control slots and return; the
engine then makes the state precise exactly as ``interp`` does.

Python is reached through ctypes callbacks with integer arguments only; bulk arguments and
results travel through one engine-wide ``io`` buffer at a fixed address (the emulator is
single-threaded, callbacks never nest).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from vmcore.ir import Access, Block, Op, Value, load_access, mask, to_signed
from vmcore_jit_llvm import fpnative

M64 = mask(64)

# -- control slots (after the ISA's slots) ----------------------------------------------------
USED = 0  #: instructions retired since entering native code
LIMIT = 1  #: enter a block only if USED + its length <= LIMIT (0 = exit at the next block)
EXIT = 2  #: exit reason (EXIT_*)
K = 3  #: index of the faulting instruction in its block
TRAP_PC = 4  #: its pc
CAUSE = 5  #: trap cause, or Access of a misaligned access
TVAL = 6  #: trap value, or the misaligned address
TLB = 7  #: address of the running hart's software TLB for the current mode
ENTRY = 8  #: the pc a block function is entered for: every tail call and the dispatcher set
#: it, and a unit with member entries switches on it (see BlockGen)
NCTL = 9

#: software TLB (paging on): direct-mapped by virtual page number, entries of three words
#: [page number readable, page number writable, addend] where addend turns the virtual
#: address into an offset in main RAM; EMPTY_TAG never matches
TLB_ENTRIES = 256
TLB_WORDS = 3
EMPTY_TAG = (1 << 64) - 1

EXIT_NONE = 0
EXIT_MISS = 1  #: next pc not in the native table
EXIT_BUDGET = 2  #: budget (or a stop request) ends the run before the next block
EXIT_TRAP = 3  #: trap / trap_if op
EXIT_EXC = 4  #: a Python callback raised (the engine holds the exception)
EXIT_MISALIGN = 5  #: aligned load/store at a misaligned address
EXIT_SYNC = 6  #: a sync block finished: the run loop must look at the hart (mode, irqs)
EXIT_HOT = 7  #: a quickly compiled unit got hot: recompile it optimised (nothing retired)
EXIT_NAMES = {
    1: "miss",
    2: "budget",
    3: "trap",
    4: "exception",
    5: "misaligned",
    6: "sync",
    7: "hot",
}

#: branch weight metadata every module defines: the numbers of the nodes for "the first
#: successor is rare" and "the first is the usual one" (BlockGen.branch_cold/branch_hot)
COLD_FIRST = 0
HOT_FIRST = 1
_RARE_FIRST = '!{!"branch_weights", i32 1, i32 2000}'
_RARE_SECOND = '!{!"branch_weights", i32 2000, i32 1}'

# -- io buffer layout -------------------------------------------------------------------------
IO_R0 = 0  #: result (low word)
IO_R1 = 1  #: result (high word of 128-bit results)
IO_FLAGS = 3  #: FP exception flags
IO_ARGS = 4  #: first argument word
IO_WORDS = 64

#: calling convention of the stubs in front of the Python callbacks. Slow paths call them;
#: with a convention that preserves (nearly) every register, a block's fast path needs no
#: callee-saved registers, so no prologue and epilogue on every block entry. x86-64 and
#: AArch64 have it; elsewhere, and from -O0 units, the callbacks are called directly (see
#: ``callback_stubs`` and BlockGen's ``direct_callbacks``).
CALLBACK_CC = "preserve_mostcc"
#: hosts where LLVM has the conventions below (CALLBACK_CC, and BLOCK_CC with tail calls)
_CC_HOSTS = ("x86_64", "aarch64", "arm64")
#: calling convention of block functions and of every call into them (the dispatcher's and
#: the tail calls between blocks): GHC's has no callee-saved registers, so a block that
#: needs registers saves none on entry and restores none before jumping on (only the
#: dispatcher, entered from C, saves them, once per native run)
BLOCK_CC = "ghccc"
#: attributes of every function the engine defines. Nothing unwinds through native code
#: (the callbacks are ctypes functions: a Python exception in one never crosses it, and
#: SoftFloat is C), so ``nounwind``: LLVM then emits no unwind tables, which MCJIT would
#: register with the host's unwinder for every module (-O0 units compile 8% faster)
FN_ATTRS = "nounwind"


def block_cc(triple: str) -> str:
    """BLOCK_CC on hosts that have it, else the C convention."""
    return BLOCK_CC if triple.startswith(_CC_HOSTS) else "ccc"


#: callback name -> its parameter count
CALLBACK_ARITY = {"load": 3, "store": 5, "codew": 2, "call": 1}
#: added to the size a load callback gets when the load is an atomic's read (``rmw``): it
#: is translated for writing and faults as a store
LOAD_RMW = 0x100

_CMP = {"eq": "eq", "ne": "ne", "ult": "ult", "ule": "ule", "slt": "slt", "sle": "sle"}
_SIMPLE = {"add": "add", "sub": "sub", "mul": "mul", "and": "and", "or": "or", "xor": "xor"}
_WIDE_ARITH = ("mulhu", "mulhs", "mulhsu", "udiv", "sdiv", "urem", "srem")


def _pyop(name: str, w: int) -> Callable[[int, int], int]:
    """Python semantics for the 128-bit ops LLVM would need compiler-rt for."""
    m = mask(w)

    def s(x: int) -> int:
        return to_signed(x, w)

    def sdiv(a: int, b: int) -> int:
        if b == 0:
            return m
        q = abs(s(a)) // abs(s(b))
        return (-q if (s(a) < 0) != (s(b) < 0) else q) & m

    def srem(a: int, b: int) -> int:
        if b == 0:
            return a
        r = abs(s(a)) % abs(s(b))
        return (-r if s(a) < 0 else r) & m

    return {
        "mulhu": lambda a, b: (a * b) >> w,
        "mulhs": lambda a, b: ((s(a) * s(b)) >> w) & m,
        "mulhsu": lambda a, b: ((s(a) * b) >> w) & m,
        "udiv": lambda a, b: (a // b) if b else m,
        "urem": lambda a, b: (a % b) if b else a,
        "sdiv": sdiv,
        "srem": srem,
    }[name]


@attrs.define
class Site:
    """A call from native code into Python: a helper, an FP op or a 128-bit op."""

    kind: str  #: "helper" | "fp" | "pure"
    fn: Callable[..., Any]
    widths: tuple[int, ...]  #: argument widths (128-bit ones take two io words)
    result: int  #: result width, 0 for none
    state: bool = False  #: a state helper: sync the state list around the call
    k: int = 0  #: instruction index (cpu.progress during a state helper)


@attrs.define
class Env:
    """Everything about the engine and machine that the generated code bakes in."""

    nslots: int
    io: int  #: address of the io buffer
    callbacks: dict[str, int]  #: "load", "store", "codew", "call" -> address
    table: Callable[[int], int]  #: mode -> address of its translation table
    table_mask: int
    add_site: Callable[[Site], int]
    ram_host: int = 0
    ram_base: int = 0
    ram_size: int = 0
    code_pages: int = 0  #: address of main RAM's code_pages bytes
    softfp: Any = None
    native_fp: bool = False  #: f16/f32/f64 ops call SoftFloat natively (fpnative)
    host_fp: bool = False  #: ... with the host FPU fast path where it is exact
    counters: int = 0  #: address of the engine's entry counters (uint64 each)
    hot_entries: int = 0  #: entries after which a counted unit exits with EXIT_HOT
    #: "load", ... -> address of a CALLBACK_CC stub calling the callback (set by the engine
    #: once the dispatcher module is compiled; empty: call the callbacks directly)
    stubs: dict[str, int] = attrs.field(factory=dict)
    #: calling convention of block functions (see block_cc)
    cc: str = "ccc"
    #: store helper name (store_helper_name) -> address, for quick units (see quickmem;
    #: the engine compiles them before the first quick unit that needs them)
    store_helpers: dict[str, int] = attrs.field(factory=dict)

    def ctl(self, which: int) -> int:
        return self.nslots + which

    def entry(self, pc: int) -> int:
        """Index of ``pc``'s entry in a translation table's first way (pairs of words: pc,
        function), where native code looks it up inline."""
        return (((pc & M64) >> 1) & self.table_mask) << 1

    def entry2(self, pc: int) -> int:
        """Index of ``pc``'s entry in the table's second way, which follows the first:
        where a block goes when another one takes its entry in the first way (see
        JitEngine._install), and where the dispatcher looks when the first way misses.
        Its index mixes in the pc's high bits, so blocks that share an entry in the first
        way (64 KiB apart, say) are apart in the second."""
        pc &= M64
        return (self.table_mask + 1 + (((pc >> 1) ^ (pc >> 16)) & self.table_mask)) << 1


def store_helper_name(size: int, tlb: bool) -> str:
    """The quick units' helper (see quickmem) for a store of ``size`` bytes, without
    paging or (``tlb``) through the software TLB."""
    return f"vm_store{size}_{'tlb' if tlb else 'ram'}"


def entry_name(fname: str, k: int) -> str:
    """The name the entry counter of unit ``fname``'s k-th member entry goes by (see
    BlockGen)."""
    return f"{fname}_e{k}"


def _is_literal(operand: str) -> bool:
    return operand.lstrip("-").isdigit()


def lit(value: int, width: int) -> str:
    if width == 1:
        return "true" if value & 1 else "false"
    return str(to_signed(value & mask(width), width))


class Emitter:
    """Text of LLVM IR in the making: numbered temporaries and labels, branch weights, and
    the addressing of guest memory, which block functions and the quick units' store
    helpers (see quickmem) share."""

    env: Env
    lines: list[str]
    n: int
    cur: str
    #: main RAM without paging (offsets from the guest address), else through the TLB
    fast: bool
    #: the operand holding the software TLB's address (paging on)
    tlb_ptr: str = "%tlb"
    #: branch weights on ``branch_cold``/``branch_hot``: they only steer the block layout
    #: of optimised code, so quick units leave them out (-O0 lays blocks out as written;
    #: CoreMark's 58 quick units then compile 2.7% faster)
    weights: bool = True

    # -- plumbing ---------------------------------------------------------------------------

    def tmp(self) -> str:
        self.n += 1
        return f"%x{self.n}"

    def newlabel(self) -> str:
        self.n += 1
        return f"L{self.n}"

    def branch_cold(self, cond: str, cold: str, hot: str) -> None:
        """``br`` to ``cold`` when ``cond`` holds, telling LLVM that is rare (slow paths,
        exits, traps): it lays out the hot path straight and moves the rest aside."""
        prof = f", !prof !{COLD_FIRST}" if self.weights else ""
        self.emit(f"br i1 {cond}, label %{cold}, label %{hot}{prof}")

    def branch_hot(self, cond: str, hot: str, cold: str) -> None:
        """``br`` to ``hot`` when ``cond`` holds, the usual case (see branch_cold)."""
        prof = f", !prof !{HOT_FIRST}" if self.weights else ""
        self.emit(f"br i1 {cond}, label %{hot}, label %{cold}{prof}")

    def emit(self, line: str) -> None:
        self.lines.append("  " + line)

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")
        self.cur = name

    def ins(self, text: str) -> str:
        t = self.tmp()
        self.emit(f"{t} = {text}")
        return t

    def io(self, word: int) -> str:
        return f"inttoptr (i64 {self.env.io + 8 * word} to ptr)"

    # -- guest memory ---------------------------------------------------------------------------

    def ram_check(self, addr: str, size: int) -> tuple[str, str, str]:
        x = self.ins(f"sub i64 {addr}, {lit(self.env.ram_base, 64)}")
        inb = self.ins(f"icmp ule i64 {x}, {self.env.ram_size - size}")
        fast, slow = self.newlabel(), self.newlabel()
        self.branch_hot(inb, fast, slow)
        return x, fast, slow

    def mem_check(self, addr: str, size: int, write: bool) -> tuple[str, str, str]:
        """Branch to a fast label when ``addr`` is in main RAM (directly, or through the
        software TLB under paging), else to a slow one; returns (RAM offset, fast, slow)."""
        if self.fast:
            return self.ram_check(addr, size)
        return self.tlb_check(addr, size, write)

    def tlb_check(self, addr: str, size: int, write: bool) -> tuple[str, str, str]:
        """Like ram_check, through the software TLB: a hit needs the page's tag (of the
        access kind) and the access inside that page."""
        vpn = self.ins(f"lshr i64 {addr}, 12")
        idx = self.ins(f"and i64 {vpn}, {TLB_ENTRIES - 1}")
        e = self.ins(f"mul i64 {idx}, {TLB_WORDS}")
        ep = self.ins(f"getelementptr i64, ptr {self.tlb_ptr}, i64 {e}")
        tp = self.ins(f"getelementptr i64, ptr {ep}, i64 1") if write else ep
        tag = self.ins(f"load i64, ptr {tp}")
        hit = self.ins(f"icmp eq i64 {tag}, {vpn}")
        if size > 1:
            last = self.ins(f"add i64 {addr}, {size - 1}")
            vpn2 = self.ins(f"lshr i64 {last}, 12")
            same = self.ins(f"icmp eq i64 {vpn2}, {vpn}")
            hit = self.ins(f"and i1 {hit}, {same}")
        ap = self.ins(f"getelementptr i64, ptr {ep}, i64 2")
        addend = self.ins(f"load i64, ptr {ap}")
        x = self.ins(f"add i64 {addr}, {addend}")
        fast, slow = self.newlabel(), self.newlabel()
        self.branch_hot(hit, fast, slow)
        return x, fast, slow

    def host_ptr(self, x: str, addr: str) -> str:
        """Host pointer of RAM offset ``x`` (guest address ``addr``). Without the TLB it is
        computed from the address itself, so the offset only feeds the bounds check and
        a dependent load (pointer chasing) waits for one add less."""
        if self.fast:
            base = (self.env.ram_host - self.env.ram_base) & M64
            return self.ins(f"getelementptr i8, ptr inttoptr (i64 {base} to ptr), i64 {addr}")
        return self.ins(f"getelementptr i8, ptr inttoptr (i64 {self.env.ram_host} to ptr), i64 {x}")

    def code_page(self, x: str, width: int = 8) -> str:
        """The ``width``-bit load of RAM's code-page bytes from the page of offset ``x``
        on (16 bits: that page's byte and the next one's)."""
        pg = self.ins(f"lshr i64 {x}, 12")
        p = self.ins(f"getelementptr i8, ptr inttoptr (i64 {self.env.code_pages} to ptr), i64 {pg}")
        return self.ins(f"load i{width}, ptr {p}, align 1")


class BlockGen(Emitter):
    """Lowers a unit -- one block, or a region of blocks entered at the first -- to the text
    of one LLVM function.

    In a region, an exit to a member block with a constant target is a plain branch (the
    budget is still checked at every block, on a counter kept in a register); so is an
    indirect jump whose target turns out to be one of the members it was seen to reach
    (``targets``: a call through a function pointer, the callee's return); every other
    exit chains through the translation table as a single block's does.

    A region may also be entered at the members in ``entries``: their table entries hold
    the unit's function too, and its entry block switches on the ENTRY slot, the pc every
    caller stores there (a stub function per member cost CoreMark's quick units 5-11% of
    their compile time: LLVM's code generator has a fixed cost per function). Then an
    edge back to the head stays inside only while the table's entry for the head is
    still this function: once other code (the region compiled at the full level) is
    installed there, the loop leaves for it, so that entering at a member does not keep
    a loop in this code.

    A *pack* (``pack``) is a list of quick blocks that are not a region, put in one
    function only because LLVM's code generator has a fixed cost per function (about 70
    us at -O0 on this host, as much as a short block's own code) and each function
    repeats the entry and exit blocks. Every block of a pack is entered at through the
    ENTRY slot and counts its entries (the head too); no exit is a plain branch, so
    each block still reaches tier-2 code installed for another through the table.
    """

    def __init__(
        self,
        env: Env,
        block: Block | list[Block],
        fname: str,
        fast_ram: bool,
        counter: int | None = None,
        promote: bool = False,
        targets: dict[int, tuple[int, ...]] | None = None,
        direct_callbacks: bool = False,
        entries: tuple[int, ...] = (),
        pack: bool = False,
    ) -> None:
        self.env = env
        #: unrelated blocks sharing one function (see the class docstring): each is
        #: entered through the table and leaves through it, as a function of its own would
        self.pack = pack
        #: members other than the head it can be entered at (see the class docstring)
        self.entries = entries
        #: entry_name of a member entry -> index of its entry counter (see member_entries)
        self.entry_counters: dict[str, int] = {}
        #: call the C callbacks directly rather than through the register-saving stubs:
        #: for code compiled at -O0, whose fast instruction selector handles C calls but
        #: not the stubs' convention (it spills around calls anyway)
        self.direct_callbacks = direct_callbacks
        self.weights = not direct_callbacks
        #: block pc -> pcs its indirect jump was seen to reach (a hint: checked at run time)
        self.targets = targets or {}
        #: guest slots kept in locals (LLVM registers) for the whole unit, written back to
        #: the state buffer on leaving and around state helpers (see _slots_of, leave)
        self.promoted: dict[int, str] = {}
        self.written: list[int] = []
        if promote:
            read, written = _slots_of(block if isinstance(block, list) else [block])
            self.promoted = {s: f"%r{s}" for s in sorted(read | written)}
            self.written = sorted(written)
        #: index of this unit's entry counter (quick units: they ask to be recompiled
        #: optimised after ``env.hot_entries`` entries)
        self.counter = counter
        self.blocks = block if isinstance(block, list) else [block]
        self.block = self.blocks[0]
        #: guest pc -> label of the unit's blocks (a block that jumps to itself loops here)
        self.local = {b.pc: f"B{i}" for i, b in enumerate(self.blocks)}
        self.used = "%used0"  #: instructions retired before the current block (SSA name)
        self.nu = "%nu0"  #: ... and after it
        self.fname = fname
        self.fast = fast_ram and env.ram_size > 0
        #: paging on: main RAM through the software TLB (a miss takes the slow path, whose
        #: callback refills the entry)
        self.tlb = not fast_ram and env.ram_size > 0
        #: the store helpers' last argument, the TLB's address (quick units under paging)
        self.helper_tlb = ["%tlbi"] if self.tlb and direct_callbacks else []
        self.lines: list[str] = []
        self.vals: dict[int, str] = {}
        self.n = 0
        self.k = 0
        self.cur = "entry"
        self.decls: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------

    def v(self, value: Value) -> str:
        return self.vals[value.id]

    def ty(self, value_or_width: Value | int) -> str:
        w = value_or_width if isinstance(value_or_width, int) else value_or_width.width
        return f"i{w}"

    def slot(self, s: int) -> str:
        """Pointer to state slot ``s``: its local if promoted, else into the state buffer
        (at each use: LLVM folds it into the access)."""
        local = self.promoted.get(s)
        if local is not None:
            return local
        return self.ins(f"getelementptr i64, ptr %S, i64 {s}")

    def state_slot(self, s: int) -> str:
        return self.ins(f"getelementptr i64, ptr %S, i64 {s}")

    def write_back(self) -> None:
        """Store the promoted slots the unit writes into the state buffer (before an exit
        or a state helper: whoever looks next must see the state as of here)."""
        for s in self.written:
            v = self.ins(f"load i64, ptr {self.promoted[s]}")
            self.emit(f"store i64 {v}, ptr {self.state_slot(s)}")

    def reload(self) -> None:
        """Refill every promoted slot from the state buffer (after a state helper)."""
        for s, local in self.promoted.items():
            v = self.ins(f"load i64, ptr {self.state_slot(s)}")
            self.emit(f"store i64 {v}, ptr {local}")

    def to64(self, val: str, w: int) -> str:
        if w == 64:
            return val
        if w < 64:
            return self.ins(f"zext i{w} {val} to i64")
        return self.ins(f"trunc i{w} {val} to i64")

    def from_words(self, lo: str, hi: str | None, w: int) -> str:
        if w == 64:
            return lo
        if w < 64:
            return self.ins(f"trunc i64 {lo} to i{w}")
        a = self.ins(f"zext i64 {lo} to i128")
        b = self.ins(f"zext i64 {hi} to i128")
        b = self.ins(f"shl i128 {b}, 64")
        return self.ins(f"or i128 {a}, {b}")

    def to_words(self, val: str, w: int) -> tuple[str, str]:
        if w <= 64:
            return self.to64(val, w), "0"
        lo = self.ins(f"trunc i128 {val} to i64")
        hi = self.ins(f"lshr i128 {val}, 64")
        return lo, self.ins(f"trunc i128 {hi} to i64")

    def intrinsic(self, name: str, w: int, nargs: int, extra: str = "") -> str:
        fn = f"@llvm.{name}.i{w}"
        params = ", ".join([f"i{w}"] * nargs) + (", i1" if extra else "")
        self.decls.add(f"declare i{w} {fn}({params})")
        return fn

    def callback(self, name: str, args: list[str], helper: int | None = None) -> str:
        """Call Python's callback ``name`` (or the quick units' memory ``helper`` at that
        address, which may call it) and leave on an exception; returns the status."""
        # the callee reads USED (for cpu.instret), which is kept in a register
        self.emit(f"store i64 {self.used}, ptr {self.slot(self.env.ctl(USED))}")
        stub = None if self.direct_callbacks else self.env.stubs.get(name)
        if helper is not None:
            fp = f"i32 inttoptr (i64 {helper} to ptr)"
        elif stub is not None:  # through a stub that saves registers: the fast path keeps them
            fp = f"{CALLBACK_CC} i32 inttoptr (i64 {stub} to ptr)"
        else:
            fp = f"i32 inttoptr (i64 {self.env.callbacks[name]} to ptr)"
        st = self.ins(f"call {fp}({', '.join('i64 ' + a for a in args)})")
        self.load_limit()  # a callback may have asked to stop (it lowers the limit)
        bad = self.status_bit(st, 1)
        ok = self.newlabel()
        exc = self.exit_label(EXIT_EXC)
        self.branch_cold(bad, exc, ok)
        self.label(ok)
        return st

    def status_bit(self, st: str, bit: int) -> str:
        """Whether a callback's status ``st`` has ``bit`` (1: exception, 2: code written).
        Bits, not equality tests: LLVM turns a chain of those into a switch, which -O0's
        fast instruction selector cannot lower."""
        return self.ins(f"icmp ne i32 {self.ins(f'and i32 {st}, {bit}')}, 0")

    def load_limit(self) -> None:
        """Copy the budget's limit into a local: only Python callbacks change it, so blocks
        compare against a register rather than reload it (guest stores might alias it)."""
        lim = self.ins(f"load i64, ptr {self.slot(self.env.ctl(LIMIT))}")
        self.emit(f"store i64 {lim}, ptr %limitp")

    # -- exits ------------------------------------------------------------------------------

    def exit_label(self, reason: int, extra: tuple[tuple[int, str], ...] = ()) -> str:
        """A cold block ending the run at instruction k with ``reason``; returns its label."""
        name = self.newlabel()
        self.pending.append((name, reason, self.k, extra, self.used, self.block))
        return name

    def emit_exits(self) -> None:
        """The abnormal exits share one block that stores the control slots (phis pick the
        values), which keeps the function small: LLVM's compile time grows with it."""
        if not self.pending:
            return
        env = self.env
        columns: dict[str, list[str]] = {
            c: [] for c in ("used", "k", "reason", "pc", "cause", "tval")
        }
        for name, reason, k, extra, used, block in self.pending:
            self.label(name)
            self.emit("br label %exit")
            pc = block.insns[k].pc if k < len(block.insns) else block.pc
            more = dict(extra)
            row = {
                "used": used,
                "k": str(k),
                "reason": str(reason),
                "pc": lit(pc, 64),
                "cause": more.get(CAUSE, "0"),
                "tval": more.get(TVAL, "0"),
            }
            for c, v in row.items():
                columns[c].append(f"[{v}, %{name}]")
        self.label("exit")
        for c, incoming in columns.items():
            self.emit(f"%e.{c} = phi i64 {', '.join(incoming)}")
        self.write_back()
        self.emit("%e.u = add i64 %e.used, %e.k")
        for c, slot in (("u", USED), ("reason", EXIT), ("k", K), ("pc", TRAP_PC)):
            self.emit(f"store i64 %e.{c}, ptr {self.slot(env.ctl(slot))}")
        for c, slot in (("cause", CAUSE), ("tval", TVAL)):
            self.emit(f"store i64 %e.{c}, ptr {self.slot(env.ctl(slot))}")
        self.ret("0")

    def chain(self, target: str, used: str | None = None, sync: bool | None = None) -> None:
        """Leave the block for ``target`` (an i64 operand): branch to it inside a region,
        else tail-call it if translated."""
        used = self.nu if used is None else used
        sync = self.block.sync if sync is None else sync
        if not _is_literal(target) and not sync and not self.pack:
            seen = [t for t in self.targets.get(self.block.pc, ()) if t in self.local]
            if seen:
                self.chain_seen(target, seen, used)
                return
        local = None
        if _is_literal(target) and not self.pack:
            local = self.local.get(int(target) & M64)
        if local is not None and not sync:
            if self.flagged_stores:
                # this block's own store may have hit code: the branch would skip the check
                # the table gives (the written page's entries are gone), so leave instead
                f = self.ins("load i1, ptr %smcp")
                out, go = self.newlabel(), self.newlabel()
                self.branch_cold(f, out, go)
                self.label(out)
                self.chain(target, used, sync=True)
                self.label(go)
            self.emit(f"store i64 {used}, ptr %usedp")
            if local == "B0" and self.entries:
                self.head_check(target, used)
                return
            self.emit(f"br label %{local}")
            return
        self.leave("sync" if sync else "chain", target, used)

    def head_check(self, target: str, used: str) -> None:
        """Back to the head of a multi-entry unit: a plain branch while the table still
        holds this function for the head, else leave for what it holds."""
        i2 = self.env.entry(int(target))
        table = f"inttoptr (i64 {self.env.table(self.block.mode)} to ptr)"
        fpp = self.ins(f"getelementptr i64, ptr {table}, i64 {i2 + 1}")
        f = self.ins(f"load ptr, ptr {fpp}")
        mine = self.ins(f"icmp eq ptr {f}, @{self.fname}")
        out = self.newlabel()
        self.branch_hot(mine, "B0", out)
        self.label(out)
        self.leave("chain", target, used)

    def chain_seen(self, target: str, seen: list[int], used: str) -> None:
        """An indirect jump in a region: a switch over the members it was seen to reach
        (each then a plain branch), the translation table for any other target."""
        other = self.newlabel()
        cases = [(pc, self.newlabel()) for pc in seen]
        arms = " ".join(f"i64 {lit(pc, 64)}, label %{label}" for pc, label in cases)
        self.emit(f"switch i64 {target}, label %{other} [ {arms} ]")
        for pc, label in cases:
            self.label(label)
            self.chain(lit(pc, 64), used)
        self.label(other)
        self.leave("chain", target, used)

    def leave(self, kind: str, target: str, used: str) -> None:
        """Leave the unit for guest pc ``target`` with ``used`` instructions retired:
        "chain" to its translation, "sync" back to the engine (EXIT_SYNC), "budget" back
        to the engine with the budget spent (EXIT_BUDGET).

        In a unit with promoted registers every such exit would write them all back, so
        the exits of a kind share one block instead (phis carry target and count): the
        write-backs appear once per kind, not once per exit, and LLVM's compile time
        follows the size of the function. Quick units share them too: -O0's fast
        instruction selector hands every block ending in a ``ghccc`` return or a tail
        call to SelectionDAG (CoreMark's 58 quick units: 1.38 MB of IR in 398 ms with an
        exit per site, 1.29 MB in 352 ms shared; a computed table index per exit)."""
        if self.promoted or self.direct_callbacks:
            self.shared.setdefault(kind, []).append((target, used, self.cur))
            self.emit(f"br label %leave.{kind}")
            return
        self.emit_leave(kind, target, used)

    def emit_leave(self, kind: str, target: str, used: str) -> None:
        env = self.env
        self.write_back()
        self.emit(f"store i64 {used}, ptr {self.slot(env.ctl(USED))}")
        if kind != "chain":
            reason = EXIT_SYNC if kind == "sync" else EXIT_BUDGET
            self.emit(f"store i64 {reason}, ptr {self.slot(env.ctl(EXIT))}")
            self.ret(target)
            return
        table = f"inttoptr (i64 {env.table(self.block.mode)} to ptr)"
        if _is_literal(target):
            i2 = str(env.entry(int(target)))
        else:
            h = self.ins(f"lshr i64 {target}, 1")
            i = self.ins(f"and i64 {h}, {env.table_mask}")
            i2 = self.ins(f"shl i64 {i}, 1")
        ep = self.ins(f"getelementptr i64, ptr {table}, i64 {i2}")
        epc = self.ins(f"load i64, ptr {ep}")
        hit = self.ins(f"icmp eq i64 {epc}, {target}")
        lc, lr = self.newlabel(), self.newlabel()
        self.emit(f"br i1 {hit}, label %{lc}, label %{lr}")
        self.label(lc)
        fpp = self.ins(f"getelementptr i64, ptr {ep}, i64 1")
        f = self.ins(f"load ptr, ptr {fpp}")
        # the callee may be a region entered at a member (see member_entries)
        self.emit(f"store i64 {target}, ptr {self.slot(env.ctl(ENTRY))}")
        r = self.ins(f"musttail call {self.env.cc} i64 {f}(ptr %S)")
        self.emit(f"ret i64 {r}")  # a musttail call's return must follow it
        self.label(lr)
        self.ret(target)

    def ret(self, value: str) -> None:
        """Return ``value`` (a guest pc, or 0 after an exit) to the dispatcher. A quick
        unit's returns all branch to one block that returns: -O0's fast instruction
        selector cannot lower a ``ghccc`` return, and each block ending in one went to
        SelectionDAG (CoreMark's 58 quick units: code generation 162 -> 142 ms, best of
        3 on one thread). Optimised units keep their returns: SelectionDAG selects all
        their blocks anyway."""
        if self.direct_callbacks:
            self.returns.append((value, self.cur))
            self.emit("br label %done")
        else:
            self.emit(f"ret i64 {value}")

    def leave_if_code_changed(self) -> None:
        """After an instruction that wrote to a page holding code, stop before the next
        one (the rest of this translation may be stale, as in QEMU and interp)."""
        f = self.ins("load i1, ptr %smcp")
        out, ok = self.newlabel(), self.newlabel()
        self.branch_cold(f, out, ok)
        self.label(out)
        used = self.ins(f"add i64 {self.used}, {self.k}")
        self.chain(lit(self.block.insns[self.k].pc, 64), used, sync=True)
        self.label(ok)

    # -- driver -----------------------------------------------------------------------------

    def generate(self) -> str:
        env = self.env
        self.pending: list = []
        #: exits shared per kind in units with promoted registers (see leave)
        self.shared: dict[str, list[tuple[str, str, str]]] = {}
        #: (value, label) of each return of a quick unit (see ret)
        self.returns: list[tuple[str, str]] = []
        self.label("entry")
        self.emit("%smcp = alloca i1")
        self.emit("%usedp = alloca i64")
        self.emit("%limitp = alloca i64")
        self.load_limit()
        for local in self.promoted.values():
            self.emit(f"{local} = alloca i64")
        self.reload()
        if self.tlb:
            self.emit(f"%tlb = load ptr, ptr {self.slot(env.ctl(TLB))}")
            if self.helper_tlb:
                self.emit("%tlbi = ptrtoint ptr %tlb to i64")
        u = self.ins(f"load i64, ptr {self.slot(env.ctl(USED))}")
        self.emit(f"store i64 {u}, ptr %usedp")
        if self.entries:
            self.member_entries()
        elif self.counter is not None:
            self.count_entry(self.counter, self.block.pc, "B0", hot="hot")
        else:
            self.emit("br label %B0")
        for i, block in enumerate(self.blocks):
            self.gen_block(i, block)
        self.emit_exits()
        for kind, incoming in self.shared.items():
            self.label(f"leave.{kind}")
            target = self.ins("phi i64 " + ", ".join(f"[{t}, %{c}]" for t, _, c in incoming))
            used = self.ins("phi i64 " + ", ".join(f"[{u}, %{c}]" for _, u, c in incoming))
            self.emit_leave(kind, target, used)
        if self.returns:
            self.label("done")
            incoming = ", ".join(f"[{v}, %{c}]" for v, c in self.returns)
            self.emit(f"ret i64 {self.ins(f'phi i64 {incoming}')}")
        body = "\n".join(self.lines)
        return f"define {self.env.cc} i64 @{self.fname}(ptr %S) {FN_ATTRS} {{\n{body}\n}}\n"

    def member_entries(self) -> None:
        """The entry block of a unit with member entries: on to the member whose pc the
        caller stored in the ENTRY slot, else to the head. A member with an entry counter
        (``entry_counters``) exits once, after ``hot_entries`` entries, to have it
        recompiled alone at the full level, as a quick unit of its own would: a loop
        entered there need not pass its head, where it would leave for the region's
        optimised code. The head counts its entries too when it has a counter (a pack's, a
        region's that is no loop): counted after the switch, so its EXIT_HOT resumes at
        the head only when it was entered there. The switch on ``%entry.pc`` is the only
        one in quick code: -O0's fast instruction selector hands this one block to
        SelectionDAG."""
        e = "%entry.pc"
        self.emit(f"{e} = load i64, ptr {self.slot(self.env.ctl(ENTRY))}")
        counted = []  # (label, counter, member pc)
        arms = []
        head = "B0"
        if self.counter is not None:  # the head counts its own entries (not a loop's)
            head = self.newlabel()
            counted.append((head, self.counter, self.block.pc))
        for k, pc in enumerate(self.entries, 1):
            counter = self.entry_counters.get(entry_name(self.fname, k))
            label = self.local[pc] if counter is None else self.newlabel()
            if counter is not None:
                counted.append((label, counter, pc))
            arms.append(f"i64 {lit(pc, 64)}, label %{label}")
        self.emit(f"switch i64 {e}, label %{head} [ {' '.join(arms)} ]")
        for label, counter, pc in counted:
            self.label(label)
            hot = "hot" if pc == self.block.pc else None
            self.count_entry(counter, pc, self.local[pc], hot=hot)

    def count_entry(self, counter: int, pc: int, go: str, hot: str | None = None) -> None:
        """Count an entry at ``pc`` in the engine's entry counter ``counter``; at the
        ``hot_entries``-th, exit (EXIT_HOT) to have the code at ``pc`` recompiled at the
        full level, else go on to label ``go`` (``hot``: the exit's label)."""
        env = self.env
        cp = self.ins(f"getelementptr i64, ptr inttoptr (i64 {env.counters} to ptr), i64 {counter}")
        c = self.ins(f"add i64 {self.ins(f'load i64, ptr {cp}')}, 1")
        self.emit(f"store i64 {c}, ptr {cp}")
        hot = hot or self.newlabel()
        self.branch_cold(self.ins(f"icmp eq i64 {c}, {env.hot_entries}"), hot, go)
        self.label(hot)
        self.emit(f"store i64 {EXIT_HOT}, ptr {self.slot(env.ctl(EXIT))}")
        self.ret(lit(pc, 64))

    def gen_block(self, i: int, block: Block) -> None:
        """One block: the budget check, then its ops (``self.block`` is ``block``)."""
        self.block, self.vals = block, {}
        #: slot -> i64 operand it holds (read or written earlier in this block): forwarding
        #: them here keeps the IR small, which is what LLVM's compile time follows
        self.known: dict[int, str] = {}
        self.used, self.nu = f"%used{i}", f"%nu{i}"
        n = len(block.insns)
        self.label(f"B{i}")
        self.emit(f"{self.used} = load i64, ptr %usedp")
        lim = self.ins("load i64, ptr %limitp")
        self.emit(f"{self.nu} = add i64 {self.used}, {n}")
        ok = self.ins(f"icmp ule i64 {self.nu}, {lim}")
        body, over = self.newlabel(), self.newlabel()
        self.branch_hot(ok, body, over)
        self.label(over)
        self.leave("budget", lit(block.pc, 64), self.used)
        self.label(body)
        starts = {ins.index: i for i, ins in enumerate(block.insns)}
        # a store that is its instruction's last op, another instruction following, leaves
        # the block itself when it hit code (see code_written); any other sets the flag
        # %smcp, tested before the next instruction and at a branch to another block of
        # the unit (the exit belongs to the last instruction: it still has to run)
        ops = block.ops
        self.direct_stores = {
            j for j, op in enumerate(ops) if op.name == "store" and j + 1 in starts
        }
        self.flagged_stores = any(
            op.name == "store" and j not in self.direct_stores for j, op in enumerate(ops)
        )
        if self.flagged_stores:
            self.emit("store i1 false, ptr %smcp")
        stored = False
        for j, op in enumerate(ops):
            if j in starts:
                self.k = starts[j]
                if stored:
                    self.leave_if_code_changed()
                    stored = False
            self.j = j
            getattr(self, "op_" + op.name)(op)
            stored = stored or (op.name == "store" and j not in self.direct_stores)

    # -- state -----------------------------------------------------------------------------

    def define(self, op: Op, text: str) -> None:
        self.vals[op.dst.id] = self.ins(text)

    def alias(self, op: Op, val: str) -> None:
        self.vals[op.dst.id] = val

    def op_const(self, op: Op) -> None:
        self.vals[op.dst.id] = lit(op.args[0], op.dst.width)

    def op_get(self, op: Op) -> None:
        s, w = op.args[0], op.dst.width
        lo = self.known.get(s)
        if lo is None:
            lo = self.known[s] = self.ins(f"load i64, ptr {self.slot(s)}")
        hi = None
        if w > 64:
            hi = self.known.get(s + 1)
            if hi is None:
                hi = self.known[s + 1] = self.ins(f"load i64, ptr {self.slot(s + 1)}")
        self.alias(op, self.from_words(lo, hi, w))

    def op_set(self, op: Op) -> None:
        s, v = op.args
        lo, hi = self.to_words(self.v(v), v.width)
        self.emit(f"store i64 {lo}, ptr {self.slot(s)}")
        self.known[s] = lo
        if v.width > 64:
            self.emit(f"store i64 {hi}, ptr {self.slot(s + 1)}")
            self.known[s + 1] = hi

    # -- integer ops -------------------------------------------------------------------------

    def _bin(self, op: Op) -> None:
        a, b = op.args
        self.define(op, f"{_SIMPLE[op.name]} {self.ty(a)} {self.v(a)}, {self.v(b)}")

    op_add = op_sub = op_mul = op_and = op_or = op_xor = _bin

    def _wide(self, op: Op) -> None:
        a, b = op.args
        w = a.width
        if w > 64:
            self.pure_call(op, _pyop(op.name, w), [a, b])
            return
        va, vb, t = self.v(a), self.v(b), self.ty(a)
        if op.name.startswith("mulh"):
            ea = "sext" if op.name in ("mulhs", "mulhsu") else "zext"
            eb = "sext" if op.name == "mulhs" else "zext"
            x = self.ins(f"{ea} {t} {va} to i{2 * w}")
            y = self.ins(f"{eb} {t} {vb} to i{2 * w}")
            p = self.ins(f"mul i{2 * w} {x}, {y}")
            p = self.ins(f"lshr i{2 * w} {p}, {w}")
            self.define(op, f"trunc i{2 * w} {p} to {t}")
            return
        zero = self.ins(f"icmp eq {t} {vb}, 0")
        signed = op.name in ("sdiv", "srem")
        if signed and w > 1:
            amin = self.ins(f"icmp eq {t} {va}, {lit(1 << (w - 1), w)}")
            bm1 = self.ins(f"icmp eq {t} {vb}, {lit(mask(w), w)}")
            ovf = self.ins(f"and i1 {amin}, {bm1}")
            bad = self.ins(f"or i1 {zero}, {ovf}")
        else:
            bad = zero
        one = lit(1, w)
        safe = self.ins(f"select i1 {bad}, {t} {one}, {t} {vb}")
        llop = {"udiv": "udiv", "sdiv": "sdiv", "urem": "urem", "srem": "srem"}[op.name]
        if signed and w == 1:
            llop = {"sdiv": "udiv", "srem": "urem"}[llop]  # i1: -1 / -1 is 1 in any view
        r = self.ins(f"{llop} {t} {va}, {safe}")
        if op.name in ("udiv", "sdiv"):
            self.define(op, f"select i1 {zero}, {t} {lit(mask(w), w)}, {t} {r}")
        else:
            self.define(op, f"select i1 {zero}, {t} {va}, {t} {r}")

    op_mulhu = op_mulhs = op_mulhsu = op_udiv = op_sdiv = op_urem = op_srem = _wide

    def op_not(self, op):
        a = op.args[0]
        self.define(op, f"xor {self.ty(a)} {self.v(a)}, {lit(mask(a.width), a.width)}")

    def op_neg(self, op):
        a = op.args[0]
        self.define(
            op, f"sub {self.ty(a)} 0, {self.v(a)}" if a.width > 1 else f"add i1 {self.v(a)}, false"
        )

    def _shift(self, op: Op) -> None:
        a, b = op.args
        w, t, va, vb = a.width, self.ty(a), self.v(a), self.v(b)
        if w > 1 and _is_literal(vb):  # the usual case: fold the range check here
            amount = int(vb) & mask(w)
            if amount < w:
                self.define(op, f"{op.name} {t} {va}, {amount}")
            elif op.name == "ashr":
                self.define(op, f"ashr {t} {va}, {w - 1}")
            else:
                self.alias(op, "0")
            return
        big = (
            self.ins(f"icmp uge {t} {vb}, {lit(w, w)}")
            if w > 1
            else self.ins(f"icmp eq i1 {vb}, true")
        )
        if op.name == "ashr":
            amt = self.ins(f"select i1 {big}, {t} {lit(w - 1, w)}, {t} {vb}")
            self.define(op, f"ashr {t} {va}, {amt}")
            return
        amt = self.ins(f"and {t} {vb}, {lit(w - 1, w)}")
        r = self.ins(f"{op.name} {t} {va}, {amt}")
        self.define(
            op,
            f"select i1 {big}, {t} 0, {t} {r}" if w > 1 else f"select i1 {big}, i1 false, i1 {r}",
        )

    op_shl = op_lshr = op_ashr = _shift

    def _rot(self, op: Op) -> None:
        a, b = op.args
        if a.width == 1:
            self.alias(op, self.v(a))
            return
        fn = self.intrinsic("fshl" if op.name == "rotl" else "fshr", a.width, 3)
        t = self.ty(a)
        self.define(op, f"call {t} {fn}({t} {self.v(a)}, {t} {self.v(a)}, {t} {self.v(b)})")

    op_rotl = op_rotr = _rot

    def _count(self, op: Op) -> None:
        a = op.args[0]
        t = self.ty(a)
        if op.name == "popcnt":
            fn = self.intrinsic("ctpop", a.width, 1)
            self.define(op, f"call {t} {fn}({t} {self.v(a)})")
            return
        fn = self.intrinsic({"clz": "ctlz", "ctz": "cttz"}[op.name], a.width, 1, "i1")
        self.define(op, f"call {t} {fn}({t} {self.v(a)}, i1 false)")

    op_clz = op_ctz = op_popcnt = _count

    def op_bswap(self, op):
        a = op.args[0]
        if a.width < 16:
            self.alias(op, self.v(a))
            return
        fn = self.intrinsic("bswap", a.width, 1)
        self.define(op, f"call {self.ty(a)} {fn}({self.ty(a)} {self.v(a)})")

    def _cmp(self, op: Op) -> None:
        a, b = op.args
        self.define(op, f"icmp {_CMP[op.name]} {self.ty(a)} {self.v(a)}, {self.v(b)}")

    op_eq = op_ne = op_ult = op_ule = op_slt = op_sle = _cmp

    def op_select(self, op):
        c, a, b = op.args
        t = self.ty(a)
        self.define(op, f"select i1 {self.v(c)}, {t} {self.v(a)}, {t} {self.v(b)}")

    def _ext(self, op: Op) -> None:
        """zext, sext, trunc. A sign extension takes its operand through ``freeze`` (a
        no-op here: IR values are never poison). Without it LLVM's instcombine widens
        sext(add(trunc x, c)) into ashr(add(shl x, 32), c << 32), 32), and a chain of
        32-bit operations (RV64's ``addw``, ``mulw``) grows from add and movsxd to shl,
        lea and sar: 2 more cycles per step on a loop-carried value (lists' build loop 15%
        slower)."""
        a = op.args[0]
        v = self.v(a)
        if a.width == op.dst.width:
            self.alias(op, v)
            return
        if op.name == "sext" and not _is_literal(v):
            v = self.ins(f"freeze {self.ty(a)} {v}")
        self.define(op, f"{op.name} {self.ty(a)} {v} to {self.ty(op.dst)}")

    op_zext = op_sext = op_trunc = _ext

    # -- memory -------------------------------------------------------------------------------

    def align_check(self, op: Op, addr: str, size: int, access: Access) -> None:
        if not op.attrs.get("aligned") or size <= 1:
            return
        m = self.ins(f"and i64 {addr}, {size - 1}")
        c = self.ins(f"icmp ne i64 {m}, 0")
        ok = self.newlabel()
        bad = self.exit_label(EXIT_MISALIGN, ((CAUSE, str(int(access))), (TVAL, addr)))
        self.branch_cold(c, bad, ok)
        self.label(ok)

    def op_load(self, op):
        w = op.dst.width
        size = w // 8
        addr = self.v(op.args[0])
        # an atomic's read: through the TLB's write tags, and faulting as a store (main
        # RAM without paging is writable: its fast path is a plain load)
        acc = load_access(op)
        rmw = acc is Access.STORE
        self.align_check(op, addr, size, acc)
        t = self.ty(w)
        if (self.fast or self.tlb) and size in (1, 2, 4, 8):
            x, fast, slow = self.mem_check(addr, size, write=rmw)
            join = self.newlabel()
            self.label(fast)
            vf = self.ins(f"load {t}, ptr {self.host_ptr(x, addr)}, align 1")
            self.emit(f"br label %{join}")
            self.label(slow)
            vs = self.slow_load(addr, size, w, rmw)
            end = self.cur
            self.emit(f"br label %{join}")
            self.label(join)
            self.define(op, f"phi {t} [{vf}, %{fast}], [{vs}, %{end}]")
        else:
            self.alias(op, self.slow_load(addr, size, w, rmw))

    def slow_load(self, addr: str, size: int, w: int, rmw: bool = False) -> str:
        flagged = size + LOAD_RMW if rmw else size
        self.callback("load", [addr, str(flagged), str(self.k)])
        # volatile: otherwise LLVM merges this load with the fast path's into one load of a
        # phi of the two pointers, and the RAM address can no longer fold into the fast
        # load (a pointer chase then waits for an extra add per step)
        lo = self.ins(f"load volatile i64, ptr {self.io(IO_R0)}")
        hi = self.ins(f"load volatile i64, ptr {self.io(IO_R1)}") if w > 64 else None
        return self.from_words(lo, hi, w)

    def op_store(self, op):
        a, v = op.args
        w = v.width
        size = w // 8
        addr, val = self.v(a), self.v(v)
        self.align_check(op, addr, size, Access.STORE)
        helper = self.store_helper(size)
        if helper is not None:
            lo = self.to_words(val, w)[0]
            self.stored(self.callback("store", [addr, lo, str(self.k), *self.helper_tlb], helper))
        elif (self.fast or self.tlb) and size in (1, 2, 4, 8):
            x, fast, slow = self.mem_check(addr, size, write=True)
            join = self.newlabel()
            self.label(fast)
            self.emit(f"store {self.ty(w)} {val}, ptr {self.host_ptr(x, addr)}, align 1")
            self.code_check(x, size, join)
            self.label(slow)
            self.slow_store(addr, size, val, w)
            self.emit(f"br label %{join}")
            self.label(join)
        else:
            self.slow_store(addr, size, val, w)

    def store_helper(self, size: int) -> int | None:
        """In a quick unit, the address of the helper for a store of ``size`` bytes to
        RAM (see quickmem), else None (the store is lowered inline)."""
        if not self.direct_callbacks or not (self.fast or self.tlb):
            return None
        return self.env.store_helpers.get(store_helper_name(size, self.tlb))

    def code_check(self, x: str, size: int, join: str) -> None:
        """After a fast store of ``size`` bytes at RAM offset ``x``: on to ``join``
        unless it wrote to a page holding code.

        The fast path is one load and one branch: the code-page bytes of the store's
        page and the next one, read as a 16-bit word (RAM.code_pages has a spare byte).
        A cold path then looks at the pages the store really covered. A store that ends
        its instruction does not come back from there: after a false alarm (the page
        after its own holds code) it leaves the unit for its next instruction, natively.
        A way back into the fast path made LLVM keep fewer of a loop's values in
        registers; that, or a second load or branch per store, made lists' build loop
        10% slower.
        """
        written = self.newlabel()
        if size == 1:
            self.branch_cold(self.ins(f"icmp ne i8 {self.code_page(x)}, 0"), written, join)
        else:
            near, false_alarm = self.newlabel(), self.newlabel()
            self.branch_cold(self.ins(f"icmp ne i16 {self.code_page(x, 16)}, 0"), near, join)
            self.label(near)
            last = self.code_page(self.ins(f"add i64 {x}, {size - 1}"))
            hit = self.ins(f"icmp ne i8 {self.ins(f'or i8 {self.code_page(x)}, {last}')}, 0")
            self.branch_hot(hit, written, false_alarm)
            self.label(false_alarm)
            if self.j in self.direct_stores:
                self.leave_after_insn(sync=False)
            else:
                self.emit(f"br label %{join}")
        self.label(written)
        self.callback("codew", [x, str(size)])
        self.code_written(join)

    def slow_store(self, addr: str, size: int, val: str, w: int) -> None:
        lo, hi = self.to_words(val, w)
        self.stored(self.callback("store", [addr, str(size), lo, hi, str(self.k)]))

    def stored(self, st: str) -> None:
        """After a store through Python (status ``st``): see code_written."""
        smc = self.status_bit(st, 2)
        if self.j in self.direct_stores:
            written, on = self.newlabel(), self.newlabel()
            self.branch_cold(smc, written, on)
            self.label(written)
            self.code_written(on)
            self.label(on)
            return
        old = self.ins("load i1, ptr %smcp")
        self.emit(f"store i1 {self.ins(f'or i1 {old}, {smc}')}, ptr %smcp")

    def leave_after_insn(self, sync: bool) -> None:
        """Leave the unit for the instruction after this one (``sync``: through the
        engine), with this one retired."""
        ins = self.block.insns[self.k]
        used = self.ins(f"add i64 {self.used}, {self.k + 1}")
        self.chain(lit((ins.pc + ins.length) & M64, 64), used, sync=sync)

    def code_written(self, join: str) -> None:
        """The store op ``self.j`` wrote to a page holding code: a store that ends its
        instruction leaves for the next one at once (the rest of the unit may be stale);
        any other sets %smcp and goes on to ``join``."""
        if self.j in self.direct_stores:
            self.leave_after_insn(sync=True)
            return
        self.emit("store i1 true, ptr %smcp")
        self.emit(f"br label %{join}")

    # -- calls into Python ---------------------------------------------------------------------

    def put_args(self, args: list[Value]) -> None:
        word = IO_ARGS
        for a in args:
            lo, hi = self.to_words(self.v(a), a.width)
            self.emit(f"store i64 {lo}, ptr {self.io(word)}")
            word += 1
            if a.width > 64:
                self.emit(f"store i64 {hi}, ptr {self.io(word)}")
                word += 1
        if word > IO_WORDS:
            raise ValueError("too many helper arguments for the jit's io buffer")

    def get_result(self, op: Op) -> None:
        if op.dst is None:
            return
        w = op.dst.width
        lo = self.ins(f"load i64, ptr {self.io(IO_R0)}")
        hi = self.ins(f"load i64, ptr {self.io(IO_R1)}") if w > 64 else None
        self.alias(op, self.from_words(lo, hi, w))

    def site_call(self, site: Site, op: Op, args: list[Value]) -> None:
        idx = self.env.add_site(site)
        self.put_args(args)
        self.callback("call", [str(idx)])
        self.get_result(op)

    def pure_call(self, op: Op, fn: Callable, args: list[Value]) -> None:
        site = Site("pure", fn, tuple(a.width for a in args), op.dst.width, k=self.k)
        self.site_call(site, op, args)

    def op_call(self, op):
        helper = op.attrs["helper"]
        args = list(op.args)
        site = Site(
            "helper",
            helper.fn,
            tuple(a.width for a in args),
            op.dst.width if op.dst is not None else 0,
            state=helper.state,
            k=self.k,
        )
        if helper.state:
            self.write_back()
        self.site_call(site, op, args)
        if helper.state:
            self.reload()
        self.known.clear()  # a state helper may change any slot

    def _fp(self, op: Op, fname: str) -> None:
        self.known.pop(op.attrs.get("flags"), None)  # the flags slot is updated in place
        if fpnative.lower_fp(self, op, fname):
            return
        fn = getattr(self.env.softfp, fname)
        args = list(op.args)
        site = Site("fp", fn, tuple(a.width for a in args), op.dst.width, k=self.k)
        self.site_call(site, op, args)
        flags = op.attrs.get("flags")
        if flags is not None:
            self.accrue_flags(flags, self.ins(f"load i64, ptr {self.io(IO_FLAGS)}"))

    def accrue_flags(self, slot: int, raised: str) -> None:
        """OR an operation's exception flags (an i64 operand) into the flags slot."""
        p = self.slot(slot)
        old = self.ins(f"load i64, ptr {p}")
        self.emit(f"store i64 {self.ins(f'or i64 {old}, {raised}')}, ptr {p}")

    def _fp_arith(self, op):
        self._fp(op, f"{op.name}_{op.attrs['fmt']}")

    op_fadd = op_fsub = op_fmul = op_fdiv = op_fsqrt = op_fma = _fp_arith
    op_feq = op_flt = op_fle = _fp_arith

    def op_fcvt_ff(self, op):
        self._fp(op, f"cvt_{op.attrs['fmt']}_{op.attrs['to_fmt']}")

    def op_fcvt_fi(self, op):
        kind = ("i" if op.attrs["signed"] else "ui") + str(op.dst.width)
        self._fp(op, f"cvt_{op.attrs['fmt']}_{kind}")

    def op_fcvt_if(self, op):
        kind = ("i" if op.attrs["signed"] else "ui") + str(op.args[0].width)
        self._fp(op, f"cvt_{kind}_{op.attrs['fmt']}")

    # -- traps and exits ----------------------------------------------------------------------

    def trap_exit(self, cause: Value, tval: Value) -> str:
        c = self.to64(self.v(cause), cause.width)
        t = self.to64(self.v(tval), tval.width)
        return self.exit_label(EXIT_TRAP, ((CAUSE, c), (TVAL, t)))

    def op_trap(self, op):
        name = self.trap_exit(op.args[0], op.args[1])
        self.emit(f"br label %{name}")
        self.label(self.newlabel())  # anything after a trap is dead

    def op_trap_if(self, op):
        cond, cause, tval = op.args
        name = self.trap_exit(cause, tval)
        ok = self.newlabel()
        self.branch_cold(self.v(cond), name, ok)
        self.label(ok)

    def op_goto(self, op):
        a = op.args[0]
        self.chain(self.to64(self.v(a), a.width))

    op_goto_ind = op_goto

    def op_branch(self, op):
        c, t, nt = op.args
        lt, ln = self.newlabel(), self.newlabel()
        self.emit(f"br i1 {self.v(c)}, label %{lt}, label %{ln}")
        self.label(lt)
        self.chain(self.to64(self.v(t), t.width))
        self.label(ln)
        self.chain(self.to64(self.v(nt), nt.width))


def _slots_of(blocks: list[Block]) -> tuple[set[int], set[int]]:
    """The state slots a unit's ops read and write (get/set, FP flags)."""
    read: set[int] = set()
    written: set[int] = set()
    for block in blocks:
        for op in block.ops:
            if op.name == "get":
                read.update(range(op.args[0], op.args[0] + (op.dst.width + 63) // 64))
            elif op.name == "set":
                written.update(range(op.args[0], op.args[0] + (op.args[1].width + 63) // 64))
            elif op.attrs.get("flags") is not None:
                read.add(op.attrs["flags"])
                written.add(op.attrs["flags"])
    return read, written


def lower_blocks(
    env: Env,
    blocks: list[tuple[str, Block | list[Block], bool]],
    counters: dict[str, int] | None = None,
    promote: set[str] | None = None,
    targets: dict[str, dict[int, tuple[int, ...]]] | None = None,
    direct_callbacks: bool = False,
    entries: dict[str, tuple[int, ...]] | None = None,
    packs: set[str] | None = None,
) -> str:
    """LLVM IR text of a module holding ``(function name, unit, fast_ram)`` functions, where
    a unit is a block or a region (a list of blocks entered at the first); ``counters``
    gives functions an entry counter (see EXIT_HOT); the functions in ``promote`` keep guest
    registers in LLVM registers; ``targets`` gives a function, per block pc, the pcs that
    block's indirect jump was seen to reach (see BlockGen); ``direct_callbacks`` is
    BlockGen's; ``entries`` gives a region the members it may also be entered at, through
    the ENTRY slot (see BlockGen); the functions in ``packs`` are packs (see BlockGen)."""
    funcs, decls = [], set()
    for fname, block, fast in blocks:
        counter = (counters or {}).get(fname)
        seen = (targets or {}).get(fname)
        promoted = fname in (promote or ())
        more = (entries or {}).get(fname, ())
        gen = BlockGen(
            env,
            block,
            fname,
            fast,
            counter,
            promoted,
            seen,
            direct_callbacks,
            more,
            pack=fname in (packs or ()),
        )
        names = [entry_name(fname, k) for k in range(1, len(more) + 1)]
        gen.entry_counters = {n: counters[n] for n in names if n in (counters or {})}
        funcs.append(gen.generate())
        decls |= gen.decls
    return "\n".join(sorted(decls)) + "\n\n" + "\n".join(funcs) + "\n" + branch_weights()


def branch_weights() -> str:
    """The metadata nodes branch_cold and branch_hot name, which every module defines."""
    return f"!{COLD_FIRST} = {_RARE_FIRST}\n!{HOT_FIRST} = {_RARE_SECOND}\n"


def callback_stubs(env: Env, triple: str) -> str:
    """Stubs ``vm_cb_<name>`` with CALLBACK_CC that call the C-convention callbacks, or
    nothing on hosts without that convention."""
    if not triple.startswith(_CC_HOSTS):
        return ""
    out = []
    for name, arity in CALLBACK_ARITY.items():
        params = ", ".join(f"i64 %a{i}" for i in range(arity))
        out.append(
            f"define {CALLBACK_CC} i32 @vm_cb_{name}({params}) noinline {FN_ATTRS} {{\n"
            f"  %r = call i32 inttoptr (i64 {env.callbacks[name]} to ptr)({params})\n"
            "  ret i32 %r\n}\n"
        )
    return "\n".join(out)


def dispatcher(env: Env) -> str:
    """The loop native code returns to when a tail call is not possible (or its inline
    lookup in the table's first way misses: the dispatcher tries the second way too, see
    Env.entry2), and the stub an empty table entry points to."""
    ex = env.ctl(EXIT)
    return f"""
define i64 @vm_dispatch(ptr %S, ptr %T, i64 %pc0) {FN_ATTRS} {{
entry:
  %exitp = getelementptr i64, ptr %S, i64 {ex}
  %entp = getelementptr i64, ptr %S, i64 {env.ctl(ENTRY)}
  br label %loop
loop:
  %pc = phi i64 [%pc0, %entry], [%npc, %call]
  %h = lshr i64 %pc, 1
  %i = and i64 %h, {env.table_mask}
  %i2 = shl i64 %i, 1
  %ep = getelementptr i64, ptr %T, i64 %i2
  %epc = load i64, ptr %ep
  %hit = icmp eq i64 %epc, %pc
  br i1 %hit, label %call, label %way2
way2:
  %hi = lshr i64 %pc, 16
  %h2 = xor i64 %h, %hi
  %j = and i64 %h2, {env.table_mask}
  %j1 = add i64 %j, {env.table_mask + 1}
  %j2 = shl i64 %j1, 1
  %ep2 = getelementptr i64, ptr %T, i64 %j2
  %epc2 = load i64, ptr %ep2
  %hit2 = icmp eq i64 %epc2, %pc
  br i1 %hit2, label %call, label %miss
miss:
  store i64 {EXIT_MISS}, ptr %exitp
  ret i64 %pc
call:
  %e = phi ptr [%ep, %loop], [%ep2, %way2]
  %fpp = getelementptr i64, ptr %e, i64 1
  %f = load ptr, ptr %fpp
  store i64 %pc, ptr %entp
  %npc = call {env.cc} i64 %f(ptr %S)
  %ex = load i64, ptr %exitp
  %z = icmp eq i64 %ex, 0
  br i1 %z, label %loop, label %out
out:
  ret i64 %npc
}}

define {env.cc} i64 @vm_miss(ptr %S) {FN_ATTRS} {{
  %exitp = getelementptr i64, ptr %S, i64 {ex}
  store i64 {EXIT_MISS}, ptr %exitp
  ret i64 -1
}}
"""
