"""The reference engine: each IR block becomes one Python function, compiled once.

Why Python source per block: it runs 12-16 guest MIPS against 3-5 for interpreting IR op by
op (DESIGN.md). Registers a block touches are cached in local variables, loaded once on entry
and written back at the exit (and on a trap, which keeps traps precise: locals then hold the
state as of the faulting instruction). RAM is reached with ``struct`` on the main RAM's mmap
while the MMU is the identity; everything else takes the bus's slow path.

Compiling costs as much as running a block on tier 0 (:mod:`vmcore.engines.evaluate`) about a
hundred times, so a new block first runs there and is compiled once it has run ``TIER0``
times (see :meth:`InterpEngine.compile`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vmcore import softfp
from vmcore.engines import evaluate
from vmcore.engines.base import Engine
from vmcore.engines.evaluate import EarlyExit
from vmcore.ir import Access, Block, GuestTrap, Op, Value, load_access, mask
from vmcore.memory import PAGE_SHIFT, BusError

if TYPE_CHECKING:
    from vmcore.cpu import Cpu

#: entry kind of regions: run with an instruction limit, report instructions retired
REGION = "region"
#: most blocks in one region
REGION_BLOCKS = 24
#: entry kind of blocks jumping backwards: counted until HOT, then their loop is a region
LOOP_EXIT = "loop-exit"
HOT = 16
#: runs of a new block on tier 0 (vmcore.engines.evaluate) before it is compiled; 0 compiles
#: at once. The environment variable VMCORE_INTERP_TIER0 overrides it.
TIER0 = 64

#: ops that may raise a guest trap (the instruction index must be current before them)
_TRAPPING = frozenset({"load", "store", "trap", "trap_if"})

_UNPACK = {n: struct.Struct(f) for n, f in ((1, "<B"), (2, "<H"), (4, "<I"), (8, "<Q"))}


def _sdiv(a: int, b: int, w: int) -> int:
    m = (1 << w) - 1
    if b == 0:
        return m
    sign = 1 << (w - 1)
    sa, sb = (a ^ sign) - sign, (b ^ sign) - sign
    q = abs(sa) // abs(sb)
    if (sa < 0) != (sb < 0):
        q = -q
    return q & m


def _srem(a: int, b: int, w: int) -> int:
    if b == 0:
        return a
    sign = 1 << (w - 1)
    sa, sb = (a ^ sign) - sign, (b ^ sign) - sign
    r = abs(sa) % abs(sb)
    return (-r if sa < 0 else r) & ((1 << w) - 1)


def _mulhs(a: int, b: int, w: int) -> int:
    sign = 1 << (w - 1)
    return ((((a ^ sign) - sign) * ((b ^ sign) - sign)) >> w) & ((1 << w) - 1)


def _mulhsu(a: int, b: int, w: int) -> int:
    sign = 1 << (w - 1)
    return ((((a ^ sign) - sign) * b) >> w) & ((1 << w) - 1)


def _clz(a: int, w: int) -> int:
    return w - a.bit_length()


def _ctz(a: int, w: int) -> int:
    return ((a & -a).bit_length() - 1) if a else w


def _bswap(a: int, w: int) -> int:
    return int.from_bytes(a.to_bytes(w // 8, "little"), "big")


def _rotl(a: int, b: int, w: int) -> int:
    b %= w
    return ((a << b) | (a >> (w - b))) & ((1 << w) - 1) if b else a


#: Runtime support the generated code refers to by name.
RUNTIME: dict[str, Any] = {
    "_sdiv": _sdiv,
    "_srem": _srem,
    "_mulhs": _mulhs,
    "_mulhsu": _mulhsu,
    "_clz": _clz,
    "_ctz": _ctz,
    "_bswap": _bswap,
    "_rotl": _rotl,
    "GuestTrap": GuestTrap,
    "BusError": BusError,
    "EarlyExit": EarlyExit,
    "FP": softfp,
}


class _Codegen:
    """Lowers one :class:`Block` to the source of ``def blk(S, C)`` returning the next pc."""

    def __init__(
        self, block: Block, fast_ram: bool, consts: dict[str, Any], region: int | None = None
    ) -> None:
        self.block = block
        #: index of this block inside a region (exits assign ``pc`` instead of returning)
        self.region = region
        self.prefix = "" if region is None else f"{region}_"
        #: expression for instructions retired in this call before the current one
        self.progress = "k" if region is None else "done + k"
        self.fast_ram = fast_ram
        self.consts = consts  # name -> object, shared with the function's globals
        self.lines: list[str] = []
        self.expr: dict[int, str] = {}  # value id -> python literal (consts)
        #: value id -> (expression, slots it reads): not yet materialised in a local
        self.pending: dict[int, tuple[str, frozenset[int]]] = {}
        self.uses: dict[int, int] = {}
        #: value id -> expression of the wider value a single-use trunc was taken from
        self.trunc_of: dict[int, str] = {}
        self.last_use: dict[int, int] = {}
        self.i = 0  # index of the op being lowered
        self.slots: set[int] = set()
        self.written: set[int] = set()
        self.cur_deps: set[int] = set()
        self.indent = " " * (16 if region is not None else 8)

    def name(self, v: Value) -> str:
        if v.id in self.expr:
            return self.expr[v.id]
        entry = self.pending.get(v.id)
        if entry is not None:
            self.cur_deps |= entry[1]
            if self.uses.get(v.id, 0) == 1:
                del self.pending[v.id]
            return entry[0]
        return f"t{self.prefix}{v.id}"

    def materialize(self, slot: int | None = None) -> None:
        """Give pending expressions reading ``slot`` (or all) a local before it changes."""
        for vid, (expr, deps) in list(self.pending.items()):
            if slot is None or slot in deps:
                if self.last_use.get(vid, -1) > self.i:
                    self.emit(f"t{self.prefix}{vid} = {expr}")
                del self.pending[vid]

    def obj(self, prefix: str, value: Any) -> str:
        """A global name for a host object the generated code calls (one per object)."""
        names = self.consts.setdefault("__names__", {})
        key = names.get((prefix, id(value)))
        if key is None:
            key = names[(prefix, id(value))] = f"{prefix}{len(names)}"
            self.consts[key] = value
        return key

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    def lower(self) -> list[str]:
        """The block's body lines (exits return, or assign ``pc`` inside a region)."""
        block = self.block
        ops = block.ops
        uses, last_use, slots, written = self.uses, self.last_use, self.slots, self.written
        starts = {ins.index: n for n, ins in enumerate(block.insns)}
        may_trap = set()  # op index of the first op of each instruction that may trap
        start = 0
        has_store = False
        for i, op in enumerate(ops):
            if i in starts:
                start = i
            for a in op.args:
                if type(a) is Value:
                    uses[a.id] = uses.get(a.id, 0) + 1
                    last_use[a.id] = i
            name = op.name
            if name == "get" or name == "set":
                width = op.dst.width if name == "get" else op.args[1].width
                first = op.args[0]
                for j in range(first, first + (width + 63) // 64):
                    slots.add(j)
                    if name == "set":
                        written.add(j)
            elif name in _TRAPPING or (name == "call" and op.attrs["helper"].state):
                may_trap.add(start)
                has_store = has_store or name == "store"
        lowerers = _LOWERERS
        stored = False
        fast = self.fast_ram
        for i, op in enumerate(ops):
            n = starts.get(i)
            if n is not None:
                if stored:
                    self._leave_if_code_changed(n)
                    stored = False
                if i in may_trap:
                    self.emit(f"k = {n}")
            self.i = i
            self.cur_deps = set()  # slots read by the pending expressions this op consumes
            lowerers[op.name](self, op)
            if fast and op.name == "store":
                stored = True
        self.has_store = has_store and fast
        return self.lines

    def _leave_if_code_changed(self, n: int) -> None:
        """After an instruction that wrote to a page holding code, stop before the next
        one: the rest of this translation may be stale (as QEMU does)."""
        pc = self.block.insns[n].pc
        self.materialize()
        self.emit("if smc:")
        if self.region is None:
            self.emit("    @WB@")
            self.emit(f"    raise EarlyExit({pc:#x}, {n})")
        else:
            self.emit(f"    done += {n}; pc = {pc:#x}; break")

    def generate(self) -> str:
        body = "\n".join(self.lower())
        load = "; ".join(f"r{s} = S[{s}]" for s in sorted(self.slots)) or "pass"
        store = "; ".join(f"S[{s}] = r{s}" for s in sorted(self.written)) or "pass"
        body = body.replace("@WB@", store).replace("@RL@", load)  # around state helpers
        return (
            "def blk(S, C):\n"
            f"    {load}\n"
            "    k = smc = 0\n"
            "    try:\n"
            f"{body}\n"
            "    except (GuestTrap, BusError) as e:\n"
            f"        {store}\n"
            "        e.insn_index = k\n"
            "        raise\n"
        )

    # -- helpers --------------------------------------------------------------------------

    def define(self, op: Op, expr: str) -> None:
        """Bind a pure op's result: fold constants, inline it at its single use, else a
        local."""
        vals = [a for a in op.args if isinstance(a, Value)]
        if vals and all(a.id in self.expr for a in vals):
            self.expr[op.dst.id] = hex(int(eval(expr, RUNTIME)))  # noqa: S307 - our own code
            return
        if self.uses.get(op.dst.id, 0) == 1:
            self.pending[op.dst.id] = (f"({expr})", frozenset(self.cur_deps))
        else:
            self.emit(f"t{self.prefix}{op.dst.id} = {expr}")

    def a(self, op: Op, i: int) -> str:
        return self.name(op.args[i])

    # -- ops -------------------------------------------------------------------------------

    def op_const(self, op: Op) -> None:
        self.expr[op.dst.id] = hex(op.args[0])

    def op_get(self, op: Op) -> None:
        s, w = op.args[0], op.dst.width
        if w == 128:
            self.define(op, f"r{s} | (r{s + 1} << 64)")
        elif w == 64:
            self.pending[op.dst.id] = (f"r{s}", frozenset((s,)))
        else:
            self.define(op, f"r{s} & {mask(w):#x}")

    def op_set(self, op: Op) -> None:
        s, v = op.args
        value = self.name(v)
        self.materialize(s)
        if v.width == 128:
            self.materialize(s + 1)
            tmp = f"t{self.prefix}{v.id}"
            self.emit(f"{tmp} = {value}")
            self.emit(f"r{s} = {tmp} & {mask(64):#x}; r{s + 1} = {tmp} >> 64")
        elif v.width == 1:
            self.emit(f"r{s} = 1 if {value} else 0")
        else:
            self.emit(f"r{s} = {value}")

    def _bin(self, op: Op, fmt: str) -> None:
        w = op.dst.width
        self.define(op, fmt.format(a=self.a(op, 0), b=self.a(op, 1), m=hex(mask(w)), w=w))

    def _wrapping(self, op: Op, sym: str) -> None:
        """add/sub/mul: the low bits of the result depend only on the low bits of the
        operands, so truncations feeding them are skipped and ``x + 0`` is ``x``."""
        m = f"{mask(op.dst.width):#x}"
        if sym != "*" and self.expr.get(op.args[1].id) == "0x0":
            self.define(op, f"{self.low_bits(op.args[0])} & {m}")
            return
        a, b = (self.low_bits(v) for v in op.args)
        self.define(op, f"({a} {sym} {b}) & {m}")

    def low_bits(self, v: Value) -> str:
        inner = self.trunc_of.get(v.id)
        if inner is not None and v.id in self.pending:
            self.cur_deps |= self.pending.pop(v.id)[1]
            return inner
        return self.name(v)

    def op_add(self, op):
        self._wrapping(op, "+")

    def op_sub(self, op):
        self._wrapping(op, "-")

    def op_mul(self, op):
        self._wrapping(op, "*")

    def op_mulhu(self, op):
        self._bin(op, "({a} * {b}) >> {w}")

    def op_mulhs(self, op):
        self._bin(op, "_mulhs({a}, {b}, {w})")

    def op_mulhsu(self, op):
        self._bin(op, "_mulhsu({a}, {b}, {w})")

    def op_udiv(self, op):
        self._bin(op, "({a} // {b}) if {b} else {m}")

    def op_sdiv(self, op):
        self._bin(op, "_sdiv({a}, {b}, {w})")

    def op_urem(self, op):
        self._bin(op, "({a} % {b}) if {b} else {a}")

    def op_srem(self, op):
        self._bin(op, "_srem({a}, {b}, {w})")

    def op_and(self, op):
        self._bin(op, "{a} & {b}")

    def op_or(self, op):
        self._bin(op, "{a} | {b}")

    def op_xor(self, op):
        self._bin(op, "{a} ^ {b}")

    def op_shl(self, op):
        self._bin(op, "(({a} << {b}) & {m}) if {b} < {w} else 0")

    def op_lshr(self, op):
        self._bin(op, "{a} >> {b}")

    def op_ashr(self, op):
        s = hex(1 << (op.dst.width - 1))
        self._bin(op, f"((({{a}} ^ {s}) - {s}) >> {{b}}) & {{m}}")

    def op_rotl(self, op):
        self._bin(op, "_rotl({a}, {b}, {w})")

    def op_rotr(self, op):
        self._bin(op, "_rotl({a}, {w} - {b} % {w}, {w})")

    def _un(self, op: Op, fmt: str) -> None:
        w = op.dst.width
        self.define(op, fmt.format(a=self.a(op, 0), m=hex(mask(w)), w=w))

    def op_not(self, op):
        self._un(op, "{a} ^ {m}")

    def op_neg(self, op):
        self._un(op, "-{a} & {m}")

    def op_clz(self, op):
        self._un(
            op, "{w} - {a}.bit_length()" if op.args[0].id not in self.expr else "_clz({a}, {w})"
        )

    def op_ctz(self, op):
        self._un(op, "_ctz({a}, {w})")

    def op_popcnt(self, op):
        self._un(op, "({a}).bit_count()")

    def op_bswap(self, op):
        self._un(op, "_bswap({a}, {w})")

    def op_eq(self, op):
        self._bin(op, "{a} == {b}")

    def op_ne(self, op):
        self._bin(op, "{a} != {b}")

    def op_ult(self, op):
        self._bin(op, "{a} < {b}")

    def op_ule(self, op):
        self._bin(op, "{a} <= {b}")

    def op_slt(self, op):
        s = hex(1 << (op.args[0].width - 1))
        self._bin(op, f"({{a}} ^ {s}) < ({{b}} ^ {s})")

    def op_sle(self, op):
        s = hex(1 << (op.args[0].width - 1))
        self._bin(op, f"({{a}} ^ {s}) <= ({{b}} ^ {s})")

    def op_select(self, op):
        c, a, b = (self.a(op, i) for i in range(3))
        self.define(op, f"{a} if {c} else {b}")

    def op_zext(self, op):
        src = op.args[0]
        self.define(op, f"1 if {self.name(src)} else 0" if src.width == 1 else self.name(src))

    def op_sext(self, op):
        src = op.args[0]
        if src.width == 1:
            self.define(op, f"{mask(op.dst.width):#x} if {self.name(src)} else 0")
            return
        s = hex(1 << (src.width - 1))
        self.define(op, f"(({self.name(src)} ^ {s}) - {s}) & {mask(op.dst.width):#x}")

    def op_trunc(self, op):
        src = op.args[0]
        if src.id not in self.expr and self.uses.get(op.dst.id) == 1:
            inner = self.trunc_of[op.dst.id] = self.name(src)
            self.pending[op.dst.id] = (
                f"({inner} & {mask(op.dst.width):#x})",
                frozenset(self.cur_deps),
            )
            return
        self.define(op, f"{self.a(op, 0)} & {mask(op.dst.width):#x}")

    # -- memory -------------------------------------------------------------------------------

    def _align_check(self, op: Op, addr: str, size: int, access: Access) -> None:
        if op.attrs.get("aligned") and size > 1:
            self.emit(f"if {addr} & {size - 1}: raise C.isa.misaligned(ACC{access.value}, {addr})")

    def op_load(self, op):
        size = op.dst.width // 8
        addr = self.a(op, 0)
        acc = load_access(op)
        self._align_check(op, addr, size, acc)
        dst = f"t{self.prefix}{op.dst.id}"
        # (an atomic's read, translated as a store; the main RAM is writable, so it may
        # take the fast path too)
        access = f", ACC{acc.value}" if acc is Access.STORE else ""
        slow = f"LOAD(C, {addr}, {size}, {self.progress}{access})"
        if self.fast_ram and size in _UNPACK:
            unpack = self.obj("U", _UNPACK[size].unpack_from)
            self.emit(f"x = {addr} - RB")
            self.emit(f"if 0 <= x <= RL{size}: {dst} = {unpack}(RAM, x)[0]")
            self.emit(f"else: {dst} = {slow}")
        else:
            self.emit(f"{dst} = {slow}")

    def op_store(self, op):
        addr, val = self.a(op, 0), self.a(op, 1)
        size = op.args[1].width // 8
        self._align_check(op, addr, size, Access.STORE)
        if self.fast_ram and size in _UNPACK:
            pack = self.obj("P", _UNPACK[size].pack_into)
            self.emit(f"x = {addr} - RB")
            self.emit(f"if 0 <= x <= RL{size}:")
            self.emit(f"    {pack}(RAM, x, {val})")
            last = f" or CP[(x + {size - 1}) >> {PAGE_SHIFT}]" if size > 1 else ""
            self.emit(f"    if CP[x >> {PAGE_SHIFT}]{last}: CODEW(x, {size}); smc = 1")
            self.emit(f"else: STORE(C, {addr}, {size}, {val}, {self.progress})")
        else:
            self.emit(f"STORE(C, {addr}, {size}, {val}, {self.progress})")

    # -- floating point ------------------------------------------------------------------------

    def _fp(self, op: Op, fn: str, args: list[str]) -> None:
        flags = op.attrs.get("flags")
        dst = f"t{self.prefix}{op.dst.id}"
        self.emit(f"{dst}, fl = FP.{fn}({', '.join(args)})")
        if flags is not None:
            self.slots.add(flags)
            self.written.add(flags)
            self.materialize(flags)
            self.emit(f"if fl: r{flags} |= fl")

    def _fp_arith(self, op: Op) -> None:
        fmt = op.attrs["fmt"]
        self._fp(op, f"{op.name}_{fmt}", [self.name(a) for a in op.args])

    op_fadd = op_fsub = op_fmul = op_fdiv = op_fsqrt = op_fma = _fp_arith
    op_feq = op_flt = op_fle = _fp_arith

    def op_fcvt_ff(self, op):
        self._fp(op, f"cvt_{op.attrs['fmt']}_{op.attrs['to_fmt']}", [self.a(op, 0), self.a(op, 1)])

    def op_fcvt_fi(self, op):
        kind = ("i" if op.attrs["signed"] else "ui") + str(op.dst.width)
        self._fp(op, f"cvt_{op.attrs['fmt']}_{kind}", [self.a(op, 0), self.a(op, 1)])

    def op_fcvt_if(self, op):
        kind = ("i" if op.attrs["signed"] else "ui") + str(op.args[0].width)
        self._fp(op, f"cvt_{kind}_{op.attrs['fmt']}", [self.a(op, 0), self.a(op, 1)])

    # -- helpers, traps, exits ----------------------------------------------------------------

    def op_call(self, op):
        helper = op.attrs["helper"]
        fn = self.obj("H", helper.fn)
        args = [self.name(a) for a in op.args]
        dst = f"t{self.prefix}{op.dst.id} = " if op.dst is not None else ""
        if helper.state:
            # the helper sees and may change any state: flush, call, reload
            self.materialize()
            self.written.update(self.slots)
            self.emit("@WB@")
            self.emit("C.progress = k")
            self.emit(f"{dst}{fn}(C{''.join(', ' + x for x in args)})")
            self.emit("@RL@")
        else:
            self.emit(f"{dst}{fn}({', '.join(args)})")

    def op_trap(self, op):
        self.emit(f"raise GuestTrap({self.a(op, 0)}, {self.a(op, 1)})")

    def op_trap_if(self, op):
        self.emit(f"if {self.a(op, 0)}: raise GuestTrap({self.a(op, 1)}, {self.a(op, 2)})")

    def _exit(self, target: str) -> None:
        if self.region is None:
            self.emit("@WB@")
            self.emit(f"return {target}")
        else:
            self.emit(f"pc = {target}")

    def op_goto(self, op):
        self._exit(self.a(op, 0))

    op_goto_ind = op_goto

    def op_branch(self, op):
        self._exit(f"{self.a(op, 1)} if {self.a(op, 0)} else {self.a(op, 2)}")


#: op name -> the _Codegen method lowering it
_LOWERERS: dict[str, Callable[[_Codegen, Op], None]] = {
    name[3:]: fn for name, fn in vars(_Codegen).items() if name.startswith("op_")
}


def lower_region(blocks: list[Block], fast_ram: bool, consts: dict[str, Any]) -> str:
    """One function running several blocks with registers kept in locals between them.

    Control moves between the region's blocks with a local ``pc`` until it leaves the
    region or ``C.loop_limit`` instructions would be exceeded; ``C.iters`` reports the
    instructions retired. A trap reports the block (``e.block_index``), the instruction
    inside it and the instructions retired before (``e.done``).
    """
    gens = [_Codegen(b, fast_ram, consts, region=i) for i, b in enumerate(blocks)]
    limits: set[int] = set()
    bodies: dict[int, list[str]] = {}
    for i, (gen, block) in enumerate(zip(gens, blocks, strict=True)):
        n = len(block.insns)
        limits.add(n)
        body = [f"if done > lim{n}: break"]
        if any(op.name in _TRAPPING or op.name == "call" for op in block.ops):
            body.append(f"bi = {i}")
        body += [line[16:] for line in gen.lower()]
        body.append(f"done += {n}")
        if gen.has_store:
            body.append("if smc: break")
        bodies[block.pc] = body
    out = _dispatch(sorted(bodies), bodies, 12)
    slots = sorted(set().union(*(g.slots for g in gens)))
    written = sorted(set().union(*(g.written for g in gens)))
    load = "; ".join(f"r{s} = S[{s}]" for s in slots) or "pass"
    store = "; ".join(f"S[{s}] = r{s}" for s in written) or "pass"
    body = "\n".join(out)
    return (
        "def blk(S, C):\n"
        f"    {load}\n"
        f"    pc = {blocks[0].pc:#x}\n"
        "    k = bi = done = smc = 0\n"
        "    lim = C.loop_limit\n"
        f"    {'; '.join(f'lim{n} = lim - {n}' for n in sorted(limits))}\n"
        "    try:\n"
        "        while True:\n"
        f"{body}\n"
        "    except (GuestTrap, BusError) as e:\n"
        f"        {store}\n"
        "        e.insn_index = k\n"
        "        e.block_index = bi\n"
        "        e.done = done\n"
        "        raise\n"
        f"    {store}\n"
        "    C.iters = done\n"
        "    return pc\n"
    )


def chain_region(blocks: list[Block], runnables: list[Callable]) -> Callable:
    """A region (the protocol of lower_region's) that runs its blocks' own runnables one
    after another: nothing to compile, each block as fast as its runnable."""
    pairs = enumerate(zip(blocks, runnables, strict=True))
    members = {b.pc: (i, fn, len(b.insns)) for i, (b, fn) in pairs}
    head = blocks[0].pc
    get = members.get

    def region(S: Any, C: Any) -> int:
        lim = C.loop_limit
        pc, done, bi = head, 0, 0
        try:
            while True:
                m = get(pc)
                if m is None:
                    break
                bi, fn, n = m
                if done + n > lim:
                    break
                pc = fn(S, C)
                done += n
        except EarlyExit as e:
            done += e.done
            pc = e.pc
        except (GuestTrap, BusError) as e:
            e.block_index = bi
            e.done = done
            raise
        C.iters = done
        return pc

    return region


def lower_block(block: Block, fast_ram: bool, consts: dict[str, Any]) -> str:
    """Python source for ``block`` (exposed for tests and ``--jit-dump``-style debugging)."""
    return _Codegen(block, fast_ram, consts).generate()


def _dispatch(pcs: list[int], bodies: dict[int, list[str]], indent: int) -> list[str]:
    """Nested ifs choosing a region's block by ``pc``: a binary search over the sorted
    block addresses, then a short chain; an unknown pc leaves the region."""
    pad = " " * indent
    if len(pcs) > 3:
        mid = len(pcs) // 2
        return [
            f"{pad}if pc < {pcs[mid]:#x}:",
            *_dispatch(pcs[:mid], bodies, indent + 4),
            f"{pad}else:",
            *_dispatch(pcs[mid:], bodies, indent + 4),
        ]
    out = []
    for i, pc in enumerate(pcs):
        out.append(f"{pad}{'if' if i == 0 else 'elif'} pc == {pc:#x}:")
        out += [pad + "    " + line for line in bodies[pc]]
    out += [f"{pad}else:", f"{pad}    break"]
    return out


class InterpEngine(Engine):
    """Runs IR blocks as compiled Python functions; the reference for every other engine."""

    name = "interp"

    def __init__(self, machine, tier0: int | None = None) -> None:
        super().__init__(machine)
        if tier0 is None:
            env = os.environ.get("VMCORE_INTERP_TIER0", "").strip()
            try:
                tier0 = int(env) if env else TIER0
            except ValueError:
                raise ValueError(
                    f"VMCORE_INTERP_TIER0={env!r}: expected a number of runs (0 disables tier 0)"
                ) from None
        #: runs of a block on tier 0 before it is compiled (0: no tier 0)
        self.tier0 = tier0
        ram = machine.bus.main_ram
        self.ram = ram
        self.globals: dict[str, Any] = dict(RUNTIME)
        self.globals.update(
            RAM=ram.mem if ram else None,
            RB=ram.base if ram else 0,
            CP=ram.code_pages if ram else b"",
            CODEW=self._code_write_fast,
            LOAD=self._slow_load,
            STORE=self._slow_store,
            **{f"ACC{a.value}": a for a in Access},
        )
        for size in (1, 2, 4, 8):
            self.globals[f"RL{size}"] = (ram.size - size) if ram else -1
        self.region_heads: set[tuple[int, int]] = set()
        self.heat: dict[int, int] = {}
        self._tier0_context = evaluate.Context(self.globals)
        #: made once: a bound method per block would be one more object each
        self._tier_up_hook = self._tier_up_tier0

    # -- memory slow paths ------------------------------------------------------------------

    @staticmethod
    def _slow_load(
        cpu: Cpu, vaddr: int, size: int, progress: int, access: Access = Access.LOAD
    ) -> int:
        """``access``: STORE for the read of an atomic (a load with ``rmw``)."""
        cpu.progress = progress
        return cpu.read_virtual(vaddr, size, access)

    @staticmethod
    def _slow_store(cpu: Cpu, vaddr: int, size: int, value: int, progress: int) -> None:
        cpu.progress = progress
        cpu.write_virtual(vaddr, size, value)

    def _code_write_fast(self, offset: int, size: int) -> None:
        self.machine.bus.note_write(self.ram, offset, size)

    # -- translation ---------------------------------------------------------------------------

    def _load(self, src: str, name: str) -> Callable:
        code = compile(src, name, "exec")
        ns: dict[str, Any] = {}
        exec(code, self.globals, ns)
        fn = ns["blk"]
        fn.source = src
        return fn

    def compile(self, cpu: Cpu, block: Block) -> Callable:
        """``block`` as a function ``blk(S, C)`` returning the next pc. With tier 0 on, a
        tier-0 runnable (vmcore.engines.evaluate) that compiles itself on its
        ``tier0 + 1``-th run (see :meth:`_promote`)."""
        fast = self.ram is not None and cpu.mmu.is_identity()
        if self.tier0 > 0:
            run = evaluate.build(block, self._tier0_context, fast, self.tier0, self._tier_up_hook)
            run.origin = self.origin(block)
            return run
        return self._compile_block(block, fast)

    def _tier_up_tier0(self, run: Callable, cpu: Cpu) -> Callable | None:
        """A tier-0 runnable's ``promote``: its block lifted again (a runnable keeps no IR,
        see Engine.block_of) and compiled; None if the code there changed."""
        block = self.block_of(cpu, run)
        if block is None:
            return None
        return self._promote(block, self.ram is not None and cpu.mmu.is_identity(), run)

    def _compile_block(self, block: Block, fast: bool) -> Callable:
        fn = self._load(lower_block(block, fast, self.globals), f"<block {block.pc:#x}>")
        fn.block = block
        fn.origin = self.origin(block)
        return fn

    def _promote(self, block: Block, fast: bool, run: Callable) -> Callable:
        """Compile the block a tier-0 ``run`` stands for and put it in ``run``'s place in
        the translation cache, keeping the entry's kind (``run`` itself forwards to it from
        wherever else it is still referenced: partial blocks, the jit's counting wrappers,
        a stale entry)."""
        fn = self._compile_block(block, fast)
        self.stats["tier_ups"] += 1
        table = self.cache.tables.get(block.mode)
        entry = table.get(block.pc) if table is not None else None
        if entry is not None and entry[0] is run:
            table[block.pc] = (fn, *entry[1:])
        return fn

    def flush(self) -> None:
        super().flush()
        self.region_heads.clear()
        self.heat.clear()

    def entry_kind(self, block: Block, runnable: Any) -> Any:
        kind = super().entry_kind(block, runnable)
        if not kind and self._loop_head(block) is not None:
            return LOOP_EXIT
        return kind

    def _count_loop(self, cpu: Cpu, pc: int, entry: tuple) -> int:
        """Run a block that jumps back; once it is hot, compile its loop as a region."""
        fn, n, _, pcs = entry
        count = self.heat[pc] = self.heat.get(pc, 0) + 1
        next_pc = fn(cpu.s, cpu)
        if count == HOT:
            mode = cpu.isa.mode_key(cpu)
            self.cache.table(mode)[pc] = (fn, n, False, pcs)
            block = self.block_of(cpu, fn)
            head = None if block is None else self._loop_head(block)
            if head is not None:
                self._build_region(cpu, head, pcs[-1] + cpu.isa.max_insn_len)
        return next_pc

    @staticmethod
    def _loop_head(block: Block) -> int | None:
        """The target of a backward direct exit of a block, if any."""
        back = [t for t in block.direct_targets() if t <= block.pc]
        return max(back) if back else None

    def _build_region(self, cpu: Cpu, head: int, end: int) -> None:
        """Compile the hot loop at ``head`` into one region and cache it as the entry for
        ``head``: the blocks already translated (so already run) that are reachable from it
        by direct exits or fall-through (the return point of a call), at most
        REGION_BLOCKS of them, the loop body [head, end) first."""
        mode = cpu.isa.mode_key(cpu)
        if (mode, head) in self.region_heads:
            return
        self.region_heads.add((mode, head))
        table = self.cache.table(mode)
        blocks: list[Block] = []
        runnables: list[Callable] = []
        todo, seen = [head], set()
        while todo and len(blocks) < REGION_BLOCKS:
            todo.sort(key=lambda pc: not head <= pc < end)
            pc = todo.pop(0)
            ent = table.get(pc)
            if pc in seen or ent is None or ent[2] not in (False, LOOP_EXIT):
                continue
            seen.add(pc)
            block = self.block_of(cpu, ent[0])
            if block is None:
                continue
            blocks.append(block)
            runnables.append(ent[0])
            todo += block.direct_targets()
            todo.append(block.end)
        if not blocks or blocks[0].pc != head:
            return
        fast = self.ram is not None and cpu.mmu.is_identity()
        fn = self._region_function(blocks, runnables, fast)
        pages: set[int] = set()
        for block in blocks:
            pages |= self._mark_code_pages(cpu, block)
        entry = (fn, len(blocks[0].insns), REGION, [[i.pc for i in b.insns] for b in blocks])
        self.cache.add(mode, head, entry, pages)
        self.stats["regions"] += 1

    def _region_function(
        self, blocks: list[Block], runnables: list[Callable], fast: bool
    ) -> Callable:
        """The runnable of a region of ``blocks`` (whose runnables are ``runnables``):
        compiled Python source (lower_region); engines may choose chain_region."""
        return self._load(lower_region(blocks, fast, self.globals), f"<region {blocks[0].pc:#x}>")

    # -- execution -------------------------------------------------------------------------------

    def run(self, cpu: Cpu, budget: int) -> int:
        """Run ``cpu`` for at most ``budget`` instructions; return how many retired.

        The hot loop handles plain blocks; blocks marked ``sync``, a budget about to run
        out and stop requests take the slow path, which also re-reads the mode and checks
        for interrupts.
        """
        isa = cpu.isa
        S = cpu.s
        pcslot = isa.regs.pc
        pc = S[pcslot]
        ins = start = cpu.instret  # cpu.instret is exact at every block boundary
        end = start + budget
        get = self.cache.table(isa.mode_key(cpu)).get
        traps = 0
        ent = None
        cpu.progress = 0
        while not cpu.stop:
            ent = get(pc)
            try:
                if ent is None:
                    ent = self.translate(cpu, pc)
                fn, n, slow, _ = ent
                if not slow and ins + n <= end:
                    pc = fn(S, cpu)
                    ins += n
                    cpu.instret = ins
                    continue
                if ins >= end or cpu.stop:
                    break
                if ins + n > end:  # finish the budget exactly, one instruction at a time
                    ent = self.partial_block(cpu, pc, 1)
                    fn, n, slow, _ = ent
                if slow is REGION:
                    cpu.loop_limit = end - ins
                    pc = fn(S, cpu)
                    ins += cpu.iters
                    cpu.instret = ins
                    continue
                if slow is LOOP_EXIT:
                    pc = self._count_loop(cpu, pc, ent)
                    ins += n
                    cpu.instret = ins
                    continue
                pc = fn(S, cpu)
                ins += n
                cpu.instret = ins
            except EarlyExit as exc:  # the block stopped early, after ``done`` instructions
                ins += exc.done
                cpu.instret = ins
                pc = exc.pc
            except (GuestTrap, BusError) as exc:
                trap = isa.bus_fault(exc) if isinstance(exc, BusError) else exc
                if ent is not None:
                    k = getattr(exc, "insn_index", 0)
                    if ent[2] is REGION:
                        pc = ent[3][exc.block_index][k]
                        ins += exc.done + k
                    else:
                        pc = ent[3][k]
                        ins += k
                cpu.instret = ins
                cpu.progress = 0
                S[pcslot] = pc
                pc = self.machine.take_trap(cpu, trap, pc)
                traps += 1
                if traps > budget:  # a trap loop retires nothing but must end the slice
                    break
            cpu.progress = 0
            S[pcslot] = pc
            get = self.cache.table(isa.mode_key(cpu)).get
            if cpu.waiting:
                break
            irq = isa.pending_interrupt(cpu)
            if irq is not None:
                pc = self.machine.take_trap(cpu, irq, pc)
                S[pcslot] = pc
                get = self.cache.table(isa.mode_key(cpu)).get
        cpu.instret = ins
        S[pcslot] = pc
        cpu.progress = 0
        return ins - start
