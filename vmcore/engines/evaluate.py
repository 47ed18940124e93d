"""Tier 0 of the interp engine: run an IR block without compiling it to Python.

Compiling a block's Python source costs about as much as running the block a hundred times
(``compile()`` alone is a few hundred microseconds), and most blocks of a program run only a
few times. So a new block first runs here. :func:`build` turns its ops into a program: one
``(handler, operands)`` step per op, made by a table of factories keyed by op name
(:data:`FACTORIES`), ``operands`` a tuple of value numbers, slots, masks and the like.
Running the block calls ``handler(operands, V, S, C)`` for each op in turn, ``V`` the
block's values (its constants filled in beforehand), ``S`` the hart's state list and ``C``
the cpu; the exit gives the next pc. Two cheap fusions save steps: an op whose result is
``set`` right after it stores it too (:data:`WITH_SET`), and two reads of state in a row
are one step. Building costs about one run; a run costs three to four times a compiled one.
(Pairs of a shared handler and a tuple of ints rather than a closure per op: as fast to
run, cheaper to build, and six times fewer objects for the garbage collector to trace.)

The runnable keeps the protocol of interp's compiled ``blk(S, C)`` functions exactly:

* it returns the next pc;
* state is read and written in ``S`` directly, so a state helper sees it in sync and a
  trap leaves it as the compiled code's write-back would;
* a ``GuestTrap``/``BusError`` leaves with ``insn_index`` = the faulting instruction's index
  in the block; slow loads and stores (``LOAD``/``STORE``) and state helpers get the
  instruction index as ``cpu.progress``;
* loads and stores take the fast path on the main RAM when the block was built for an
  identity MMU, else ``cpu.read_virtual``/``write_virtual``; a fast store to a page holding
  code reports it (``CODEW``) and the block ends before its next instruction (raising
  :class:`EarlyExit`);
* floating point goes through :mod:`vmcore.softfp`, accruing flags into the flags slot.

The engine decides when a block has run often enough to be compiled: after ``limit`` runs
the runnable asks it for the compiled function and forwards to it from then on (see
:class:`~vmcore.engines.interp.InterpEngine`).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

from vmcore import softfp
from vmcore.ir import EXITS, OPS, Access, Block, GuestTrap, Op, load_access
from vmcore.memory import PAGE_SHIFT, BusError

__all__ = ["FACTORIES", "Context", "EarlyExit", "build"]

_UNPACK = {n: struct.Struct(f) for n, f in ((1, "<B"), (2, "<H"), (4, "<I"), (8, "<Q"))}
#: their bound methods, made once (one per load or store op would be one more object each)
_UNPACK_FROM = {n: s.unpack_from for n, s in _UNPACK.items()}
_PACK_INTO = {n: s.pack_into for n, s in _UNPACK.items()}
_TRAPS = (GuestTrap, BusError)
_M64 = (1 << 64) - 1

#: a program step: ``handler(operands, V, S, C)``
Step = tuple[Callable[..., None], tuple]


class EarlyExit(Exception):  # noqa: N818 - control flow between a block and its run loop
    """A block stopped before its end, at the instruction at ``pc`` (its index ``done`` in
    the block: ``done`` instructions retired). Interp's blocks stop so after a store into a
    page holding code, since the rest of the translation may be stale; the run loop counts
    ``done`` and goes on at ``pc`` (regions handle it themselves and report ``C.iters``).
    """

    def __init__(self, pc: int, done: int) -> None:
        super().__init__(pc, done)
        self.pc = pc
        self.done = done


class Context:
    """What one engine's tier-0 code reaches: the fast RAM window and the slow paths (the
    same objects the compiled code reaches through the engine's globals)."""

    __slots__ = ("ram", "rb", "rl", "cp", "codew", "load", "store")

    def __init__(self, runtime: dict[str, Any]) -> None:
        _generate(runtime)
        self.ram = runtime["RAM"]
        self.rb = runtime["RB"]
        self.rl = {n: runtime[f"RL{n}"] for n in (1, 2, 4, 8)}
        self.cp = runtime["CP"]
        self.codew = runtime["CODEW"]
        self.load = runtime["LOAD"]
        self.store = runtime["STORE"]


#: op name -> ``factory(op, k, cx, fast) -> Step``: ``k`` is the index of the op's
#: instruction in its block, ``cx`` the engine's :class:`Context`, ``fast`` whether
#: loads and stores may use the main RAM directly. ``const`` and the exits are the
#: runner's own business.
FACTORIES: dict[str, Callable[[Op, int, Context, bool], Step]] = {}


#: handler -> the same handler also storing its result into a state slot (the ``set`` of
#: the value that follows it), operands extended by the slot; filled as handlers are defined
WITH_SET: dict[Callable, Callable] = {}


def _factory(*names: str) -> Callable:
    def register(fn: Callable) -> Callable:
        for name in names:
            FACTORIES[name] = fn
        return fn

    return register


# -- pure integer ops, generated from one expression each -------------------------------------
#
# Operands are ``a``, ``b``, ``c``; ``m`` is the result's mask, ``w`` its width and ``s`` the
# sign bit of the first operand's width. The expressions are interp's code generator's.

EXPRESSIONS = {
    "add": "(a + b) & m",
    "sub": "(a - b) & m",
    "mul": "(a * b) & m",
    "mulhu": "(a * b) >> w",
    "mulhs": "_mulhs(a, b, w)",
    "mulhsu": "_mulhsu(a, b, w)",
    "udiv": "(a // b) if b else m",
    "sdiv": "_sdiv(a, b, w)",
    "urem": "(a % b) if b else a",
    "srem": "_srem(a, b, w)",
    "and": "a & b",
    "or": "a | b",
    "xor": "a ^ b",
    "shl": "((a << b) & m) if b < w else 0",
    "lshr": "a >> b",
    "ashr": "(((a ^ s) - s) >> b) & m",
    "rotl": "_rotl(a, b, w)",
    "rotr": "_rotl(a, w - b % w, w)",
    "not": "a ^ m",
    "neg": "-a & m",
    "clz": "w - a.bit_length()",
    "ctz": "_ctz(a, w)",
    "popcnt": "a.bit_count()",
    "bswap": "_bswap(a, w)",
    "eq": "a == b",
    "ne": "a != b",
    "ult": "a < b",
    "ule": "a <= b",
    "slt": "(a ^ s) < (b ^ s)",
    "sle": "(a ^ s) <= (b ^ s)",
    "select": "b if a else c",
    "trunc": "a & m",
}


def _generate(runtime: dict[str, Any]) -> None:
    """A handler and a factory per expression (once). ``runtime``: interp's runtime names
    (``_sdiv`` and the other functions the expressions call)."""
    if "add" in FACTORIES:
        return
    src = []
    for name, expr in EXPRESSIONS.items():
        operands = [x for x in "abc" if re.search(rf"\b{x}\b", expr)]
        params = [x for x in "mws" if re.search(rf"\b{x}\b", expr)]
        body = expr
        loads = []
        for x in operands:
            if len(re.findall(rf"\b{x}\b", expr)) == 1:
                body = re.sub(rf"\b{x}\b", f"V[i{x}]", body)
            else:
                loads.append(f"{x} = V[i{x}]")
        fields = ", ".join(["d"] + [f"i{x}" for x in operands] + params)
        for suffix, target, extra in (("", "V[d]", ""), ("_set", "S[slot] = V[d]", ", slot")):
            src.append(
                f"def _op_{name}{suffix}(x, V, S, C):\n"
                f"    {fields}{extra}, = x\n"
                + "".join(f"    {line}\n" for line in loads)
                + f"    {target} = {body}\n"
            )
        setup = []
        if "w" in params or "m" in params:
            setup.append("w = op.dst.width")
        if "m" in params:
            setup.append("m = (1 << w) - 1")
        if "s" in params:
            setup.append("s = 1 << (op.args[0].width - 1)")
        ids = "".join(f", op.args[{n}].id" for n in range(len(operands)))
        src.append(
            f"def _mk_{name}(op, k, cx, fast):\n"
            + "".join(f"    {line}\n" for line in setup)
            + f"    return _op_{name}, (op.dst.id{ids}{''.join(', ' + p for p in params)})\n"
        )
    # only the pure helpers (``_sdiv`` ...): the handlers outlive the engine whose
    # runtime this is, and its RAM and bound methods must not live on with them
    ns = {name: value for name, value in runtime.items() if name.startswith("_")}
    exec(compile("\n".join(src), "<vmcore.engines.evaluate>", "exec"), ns)  # noqa: S102
    for name in EXPRESSIONS:
        FACTORIES[name] = ns[f"_mk_{name}"]
        WITH_SET[ns[f"_op_{name}"]] = ns[f"_op_{name}_set"]
    missing = set(OPS) - set(FACTORIES) - BUILT_IN
    if missing:
        raise NotImplementedError(f"tier 0 cannot run {sorted(missing)}")


def _op_zext1(x, V, S, C):
    d, a = x
    V[d] = 1 if V[a] else 0


def _op_zext1_set(x, V, S, C):
    d, a, slot = x
    S[slot] = V[d] = 1 if V[a] else 0


def _op_copy(x, V, S, C):
    d, a = x
    V[d] = V[a]


def _op_copy_set(x, V, S, C):
    d, a, slot = x
    S[slot] = V[d] = V[a]


@_factory("zext")
def _mk_zext(op: Op, k: int, cx: Context, fast: bool) -> Step:
    return (_op_zext1 if op.args[0].width == 1 else _op_copy), (op.dst.id, op.args[0].id)


def _op_sext1(x, V, S, C):
    d, a, m = x
    V[d] = m if V[a] else 0


def _op_sext(x, V, S, C):
    d, a, s, m = x
    V[d] = ((V[a] ^ s) - s) & m


def _op_sext_set(x, V, S, C):
    d, a, s, m, slot = x
    S[slot] = V[d] = ((V[a] ^ s) - s) & m


@_factory("sext")
def _mk_sext(op: Op, k: int, cx: Context, fast: bool) -> Step:
    m = (1 << op.dst.width) - 1
    src = op.args[0]
    if src.width == 1:
        return _op_sext1, (op.dst.id, src.id, m)
    return _op_sext, (op.dst.id, src.id, 1 << (src.width - 1), m)


# -- state -------------------------------------------------------------------------------------


def _op_get(x, V, S, C):
    d, slot = x
    V[d] = S[slot]


def _op_get_set(x, V, S, C):
    d, slot, to = x
    S[to] = V[d] = S[slot]


def _op_get2(x, V, S, C):
    d, slot, d2, slot2 = x
    V[d] = S[slot]
    V[d2] = S[slot2]


def _op_get_masked(x, V, S, C):
    d, slot, m = x
    V[d] = S[slot] & m


def _op_get_masked_set(x, V, S, C):
    d, slot, m, to = x
    S[to] = V[d] = S[slot] & m


def _op_get128(x, V, S, C):
    d, slot = x
    V[d] = S[slot] | (S[slot + 1] << 64)


@_factory("get")
def _mk_get(op: Op, k: int, cx: Context, fast: bool) -> Step:
    w = op.dst.width
    if w == 64:
        return _op_get, (op.dst.id, op.args[0])
    if w == 128:
        return _op_get128, (op.dst.id, op.args[0])
    return _op_get_masked, (op.dst.id, op.args[0], (1 << w) - 1)


def _op_set(x, V, S, C):
    slot, a = x
    S[slot] = V[a]


def _op_set1(x, V, S, C):
    slot, a = x
    S[slot] = 1 if V[a] else 0


def _op_set128(x, V, S, C):
    slot, a = x
    v = V[a]
    S[slot] = v & _M64
    S[slot + 1] = v >> 64


@_factory("set")
def _mk_set(op: Op, k: int, cx: Context, fast: bool) -> Step:
    slot, v = op.args
    handler = _op_set128 if v.width == 128 else _op_set1 if v.width == 1 else _op_set
    return handler, (slot, v.id)


# -- memory ------------------------------------------------------------------------------------


def _op_load_fast(x, V, S, C):
    d, a, size, am, acc, k, unpack, ram, rb, rl, load = x
    addr = V[a]
    try:
        if addr & am:
            raise C.isa.misaligned(acc, addr)
        o = addr - rb
        if 0 <= o <= rl:
            V[d] = unpack(ram, o)[0]
        else:
            V[d] = load(C, addr, size, k, acc)
    except _TRAPS as e:
        e.insn_index = k
        raise


def _op_load(x, V, S, C):
    d, a, size, am, acc, k, load = x
    addr = V[a]
    try:
        if addr & am:
            raise C.isa.misaligned(acc, addr)
        V[d] = load(C, addr, size, k, acc)
    except _TRAPS as e:
        e.insn_index = k
        raise


@_factory("load")
def _mk_load(op: Op, k: int, cx: Context, fast: bool) -> Step:
    size = op.dst.width // 8
    am = size - 1 if op.attrs.get("aligned") and size > 1 else 0
    head = (op.dst.id, op.args[0].id, size, am, load_access(op), k)
    if fast and size in _UNPACK:
        return _op_load_fast, (*head, _UNPACK_FROM[size], cx.ram, cx.rb, cx.rl[size], cx.load)
    return _op_load, (*head, cx.load)


def _op_store_fast(x, V, S, C):
    a, v, size, am, k, pack, ram, rb, rl, cp, codew, store = x
    addr = V[a]
    try:
        if addr & am:
            raise C.isa.misaligned(Access.STORE, addr)
        o = addr - rb
        if 0 <= o <= rl:
            pack(ram, o, V[v])
            if cp[o >> PAGE_SHIFT] or cp[(o + size - 1) >> PAGE_SHIFT]:
                codew(o, size)
                V[-1] = 1  # a code page changed: leave before the next instruction
        else:
            store(C, addr, size, V[v], k)
    except _TRAPS as e:
        e.insn_index = k
        raise


def _op_store(x, V, S, C):
    a, v, size, am, k, store = x
    addr = V[a]
    try:
        if addr & am:
            raise C.isa.misaligned(Access.STORE, addr)
        store(C, addr, size, V[v], k)
    except _TRAPS as e:
        e.insn_index = k
        raise


@_factory("store")
def _mk_store(op: Op, k: int, cx: Context, fast: bool) -> Step:
    size = op.args[1].width // 8
    am = size - 1 if op.attrs.get("aligned") and size > 1 else 0
    head = (op.args[0].id, op.args[1].id, size, am, k)
    if fast and size in _UNPACK:
        pack = _PACK_INTO[size]
        return _op_store_fast, (*head, pack, cx.ram, cx.rb, cx.rl[size], cx.cp, cx.codew, cx.store)
    return _op_store, (*head, cx.store)


def _op_leave_if_code_changed(x, V, S, C):
    if V[-1]:
        raise EarlyExit(*x)


# -- floating point ----------------------------------------------------------------------------


def fp_function(op: Op) -> str:
    """The :mod:`vmcore.softfp` function an FP op calls (as interp's code generator)."""
    at = op.attrs
    if op.name == "fcvt_ff":
        return f"cvt_{at['fmt']}_{at['to_fmt']}"
    if op.name == "fcvt_fi":
        return f"cvt_{at['fmt']}_{'i' if at['signed'] else 'ui'}{op.dst.width}"
    if op.name == "fcvt_if":
        return f"cvt_{'i' if at['signed'] else 'ui'}{op.args[0].width}_{at['fmt']}"
    return f"{op.name}_{at['fmt']}"


def _op_fp2(x, V, S, C):
    d, fn, a, b, flags = x
    V[d], fl = fn(V[a], V[b])
    if fl and flags is not None:
        S[flags] |= fl


def _op_fp3(x, V, S, C):
    d, fn, a, b, c, flags = x
    V[d], fl = fn(V[a], V[b], V[c])
    if fl and flags is not None:
        S[flags] |= fl


def _op_fp(x, V, S, C):
    d, fn, args, flags = x
    V[d], fl = fn(*[V[i] for i in args])
    if fl and flags is not None:
        S[flags] |= fl


@_factory("fadd", "fsub", "fmul", "fdiv", "fsqrt", "fma", "feq", "flt", "fle")
@_factory("fcvt_ff", "fcvt_fi", "fcvt_if")
def _mk_fp(op: Op, k: int, cx: Context, fast: bool) -> Step:
    fn = getattr(softfp, fp_function(op))
    args = tuple(a.id for a in op.args)
    flags = op.attrs.get("flags")
    if len(args) == 2:
        return _op_fp2, (op.dst.id, fn, *args, flags)
    if len(args) == 3:
        return _op_fp3, (op.dst.id, fn, *args, flags)
    return _op_fp, (op.dst.id, fn, args, flags)


# -- helpers and traps -------------------------------------------------------------------------


def _op_call_state(x, V, S, C):
    d, fn, args, k = x
    C.progress = k
    try:
        r = fn(C, *[V[i] for i in args])
    except _TRAPS as e:
        e.insn_index = k
        raise
    if d is not None:
        V[d] = r


def _op_call(x, V, S, C):
    d, fn, args = x
    r = fn(*[V[i] for i in args])
    if d is not None:
        V[d] = r


def _op_call1(x, V, S, C):
    d, fn, a = x
    V[d] = fn(V[a])


@_factory("call")
def _mk_call(op: Op, k: int, cx: Context, fast: bool) -> Step:
    helper = op.attrs["helper"]
    args = tuple(a.id for a in op.args)
    d = op.dst.id if op.dst is not None else None
    if helper.state:
        return _op_call_state, (d, helper.fn, args, k)
    if d is not None and len(args) == 1:
        return _op_call1, (d, helper.fn, args[0])
    return _op_call, (d, helper.fn, args)


def _op_trap(x, V, S, C):
    cause, tval, k = x
    e = GuestTrap(V[cause], V[tval])
    e.insn_index = k
    raise e


def _op_trap_if(x, V, S, C):
    c, cause, tval, k = x
    if V[c]:
        e = GuestTrap(V[cause], V[tval])
        e.insn_index = k
        raise e


@_factory("trap")
def _mk_trap(op: Op, k: int, cx: Context, fast: bool) -> Step:
    return _op_trap, (op.args[0].id, op.args[1].id, k)


@_factory("trap_if")
def _mk_trap_if(op: Op, k: int, cx: Context, fast: bool) -> Step:
    return _op_trap_if, (op.args[0].id, op.args[1].id, op.args[2].id, k)


#: ops the runner handles itself
BUILT_IN = EXITS | {"const"}

WITH_SET.update(
    {
        _op_zext1: _op_zext1_set,
        _op_copy: _op_copy_set,
        _op_sext: _op_sext_set,
        _op_get: _op_get_set,
        _op_get_masked: _op_get_masked_set,
    }
)


# -- blocks ------------------------------------------------------------------------------------


def build(
    block: Block,
    cx: Context,
    fast: bool,
    limit: int = -1,
    promote: Callable[[Callable, Any], Callable | None] | None = None,
) -> Callable:
    """The tier-0 runnable ``run(S, C) -> next pc`` of ``block`` (see the module docstring).

    ``fast``: loads and stores may use the main RAM directly (the MMU is the identity).
    After ``limit`` runs (never if ``limit`` is negative) the next one calls
    ``promote(run, cpu)``, which returns the compiled function that then runs this call
    and every later one (or None: the block then stays on tier 0).
    """
    nvalues = block.nvalues or 1 + max(
        (op.dst.id for op in block.ops if op.dst is not None), default=0
    )
    values: list = [0] * (nvalues + 1)  # the last one: "a store hit code" flag
    # the program as two lists, handlers and their operands, walked with zip: a pair
    # tuple per step would be one more object per op for the garbage collector
    handlers: list[Callable[..., None]] = []
    operands: list[tuple] = []
    starts = {ins.index: n for n, ins in enumerate(block.insns)}
    insns = block.insns
    k = 0
    stored = False
    consts: set[int] = set()
    exit_op = None
    ops = block.ops
    last = len(ops) - 1
    fused = -1  # index of a set op already done by the op before it
    for i, op in enumerate(ops):
        if i in starts:
            k = starts[i]
            if stored:
                handlers.append(_op_leave_if_code_changed)
                operands.append((insns[k].pc, k))
                stored = False
        name = op.name
        if name == "const":
            values[op.dst.id] = op.args[0]
            consts.add(op.dst.id)
        elif name in EXITS:
            exit_op = op
        elif i != fused:
            handler, x = FACTORIES[name](op, k, cx, fast)
            nxt = ops[i + 1] if i < last else None
            if (
                nxt is not None
                and nxt.name == "set"
                and handler in WITH_SET
                and nxt.args[1].id == op.dst.id
                and 1 < op.dst.width <= 64
                and i + 1 not in starts
            ):
                # "t = op ...; set slot, t" in one step
                handler, x = WITH_SET[handler], (*x, nxt.args[0])
                fused = i + 1
            elif handler is _op_get and handlers and handlers[-1] is _op_get:
                # two reads of state in one step
                handlers[-1] = _op_get2
                operands[-1] = (*operands[-1], *x)
                continue
            handlers.append(handler)
            operands.append(x)
            if name == "store" and fast:
                stored = True
    if exit_op is None:
        raise ValueError(f"block at {block.pc:#x} does not end with an exit")
    if limit < 0 or promote is None:
        limit = 1 << 62
    ids = [a.id for a in exit_op.args]
    if exit_op.name == "branch":
        exit_ = (*ids, -1)
    elif ids[0] in consts:
        exit_ = (-1, -1, -1, values[ids[0]])
    else:
        exit_ = (-1, ids[0], ids[0], -1)
    return _runner(values, handlers, operands, limit, promote, exit_)


def _runner(values, handlers, operands, limit, promote, exit_):
    """The block's runnable: its steps, then the exit: ``exit_`` is (condition, taken,
    not taken, constant target), value numbers or -1 for none. After ``limit`` runs it
    compiles itself (``promote``) and from then on forwards to the compiled block.
    (What does not change is bound as defaults: one tuple, where cells were one object
    per name for every block.)"""
    state: list = [0, None, None]  # runs so far, the compiled block, this runnable

    def run(
        S,
        C,
        state=state,
        values=values,
        handlers=handlers,
        operands=operands,
        exit_=exit_,
        limit=limit,
        promote=promote,
    ):
        hot = state[1]
        if hot is not None:
            return hot(S, C)
        n = state[0] = state[0] + 1
        if n > limit:
            hot = state[1] = promote(state[2], C)
            if hot is not None:
                return hot(S, C)
            state[0] = -(1 << 62)  # the code changed under it: stays on tier 0 until dropped
        V = values[:]
        for f, x in zip(handlers, operands, strict=True):
            f(x, V, S, C)
        c, t, nt, target = exit_
        if target >= 0:
            return target
        return V[t] if c < 0 or V[c] else V[nt]

    state[2] = run
    return run
