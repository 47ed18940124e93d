"""Zifencei: instruction-fetch fence."""

from vmcore import Helper

WIDTH = 32

ENCODINGS = """
fence.i    imm:12 rs1:5 001 rd:5 0001111
"""


def flush_translations(cpu) -> None:
    """Stores may have changed code this hart already translated: drop every translation."""
    cpu.machine.engine.flush()


FLUSH = Helper(flush_translations, state=True, ends_block=True, name="fence_i")


def lift_fence_i(c, rd, rs1, imm):
    c.b.call(FLUSH)
    c.jump(c.next_pc)
