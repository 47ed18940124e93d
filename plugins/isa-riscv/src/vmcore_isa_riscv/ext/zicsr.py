"""Zicsr: atomic CSR read-modify-write instructions."""

from vmcore import Helper
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.csr import CSRS, csr_access

WIDTH = 32

ENCODINGS = """
csrrw      csr:12 rs1:5 001 rd:5 1110011
csrrs      csr:12 rs1:5 010 rd:5 1110011
csrrc      csr:12 rs1:5 011 rd:5 1110011
csrrwi     csr:12 uimm:5 101 rd:5 1110011
csrrsi     csr:12 uimm:5 110 rd:5 1110011
csrrci     csr:12 uimm:5 111 rd:5 1110011
"""

#: a write may change the privilege state, interrupts or FP enable: the block ends after it
CSR_WRITE = Helper(csr_access, width=64, state=True, ends_block=True, name="csr_write")
CSR_READ = Helper(csr_access, width=64, state=True, name="csr_read")


def _inline(c, num, lifter, op, rd, src, imm, write):
    """The access as plain IR, for a CSR whose table entry has a ``lift``: the checks of
    :func:`csr_access` (privilege and FS are in the mode key), then read, modify, write."""
    if c.cpu.s[R.PRIV] < (num >> 8) & 3 or (write and num >> 10 == 3) or not lifter.lift_check(c):
        c.illegal()
        return
    b = c.b
    value = b.const(src) if imm else c.x(src)
    old = lifter.lift_read(c) if rd or op else None
    if write:
        if op == 1:
            value = b.or_(old, value)
        elif op == 2:
            value = b.and_(old, b.not_(value))
        lifter.lift_write(c, value)
    c.set_x(rd, old)


def _csr(op, imm):
    def lift(c, csr, rd, rs1=0, uimm=0):
        src = uimm if imm else rs1
        write = op == 0 or src != 0
        spec = CSRS.get(csr)
        if spec is not None and spec.lift is not None:
            _inline(c, csr, spec.lift, op, rd, src, imm, write)
            return
        value = uimm if imm else c.x(rs1)
        helper = CSR_WRITE if write else CSR_READ
        old = c.b.call(helper, csr, value, op, int(write), c.bits)
        c.set_x(rd, old)
        if write:
            c.jump(c.next_pc)

    return lift


lift_csrrw = _csr(0, False)
lift_csrrs = _csr(1, False)
lift_csrrc = _csr(2, False)
lift_csrrwi = _csr(0, True)
lift_csrrsi = _csr(1, True)
lift_csrrci = _csr(2, True)
