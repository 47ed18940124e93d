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
        self.expr: dict[int, str] = {}  # value id -> python expression (consts)
        self.slots: set[int] = set()

    def name(self, v: Value) -> str:
        return self.expr.get(v.id) or f"t{v.id}"

    def obj(self, prefix: str, value: Any) -> str:
        for k, v in self.consts.items():
            if v is value and k.startswith(prefix):
                return k
        key = f"{prefix}{len(self.consts)}"
        self.consts[key] = value
        return key

    def emit(self, line: str) -> None:
        self.lines.append("        " + line)

    def generate(self) -> str:
        block = self.block
        for op in block.ops:
            if op.name in ("get", "set"):
                width = op.dst.width if op.name == "get" else op.args[1].width
                for i in range((width + 63) // 64):
                    self.slots.add(op.args[0] + i)
        starts = {ins.index: n for n, ins in enumerate(block.insns)}
        for i, op in enumerate(block.ops):
            if i in starts:
                self.emit(f"k = {starts[i]}")
            getattr(self, "op_" + op.name)(op)
        slots = sorted(self.slots)
        load = "; ".join(f"r{s} = S[{s}]" for s in slots) or "pass"
        store = "; ".join(f"S[{s}] = r{s}" for s in slots) or "pass"
        self.store_all = store
        body = "\n".join(self.lines).replace("@WB@", store)
        return (
            "def blk(S, C):\n"
            f"    {load}\n"
            "    k = 0\n"
            "    try:\n"
            f"{body}\n"
            "    except (GuestTrap, BusError) as e:\n"
            f"        {store}\n"
            "        e.insn_index = k\n"
            "        raise\n"
        )

    # -- helpers --------------------------------------------------------------------------

    def define(self, op: Op, expr: str) -> None:
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
            self.define(op, f"r{s}")
        else:
            self.define(op, f"r{s} & {mask(w):#x}")

    def op_set(self, op: Op) -> None:
        s, v = op.args
        if v.width == 128:
            self.emit(f"r{s} = {self.name(v)} & {mask(64):#x}; r{s + 1} = {self.name(v)} >> 64")
        elif v.width == 1:
            self.emit(f"r{s} = 1 if {self.name(v)} else 0")
        else:
            self.emit(f"r{s} = {self.name(v)}")

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
        self.emit("@WB@")
        self.emit(f"return {self.a(op, 0)}")

    op_goto_ind = op_goto

    def op_branch(self, op):
        self.emit("@WB@")
        self.emit(f"return {self.a(op, 1)} if {self.a(op, 0)} else {self.a(op, 2)}")


def lower_block(block: Block, fast_ram: bool, consts: dict[str, Any]) -> str:
    """Python source for ``block`` (exposed for tests and ``--jit-dump``-style debugging)."""
    gen = _Codegen(block, fast_ram, consts)
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

    def compile(self, cpu: Cpu, block: Block) -> Callable:
        fast = self.ram is not None and cpu.mmu.is_identity()
        src = lower_block(block, fast, self.globals)
        code = compile(src, f"<block {block.pc:#x}>", "exec")
        ns: dict[str, Any] = {}
        exec(code, self.globals, ns)
        self.translations += 1
        fn = ns["blk"]
        fn.source = src
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
        done = 0  # retired since the last flush into cpu.instret
        while True:
            ent = get(pc)
            try:
                if ent is None:
                    ent = self.translate(cpu, pc)
                fn, n, sync, _ = ent
                if not (sync or done + n > budget - (cpu.instret - start) or cpu.stop):
                    pc = fn(S, cpu)
                    done += n
                    continue
                cpu.instret += done
                done = 0
                left = budget - (cpu.instret - start)
                if cpu.stop or left <= 0:
                    break
                if n > left:
                    ent = self.translate(cpu, pc, max_insns=left)
                    fn, n, sync, _ = ent
                pc = fn(S, cpu)
                cpu.instret += n
            except (GuestTrap, BusError) as exc:
                cpu.instret += done
                done = 0
                trap = cpu.isa.bus_fault(exc) if isinstance(exc, BusError) else exc
                k = getattr(exc, "insn_index", 0)
                if ent is not None:
                    pc = ent[3][k]
                    cpu.instret += k
                S[pcslot] = pc
                pc = self.machine.take_trap(cpu, trap, pc)
                budget -= 1  # a trap loop retires nothing but must still end the slice
            cpu.progress = 0
            S[pcslot] = pc
            get = self.cache.table(isa.mode_key(cpu)).get
            if cpu.stop or cpu.waiting:
                break
            irq = isa.pending_interrupt(cpu)
            if irq is not None:
                pc = self.machine.take_trap(cpu, irq, pc)
                S[pcslot] = pc
                get = self.cache.table(isa.mode_key(cpu)).get
        cpu.instret += done
        S[pcslot] = pc
        cpu.progress = 0
        return cpu.instret - start
