"""RV64A: load-reserved/store-conditional and atomic memory operations.

A single hart executes one instruction at a time, so an AMO is a plain read-modify-write.
Its faults are store/AMO faults (cause 6, 7, 15) even for the read, which is why the read
is an IR load marked ``rmw`` (translated for writing, faulting as a store, a misaligned
address included; engines keep it on their fast path, where glibc's malloc and locks do
one per call). SC reads the same way and writes back what it read when the reservation
does not hold (see _sc).
"""

from vmcore_isa_riscv import registers as R

WIDTH = 32

ENCODINGS = """
lr.w       00010 aq:1 rl:1 00000 rs1:5 010 rd:5 0101111
sc.w       00011 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amoswap.w  00001 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amoadd.w   00000 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amoxor.w   00100 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amoand.w   01100 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amoor.w    01000 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amomin.w   10000 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amomax.w   10100 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amominu.w  11000 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
amomaxu.w  11100 aq:1 rl:1 rs2:5 rs1:5 010 rd:5 0101111
lr.d       00010 aq:1 rl:1 00000 rs1:5 011 rd:5 0101111
sc.d       00011 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amoswap.d  00001 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amoadd.d   00000 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amoxor.d   00100 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amoand.d   01100 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amoor.d    01000 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amomin.d   10000 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amomax.d   10100 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amominu.d  11000 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
amomaxu.d  11100 aq:1 rl:1 rs2:5 rs1:5 011 rd:5 0101111
"""


def _lr(width):
    def lift(c, rd, rs1, aq, rl):
        addr = c.x(rs1)
        value = c.b.load(width, addr, aligned=True)
        c.b.set(R.RESERVATION, addr)
        c.set_x(rd, c.b.sext(value, 64))

    return lift


def _sc(width):
    def lift(c, rd, rs1, rs2, aq, rl):
        b = c.b
        addr = c.x(rs1)
        # No SC retires without passing a store's permission checks, failed or not (the
        # spec): the read of a read-modify-write checks them, and a failed SC writes back
        # what it read, so the IR stays straight-line and the engines keep it native (a
        # Python helper cost glibc's locks a callback per SC: 687,000 in Lua's tests)
        old = b.load(width, addr, aligned=True, rmw=True)
        held = b.eq(b.get(R.RESERVATION), addr)
        b.store(addr, b.select(held, b.trunc(c.x(rs2), width), old))
        b.set(R.RESERVATION, b.const(R.RESERVATION_NONE, 64))
        c.set_x(rd, b.select(held, b.const(0, 64), b.const(1, 64)))

    return lift


def _amo(op, width):
    def lift(c, rd, rs1, rs2, aq, rl):
        b = c.b
        addr = c.x(rs1)
        old = b.load(width, addr, aligned=True, rmw=True)
        src = b.trunc(c.x(rs2), width)
        b.store(addr, op(b, old, src))
        c.set_x(rd, b.sext(old, 64))

    return lift


_OPS = {
    "swap": lambda b, old, src: src,
    "add": lambda b, old, src: b.add(old, src),
    "xor": lambda b, old, src: b.xor(old, src),
    "and": lambda b, old, src: b.and_(old, src),
    "or": lambda b, old, src: b.or_(old, src),
    "min": lambda b, old, src: b.select(b.slt(old, src), old, src),
    "max": lambda b, old, src: b.select(b.slt(old, src), src, old),
    "minu": lambda b, old, src: b.select(b.ult(old, src), old, src),
    "maxu": lambda b, old, src: b.select(b.ult(old, src), src, old),
}

lift_lr_w = _lr(32)
lift_lr_d = _lr(64)
lift_sc_w = _sc(32)
lift_sc_d = _sc(64)
lift_amoswap_w = _amo(_OPS["swap"], 32)
lift_amoadd_w = _amo(_OPS["add"], 32)
lift_amoxor_w = _amo(_OPS["xor"], 32)
lift_amoand_w = _amo(_OPS["and"], 32)
lift_amoor_w = _amo(_OPS["or"], 32)
lift_amomin_w = _amo(_OPS["min"], 32)
lift_amomax_w = _amo(_OPS["max"], 32)
lift_amominu_w = _amo(_OPS["minu"], 32)
lift_amomaxu_w = _amo(_OPS["maxu"], 32)
lift_amoswap_d = _amo(_OPS["swap"], 64)
lift_amoadd_d = _amo(_OPS["add"], 64)
lift_amoxor_d = _amo(_OPS["xor"], 64)
lift_amoand_d = _amo(_OPS["and"], 64)
lift_amoor_d = _amo(_OPS["or"], 64)
lift_amomin_d = _amo(_OPS["min"], 64)
lift_amomax_d = _amo(_OPS["max"], 64)
lift_amominu_d = _amo(_OPS["minu"], 64)
lift_amomaxu_d = _amo(_OPS["maxu"], 64)
