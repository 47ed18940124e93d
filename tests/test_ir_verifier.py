"""vmcore.ir.verify and the Builder's own checks: bad blocks are rejected, with messages."""

from __future__ import annotations

import pytest

from vmcore.ir import OPS, Block, Builder, Helper, IRError, Op, Value, format_block, verify


def _block(*ops: Op, pc: int = 0x1000) -> Block:
    return Block(pc=pc, mode=0, ops=list(ops))


def v(i: int, w: int = 64) -> Value:
    return Value(i, w)


def const(i: int, value: int = 0, w: int = 64) -> Op:
    return Op("const", v(i, w), (value,))


def goto(i: int) -> Op:
    return Op("goto", None, (v(i),))


def test_builder_blocks_verify():
    """A block using every op, built through the Builder, is accepted."""
    b = Builder(0x1000)
    b.insn(0x1000, 4, 0)
    x, y = b.get(1), b.get(2, 64)
    for name in ("add", "sub", "mul", "mulhu", "mulhs", "mulhsu", "udiv", "sdiv", "urem"):
        b.set(3, getattr(b, name)(x, y))
    for name in ("srem", "and_", "or_", "xor", "shl", "lshr", "ashr", "rotl", "rotr"):
        b.set(3, getattr(b, name)(x, 7))
    for name in ("not_", "neg", "clz", "ctz", "popcnt", "bswap"):
        b.set(3, getattr(b, name)(x))
    for name in ("eq", "ne", "ult", "ule", "slt", "sle", "ugt", "uge", "sgt", "sge"):
        b.set(4, getattr(b, name)(x, y))
    c = b.eq(x, 0)
    b.set(5, b.select(c, x, y))
    b.set(6, b.zext(b.trunc(x, 8), 64))
    b.set(6, b.sext(b.trunc(x, 16), 128), 128)
    b.store(x, b.load(32, y))
    f = b.get(8, 32)
    r = b.fadd("f32", f, f, 0, flags=9)
    r = b.fsub("f32", r, f, 1)
    r = b.fmul("f32", r, f, 2)
    r = b.fdiv("f32", r, f, b.get(10, 8))
    r = b.fsqrt("f32", r, 0)
    r = b.fma("f32", r, f, f, 0)
    b.set(7, b.zext(b.feq("f32", r, f), 64))
    b.set(7, b.zext(b.flt("f32", r, f), 64))
    b.set(7, b.zext(b.fle("f32", r, f), 64))
    d = b.fcvt_ff("f32", "f64", r, 0)
    b.set(7, b.fcvt_fi("f64", d, 64, True, 1))
    b.set(7, b.zext(b.fcvt_fi("f64", d, 32, False, 1), 64))
    b.set(7, b.fcvt_if("f64", x, True, 0))
    b.set(7, b.call(Helper(lambda a: a, width=64), x))
    b.call(Helper(lambda cpu: None, state=True))
    b.trap_if(c, 2, x)
    b.branch(c, 0x2000, 0x1004)
    block = b.finish()
    used = {op.name for op in block.ops}
    assert used | {"trap", "goto", "goto_ind"} == set(OPS)
    assert "fcvt_if" in format_block(block)


def test_every_exit_kind_verifies():
    for emit in (lambda b: b.goto(0x10), lambda b: b.goto(b.get(1)), lambda b: b.trap(3, 4)):
        b = Builder(0)
        b.insn(0, 4, 0)
        emit(b)
        verify(b.finish())


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ((), "does not end with an exit"),
        ((const(0, 5),), "does not end with an exit"),
        ((const(0), Op("frobnicate", None, ()), goto(0)), "op 1: unknown op 'frobnicate'"),
        ((const(0), goto(0), goto(0)), "op 1: exit goto before the end"),
        ((Op("add", v(1), (v(0), v(0))), const(0), goto(0)), "operand t0 used before definition"),
        ((const(0), const(0), goto(0)), "t0 defined twice"),
        (
            (const(0), const(1, 0, 32), Op("add", v(2), (v(0), v(1, 32))), goto(0)),
            "op 2 (add): operand widths differ",
        ),
        (
            (const(0), Op("add", v(1, 32), (v(0), v(0))), goto(0)),
            "op 1 (add): result width differs",
        ),
        ((const(0), Op("add", v(1), (v(0),)), goto(0)), "op 1 (add): 1 operands, expected 2"),
        ((const(0), Op("add", v(1), (v(0), 5)), goto(0)), "operand 1 must be a value"),
        ((const(0), Op("get", v(1), (v(0),)), goto(0)), "operand 0 must be an int"),
        ((const(0), Op("add", None, (v(0), v(0))), goto(0)), "op 1 (add): missing result"),
        ((const(0), Op("set", v(1), (3, v(0))), goto(0)), "has a result but produces none"),
        (
            (const(0), const(1, 0, 32), Op("ult", v(2, 1), (v(0), v(1, 32))), goto(0)),
            "op 2 (ult): operand widths differ",
        ),
        ((const(0), Op("eq", v(1), (v(0), v(0))), goto(0)), "op 1 (eq): result must be 1 bit"),
        ((const(0, 0x1FF, 8), const(1), goto(1)), "op 0 (const): 0x1ff does not fit 8 bits"),
        ((const(0, -1), goto(0)), "op 0 (const): -0x1 does not fit 64 bits"),
        ((Op("get", v(0), (-1,)), goto(0)), "op 0 (get): negative slot -1"),
        (
            (const(0), const(1, 0, 32), Op("add", v(2), (v(0), v(1))), goto(0)),
            "op 2 (add): operand t1 used as 64 bits, defined as 32",
        ),
        (
            (const(0), Op("select", v(1), (v(0), v(0), v(0))), goto(0)),
            "select condition must be 1 bit",
        ),
        (
            (
                const(0, 0, 1),
                const(1),
                const(2, 0, 32),
                Op("select", v(3), (v(0, 1), v(1), v(2, 32))),
                goto(1),
            ),
            "op 3 (select): operand and result widths differ",
        ),
        ((const(0), Op("zext", v(1, 32), (v(0),)), goto(0)), "op 1: zext to a narrower width"),
        ((const(0), Op("sext", v(1, 8), (v(0),)), goto(0)), "op 1: sext to a narrower width"),
        ((const(0, 0, 8), Op("trunc", v(1), (v(0, 8),)), goto(1)), "op 1: trunc to a wider width"),
        ((const(0), Op("call", v(1), (v(0),), {}), goto(0)), "op 1: call without a Helper"),
        (
            (const(0), Op("trap_if", None, (v(0), v(0), v(0))), goto(0)),
            "op 1 (trap_if): condition must be 1 bit",
        ),
        (
            (const(0), Op("branch", None, (v(0), v(0), v(0)))),
            "op 1 (branch): condition must be 1 bit",
        ),
        (
            (const(0, 0, 32), Op("load", v(1), (v(0, 32),)), const(2), goto(2)),
            "op 1 (load): address must be 64 bits",
        ),
        ((const(0), Op("load", v(1, 1), (v(0),)), goto(0)), "op 1 (load): cannot access 1 bits"),
        (
            (const(0, 0, 1), Op("bswap", v(1, 1), (v(0, 1),)), const(2), goto(2)),
            "width 1 is not whole bytes",
        ),
        (
            (
                const(0),
                const(1, 0, 8),
                Op("fadd", v(2), (v(0), v(0), v(1, 8)), {"fmt": "f32"}),
                goto(0),
            ),
            "op 2 (fadd): operand width 64 is not f32",
        ),
        (
            (
                const(0),
                const(1, 0, 8),
                Op("fadd", v(2), (v(0), v(0), v(1, 8)), {"fmt": "f65"}),
                goto(0),
            ),
            "unknown format 'f65'",
        ),
        (
            (const(0), Op("feq", v(1), (v(0), v(0)), {"fmt": "f64"}), goto(0)),
            "op 1 (feq): result must be 1 bit",
        ),
        (
            (
                const(0),
                const(1, 0, 8),
                Op("fcvt_fi", v(2, 16), (v(0), v(1, 8)), {"fmt": "f64", "signed": True}),
                goto(0),
            ),
            "integer result must be 32 or 64 bits",
        ),
        (
            (
                const(0, 0, 16),
                const(1, 0, 8),
                Op("fcvt_if", v(2, 64), (v(0, 16), v(1, 8)), {"fmt": "f64", "signed": True}),
                const(3),
                goto(3),
            ),
            "integer operand must be 32 or 64 bits",
        ),
        (
            (
                const(0),
                const(1, 0, 8),
                Op("fcvt_ff", v(2, 64), (v(0), v(1, 8)), {"fmt": "f64", "to_fmt": "f32"}),
                goto(0),
            ),
            "bad target format 'f32'",
        ),
    ],
)
def test_bad_blocks_are_rejected(ops, message):
    with pytest.raises(IRError) as info:
        verify(_block(*ops))
    assert message in str(info.value)


def test_message_names_the_block_pc():
    with pytest.raises(IRError, match="block at 0x8000 does not end with an exit"):
        verify(_block(const(0), pc=0x8000))


def test_builder_rejects_mixed_widths_and_bad_widths():
    b = Builder(0)
    b.insn(0, 4, 0)
    with pytest.raises(IRError, match="width mismatch: 64 vs 32"):
        b.add(b.get(1), b.get(2, 32))
    with pytest.raises(IRError, match="unsupported width 7"):
        b.get(1, 7)
    with pytest.raises(IRError, match="select condition must be 1 bit"):
        b.select(b.get(1), 1, 2)


def test_builder_rejects_ops_after_the_exit():
    b = Builder(0)
    b.insn(0, 4, 0)
    b.goto(4)
    with pytest.raises(IRError, match="op get after the block's exit"):
        b.get(1)
    b = Builder(0)
    b.insn(0, 4, 0)
    b.trap(2)
    with pytest.raises(IRError, match="after the block's exit"):
        b.set(1, 0)


def test_builder_finish_without_exit_fails():
    b = Builder(0x40)
    b.insn(0x40, 4, 0)
    b.set(1, 2)
    with pytest.raises(IRError, match="0x40 does not end with an exit"):
        b.finish()


def test_builder_constants_take_the_other_operands_width():
    b = Builder(0)
    x = b.get(1, 16)
    r = b.add(x, -1)
    assert r.width == 16
    const_op = b.block.ops[-2]
    assert const_op.name == "const" and const_op.args == (0xFFFF,) and const_op.dst.width == 16
    assert b.add(3, x).width == 16
    assert b.add(3, 4).width == 64


def test_builder_width_changes_to_the_same_width_are_free():
    b = Builder(0)
    x = b.get(1, 32)
    n = len(b.block.ops)
    assert b.zext(x, 32) is x and b.sext(x, 32) is x and b.trunc(x, 32) is x
    assert len(b.block.ops) == n


def test_ends_block_helper_marks_block_sync():
    b = Builder(0)
    b.insn(0, 4, 0)
    b.call(Helper(lambda cpu: None, state=True))
    assert not b.block.sync
    b.call(Helper(lambda cpu: None, state=True, ends_block=True))
    assert b.block.sync
    b.goto(4)
    assert b.finish().sync
