"""One module per RISC-V extension: an ``ENCODINGS`` table and its ``lift_<insn>`` functions.

Each module sets ``WIDTH`` (32, or 16 for compressed) and ``ENCODINGS``; the decoder maps a
table name ``fadd.s`` to the function ``lift_fadd_s`` of the same module.
"""
