"""The reference engine: each IR block becomes one Python function, compiled once.

Why Python source per block: it runs 12-16 guest MIPS against 3-5 for interpreting IR op by
op (DESIGN.md). Registers a block touches are cached in local variables, loaded once on entry
and written back at the exit (and on a trap, which keeps traps precise: locals then hold the
state as of the faulting instruction). RAM is reached with ``struct`` on the main RAM's mmap
while the MMU is the identity; everything else takes the bus's slow path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vmcore import softfp
from vmcore.engines.base import Engine
from vmcore.ir import Access, Block, GuestTrap, Op, Value, mask
from vmcore.memory import PAGE_SHIFT, BusError

if TYPE_CHECKING:
    from vmcore.cpu import Cpu

#: entry kind of blocks that loop onto themselves: run with a limit, report iterations
LOOP = "loop"

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
    "FP": softfp,
}


class _Codegen:
    """Lowers one :class:`Block` to the source of ``def blk(S, C)`` returning the next pc."""

    def __init__(self, block: Block, fast_ram: bool, consts: dict[str, Any]) -> None:
        self.block = block
        self.fast_ram = fast_ram
        self.consts = consts  # name -> object, shared with the function's globals
        self.lines: list[str] = []
        self.expr: dict[int, str] = {}  # value id -> python literal (consts)
        #: value id -> (expression, slots it reads): not yet materialised in a local
        self.pending: dict[int, tuple[str, frozenset[int]]] = {}
        self.uses: dict[int, int] = {}
        self.last_use: dict[int, int] = {}
        self.i = 0  # index of the op being lowered
        self.slots: set[int] = set()
        self.written: set[int] = set()
        exit_ = block.exit
        self.loop = (
            exit_ is not None
            and exit_.name in ("goto", "branch")
            and any(self.const_of(a) == block.pc for a in exit_.args[-2:])
            and not any(op.name == "call" and op.attrs["helper"].state for op in block.ops)
            and not block.sync
        )
        self.indent = " " * (12 if self.loop else 8)

    def const_of(self, v: Value) -> int | None:
        for op in self.block.ops:
            if op.dst is not None and op.dst.id == v.id:
                return op.args[0] if op.name == "const" else None
        return None

    def name(self, v: Value) -> str:
        if v.id in self.expr:
            return self.expr[v.id]
        entry = self.pending.get(v.id)
        if entry is not None:
            if self.uses.get(v.id, 0) == 1:
                del self.pending[v.id]
            return entry[0]
        return f"t{v.id}"

    def deps(self, v: Value) -> frozenset[int]:
        entry = self.pending.get(v.id)
        return entry[1] if entry else frozenset()

    def materialize(self, slot: int | None = None) -> None:
        """Give pending expressions reading ``slot`` (or all) a local before it changes."""
        for vid, (expr, deps) in list(self.pending.items()):
            if slot is None or slot in deps:
                if self.last_use.get(vid, -1) > self.i:
                    self.emit(f"t{vid} = {expr}")
                del self.pending[vid]

    def obj(self, prefix: str, value: Any) -> str:
        for k, v in self.consts.items():
            if v is value and k.startswith(prefix):
                return k
        key = f"{prefix}{len(self.consts)}"
        self.consts[key] = value
        return key

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    def generate(self) -> str:
        block = self.block
        for i, op in enumerate(block.ops):
            for a in op.args:
                if isinstance(a, Value):
                    self.uses[a.id] = self.uses.get(a.id, 0) + 1
                    self.last_use[a.id] = i
            if op.name in ("get", "set"):
                width = op.dst.width if op.name == "get" else op.args[1].width
                for j in range((width + 63) // 64):
                    self.slots.add(op.args[0] + j)
                    if op.name == "set":
                        self.written.add(op.args[0] + j)
        may_trap = {
            ins.index
            for n, ins in enumerate(block.insns)
            if any(
                o.name in _TRAPPING or (o.name == "call" and o.attrs["helper"].state)
                for o in block.ops[
                    ins.index : (block.insns[n + 1].index if n + 1 < len(block.insns) else None)
                ]
            )
        }
        starts = {ins.index: n for n, ins in enumerate(block.insns)}
        for i, op in enumerate(block.ops):
            if i in may_trap:
                self.emit(f"k = {starts[i]}")
            self.i = i
            getattr(self, "op_" + op.name)(op)
        slots = sorted(self.slots)
        load = "; ".join(f"r{s} = S[{s}]" for s in slots) or "pass"
        store = "; ".join(f"S[{s}] = r{s}" for s in sorted(self.written)) or "pass"
        body = "\n".join(self.lines).replace("@WB@", store)
        if self.loop:
            head = "    k = it = 0\n    lim = C.loop_limit\n    try:\n        while True:\n"
            tail = "        e.iters = it\n"
        else:
            head, tail = "    k = 0\n    try:\n", ""
        return (
            "def blk(S, C):\n"
            f"    {load}\n"
            f"{head}"
            f"{body}\n"
            "    except (GuestTrap, BusError) as e:\n"
            f"        {store}\n"
            "        e.insn_index = k\n"
            f"{tail}"
            "        raise\n"
        )

    # -- helpers --------------------------------------------------------------------------

    def define(self, op: Op, expr: str) -> None:
        """Bind a pure op's result: inline it at its single use, else a local."""
        if self.uses.get(op.dst.id, 0) == 1:
            deps = frozenset().union(*(self.deps(a) for a in op.args if isinstance(a, Value)))
            self.pending[op.dst.id] = (f"({expr})", deps)
        else:
            self.emit(f"t{op.dst.id} = {expr}")

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
        self.pending.pop(v.id, None)
        self.materialize(s)
        if v.width == 128:
            self.materialize(s + 1)
            self.emit(f"t{v.id} = {value}")
            self.emit(f"r{s} = t{v.id} & {mask(64):#x}; r{s + 1} = t{v.id} >> 64")
        elif v.width == 1:
            self.emit(f"r{s} = 1 if {value} else 0")
        else:
            self.emit(f"r{s} = {value}")

    def _bin(self, op: Op, fmt: str) -> None:
        w = op.dst.width
        self.define(op, fmt.format(a=self.a(op, 0), b=self.a(op, 1), m=hex(mask(w)), w=w))

    def op_add(self, op):
        self._bin(op, "({a} + {b}) & {m}")

    def op_sub(self, op):
        self._bin(op, "({a} - {b}) & {m}")

    def op_mul(self, op):
        self._bin(op, "({a} * {b}) & {m}")

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
        self.define(op, f"{self.a(op, 0)} & {mask(op.dst.width):#x}")

    # -- memory -------------------------------------------------------------------------------

    def _align_check(self, op: Op, addr: str, size: int, access: Access) -> None:
        if op.attrs.get("aligned") and size > 1:
            self.emit(f"if {addr} & {size - 1}: raise C.isa.misaligned(ACC{access.value}, {addr})")

    def op_load(self, op):
        size = op.dst.width // 8
        addr = self.a(op, 0)
        self._align_check(op, addr, size, Access.LOAD)
        dst = f"t{op.dst.id}"
        if self.fast_ram and size in _UNPACK:
            unpack = self.obj("U", _UNPACK[size].unpack_from)
            self.emit(f"x = {addr} - RB")
            self.emit(f"if 0 <= x <= RL{size}: {dst} = {unpack}(RAM, x)[0]")
            self.emit(f"else: {dst} = LOAD(C, {addr}, {size})")
        else:
            self.emit(f"{dst} = LOAD(C, {addr}, {size})")

    def op_store(self, op):
        addr, val = self.a(op, 0), self.a(op, 1)
        size = op.args[1].width // 8
        self._align_check(op, addr, size, Access.STORE)
        if self.fast_ram and size in _UNPACK:
            pack = self.obj("P", _UNPACK[size].pack_into)
            self.emit(f"x = {addr} - RB")
            self.emit(f"if 0 <= x <= RL{size}:")
            self.emit(f"    {pack}(RAM, x, {val})")
            self.emit(f"    if CP[x >> {PAGE_SHIFT}]: CODEW(x)")
            self.emit(f"else: STORE(C, {addr}, {size}, {val})")
        else:
            self.emit(f"STORE(C, {addr}, {size}, {val})")

    # -- floating point ------------------------------------------------------------------------

    def _fp(self, op: Op, fn: str, args: list[str]) -> None:
        flags = op.attrs.get("flags")
        dst = f"t{op.dst.id}"
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
        dst = f"t{op.dst.id} = " if op.dst is not None else ""
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

    def op_goto(self, op):
        if self.loop:
            self._back_edge()
            return
        self.emit("@WB@")
        self.emit(f"return {self.a(op, 0)}")

    def op_goto_ind(self, op):
        self.emit("@WB@")
        self.emit(f"return {self.a(op, 0)}")

    def op_branch(self, op):
        cond, taken, other = self.a(op, 0), self.a(op, 1), self.a(op, 2)
        if not self.loop:
            self.emit("@WB@")
            self.emit(f"return {taken} if {cond} else {other}")
            return
        if self.const_of(op.args[1]) != self.block.pc:
            cond, other = f"not {cond}", taken
        self.emit(f"if {cond}:")
        self.indent += "    "
        self._back_edge()
        self.indent = self.indent[:-4]
        self.emit("@WB@")
        self.emit("C.iters = it + 1")
        self.emit(f"return {other}")

    def _back_edge(self) -> None:
        """Loop back to the block's start while the budget allows (see InterpEngine.run)."""
        self.emit("it += 1")
        self.emit("if it < lim: continue")
        self.emit("@WB@")
        self.emit("C.iters = it")
        self.emit(f"return {self.block.pc:#x}")


def lower_block(block: Block, fast_ram: bool, consts: dict[str, Any]) -> str:
    """Python source for ``block`` (exposed for tests and ``--jit-dump``-style debugging)."""
    return _finish(_Codegen(block, fast_ram, consts))


def _finish(gen: _Codegen) -> str:
    src = gen.generate()
    slots = sorted(gen.slots)
    reload = "; ".join(f"r{s} = S[{s}]" for s in slots) or "pass"
    return src.replace("@RL@", reload)


class InterpEngine(Engine):
    """Runs IR blocks as compiled Python functions; the reference for every other engine."""

    name = "interp"

    def __init__(self, machine) -> None:
        super().__init__(machine)
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
        self.translations = 0

    # -- memory slow paths ------------------------------------------------------------------

    @staticmethod
    def _slow_load(cpu: Cpu, vaddr: int, size: int) -> int:
        paddr = cpu.mmu.translate(vaddr, Access.LOAD)
        return cpu.bus.read(paddr, size, Access.LOAD)

    @staticmethod
    def _slow_store(cpu: Cpu, vaddr: int, size: int, value: int) -> None:
        paddr = cpu.mmu.translate(vaddr, Access.STORE)
        cpu.bus.write(paddr, size, value)

    def _code_write_fast(self, offset: int) -> None:
        self.machine.bus.note_write(self.ram, offset, 1)

    # -- translation ---------------------------------------------------------------------------

    def entry_kind(self, block: Block, runnable: Any) -> Any:
        return LOOP if runnable.loop else super().entry_kind(block, runnable)

    def compile(self, cpu: Cpu, block: Block) -> Callable:
        fast = self.ram is not None and cpu.mmu.is_identity()
        gen = _Codegen(block, fast, self.globals)
        src = _finish(gen)
        code = compile(src, f"<block {block.pc:#x}>", "exec")
        ns: dict[str, Any] = {}
        exec(code, self.globals, ns)
        self.translations += 1
        fn = ns["blk"]
        fn.source = src
        fn.loop = gen.loop
        return fn

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
        start = cpu.instret
        get = self.cache.table(isa.mode_key(cpu)).get
        left = budget
        traps = 0
        ent = None
        while not cpu.stop:
            ent = get(pc)
            try:
                if ent is None:
                    ent = self.translate(cpu, pc)
                fn, n, slow, _ = ent
                if not slow and n <= left:
                    pc = fn(S, cpu)
                    left -= n
                    continue
                cpu.instret = start + budget - left
                if left <= 0:
                    break
                if n > left:
                    ent = self.translate(cpu, pc, max_insns=left)
                    fn, n, slow, _ = ent
                if slow is LOOP:
                    cpu.loop_limit = left // n
                    pc = fn(S, cpu)
                    left -= n * cpu.iters
                else:
                    pc = fn(S, cpu)
                    left -= n
                cpu.instret = start + budget - left
            except (GuestTrap, BusError) as exc:
                trap = isa.bus_fault(exc) if isinstance(exc, BusError) else exc
                if ent is not None:
                    k = getattr(exc, "insn_index", 0)
                    pc = ent[3][k]
                    left -= k + ent[1] * getattr(exc, "iters", 0)
                cpu.instret = start + budget - left
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
        cpu.instret = start + budget - left
        S[pcslot] = pc
        cpu.progress = 0
        return budget - left
