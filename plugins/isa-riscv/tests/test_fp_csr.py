"""fflags, frm and fcsr through every csrr* form, on every engine.

These CSRs are lifted to plain IR (``CsrSpec.lift``) instead of the ``csr_access`` state
helper, so each access is checked here against a model written from the spec and against
the helper itself: the value read, the fields written, rd = x0 / rs1 = x0 / uimm = 0, FS Off
(illegal instruction, the instruction in mtval, nothing changed) and FS turning Dirty, in
M, S and U mode.
"""

from __future__ import annotations

import pytest
from test_fp_harness import BASE, ENGINES, ILLEGAL, enc, outcome, setup

from vmcore import GuestTrap
from vmcore_isa_riscv import csr
from vmcore_isa_riscv import registers as R

FFLAGS, FRM, FCSR = 0x001, 0x002, 0x003
OFF, INITIAL, CLEAN, DIRTY = 0, 1, 2, 3
#: form -> (funct3, immediate?, 0 write / 1 set / 2 clear)
FORMS = {
    "csrrw": (1, False, 0),
    "csrrs": (2, False, 1),
    "csrrc": (3, False, 2),
    "csrrwi": (5, True, 0),
    "csrrsi": (6, True, 1),
    "csrrci": (7, True, 2),
}
SRC = 11  #: the source register
XVAL = 0xFFFF_FFFF_FFFF_FF5A  #: its value: every field bit pattern and high bits set
UIMM = 0b11001
OLD_FFLAGS, OLD_FRM = 0b10110, 0b011


def word(form: str, num: int, rd: int, src: int) -> int:
    """From the spec's I-type layout (not from the plugin's tables)."""
    funct3 = FORMS[form][0]
    return num << 20 | src << 15 | funct3 << 12 | rd << 7 | 0x73


def model(form, num, rd, src, fflags, frm, fs, x):
    """(x[rd], fflags, frm, fs, trapped) after the instruction, from the spec."""
    _, imm, op = FORMS[form]
    if fs == OFF:
        return x.get(rd, 0), fflags, frm, fs, True
    old = {FFLAGS: fflags, FRM: frm, FCSR: frm << 5 | fflags}[num]
    value = src if imm else x.get(src, 0)
    if op == 0 or src != 0:
        new = (value, old | value, old & ~value)[op]
        if num in (FFLAGS, FCSR):
            fflags = new & 0x1F
        if num == FRM:
            frm = new & 7
        if num == FCSR:
            frm = (new >> 5) & 7
        fs = DIRTY
    return (old if rd else 0), fflags, frm, fs, False


def execute(engine, words, priv=csr.M, fs=INITIAL, fflags=OLD_FFLAGS, frm=OLD_FRM, x=None):
    m, traps = setup(words, x=x, fflags=fflags, frm=frm, fs=fs << 13, engine=engine)
    m.cpus[0].s[R.PRIV] = priv
    m.run(limit=len(words) + 1)
    return m, outcome(m, traps)


def through_helper(form, num, rd, src, fflags, frm, fs, x, priv):
    """The same access on the ``csr_access`` helper (what csrr* called before)."""
    m, _ = setup([], fflags=fflags, frm=frm, fs=fs << 13)
    cpu = m.cpus[0]
    cpu.s[R.PRIV] = priv
    _, imm, op = FORMS[form]
    value = src if imm else x.get(src, 0)
    bits = word(form, num, rd, src)
    try:
        old = csr.csr_access(cpu, num, value, op, op == 0 or src != 0, bits)
    except GuestTrap as trap:
        assert (trap.cause, trap.tval) == (ILLEGAL, bits)
        return x.get(rd, 0), fflags, frm, fs, True
    fs_after = (cpu.s[R.MSTATUS] & csr.MSTATUS_FS) >> 13
    return (old if rd else 0), cpu.s[R.FFLAGS], cpu.s[R.FRM], fs_after, False


CASES = [
    # (rd, source register or uimm, FS, privilege)
    *[(rd, src, fs, csr.M) for rd in (0, 10) for src in (0, SRC) for fs in (INITIAL, DIRTY)],
    (10, SRC, CLEAN, csr.S),
    (10, 0, INITIAL, csr.U),
    (10, SRC, INITIAL, csr.U),
    *[(10, SRC, OFF, priv) for priv in (csr.M, csr.S, csr.U)],
    (0, 0, OFF, csr.U),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("num", [FFLAGS, FRM, FCSR], ids=["fflags", "frm", "fcsr"])
@pytest.mark.parametrize("form", list(FORMS))
def test_fp_csr_access(engine, form, num):
    for rd, src, fs, priv in CASES:
        if FORMS[form][1]:
            src = UIMM if src else 0
        x = {SRC: XVAL, 10: 0x5555}
        bits = word(form, num, rd, src)
        m, out = execute(engine, [bits], priv=priv, fs=fs, x=x)
        want = model(form, num, rd, src, OLD_FFLAGS, OLD_FRM, fs, x)
        where = f"{form} rd={rd} src={src} FS={fs} priv={priv}"
        assert want == through_helper(form, num, rd, src, OLD_FFLAGS, OLD_FRM, fs, x, priv), where
        got = (out.x[rd], out.fflags, m.cpus[0].s[R.FRM], out.fs(), out.trap is not None)
        assert got == want, where
        if want[4]:
            assert out.trap == (ILLEGAL, bits, BASE), where
            assert out.mstatus & csr.MSTATUS_FS == 0, where
        else:
            assert out.x[SRC] == XVAL, where
            wrote = FORMS[form][2] == 0 or src != 0
            assert bool(out.mstatus & csr.MSTATUS_SD) == wrote, where


@pytest.mark.parametrize("engine", ENGINES)
def test_fp_csr_writes_take_effect_inside_the_block(engine):
    """Writes no longer end the block: the next instructions see the new frm and fflags."""
    one, three = 0x3F800000, 0x40400000
    words = [
        enc("fmv.w.x", rd=1, rs1=5),
        enc("fmv.w.x", rd=2, rs1=6),
        word("csrrwi", FRM, 0, 1),  # fsrmi RTZ
        enc("fdiv.s", rd=3, rs1=1, rs2=2, rm=7),
        word("csrrs", FFLAGS, 10, 0),  # frflags a0
        word("csrrwi", FFLAGS, 0, 0),  # fsflagsi 0
        word("csrrs", FCSR, 12, 7),  # frm |= 2 through fcsr: RUP
        enc("fdiv.s", rd=4, rs1=1, rs2=2, rm=7),
        word("csrrs", FRM, 13, 0),  # frrm a3
        word("csrrc", FCSR, 14, 0),  # frcsr a4
    ]
    m, out = execute(engine, words, fflags=0, frm=0, x={5: one, 6: three, 7: 2 << 5})
    assert out.trap is None
    assert out.f[3] & 0xFFFFFFFF == 0x3EAAAAAA  # 1/3 rounded toward zero
    assert out.f[4] & 0xFFFFFFFF == 0x3EAAAAAB  # 1/3 rounded up
    assert (out.x[10], out.x[12], out.x[13]) == (1, 1 << 5, 3)
    assert out.x[14] == 3 << 5 | 1 and out.fflags == 1 and m.cpus[0].s[R.FRM] == 3


@pytest.mark.parametrize("engine", ENGINES)
def test_turning_fs_off_makes_the_next_access_trap(engine):
    clear_fs = word("csrrc", csr.MSTATUS, 0, 5)
    frflags = word("csrrs", FFLAGS, 10, 0)
    m, out = execute(engine, [clear_fs, frflags], x={5: csr.MSTATUS_FS, 10: 7})
    assert out.trap == (ILLEGAL, frflags, BASE + 4) and out.x[10] == 7
    set_fs = word("csrrs", csr.MSTATUS, 0, 5)
    m, out = execute(engine, [set_fs, frflags], fs=OFF, x={5: csr.FS_INITIAL})
    assert out.trap is None and out.x[10] == OLD_FFLAGS and out.fs() == INITIAL


def test_fp_csrs_lift_without_helpers():
    for form in FORMS:
        for num in (FFLAGS, FRM, FCSR):
            words = [word(form, num, 10, 3), word(form, num, 0, 0)]
            m, _ = setup(words, x={3: XVAL})
            block = m.engine.lift(m.cpus[0], BASE)
            assert len(block.insns) == len(words) + 1, block
            assert not block.sync and all(op.name != "call" for op in block.ops), block


def test_csr_table_marks_the_fp_csrs_for_inline_lifting():
    assert {num for num, spec in csr.CSRS.items() if spec.lift} == {FFLAGS, FRM, FCSR}
