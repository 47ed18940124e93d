"""The decoder language (vmcore/decode.py): patterns, tables, overlaps, decoding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmcore.decode import (
    Decoder,
    DecodeTableError,
    Encoding,
    check_overlaps,
    parse_pattern,
    parse_table,
)

# -- patterns ----------------------------------------------------------------------------------


def test_pattern_fixed_bits_and_fields():
    # RISC-V add: funct7 rs2 rs1 funct3 rd opcode
    e = parse_pattern("add", "0000000 rs2:5 rs1:5 000 rd:5 0110011", 32)
    assert e.width == 32
    assert e.mask == 0xFE00707F
    assert e.match == 0x00000033
    assert e.fields == (("rs2", 20, 5), ("rs1", 15, 5), ("rd", 7, 5))
    word = 0x00C58533  # add a0, a1, a2
    assert e.extract(word) == {"rs2": 12, "rs1": 11, "rd": 10}


def test_pattern_dont_care_bits_are_not_in_the_mask():
    e = parse_pattern("x", "1-0- --11", 8)
    assert e.mask == 0b10100011
    assert e.match == 0b10000011


def test_pattern_groups_may_be_split_anywhere():
    a = parse_pattern("a", "0110 0110 imm:8", 16)
    b = parse_pattern("b", "01 100110 imm:8", 16)
    assert (a.mask, a.match, a.fields) == (b.mask, b.match, b.fields) == (0xFF00, 0x6600, a.fields)
    assert a.extract(0x66AB) == {"imm": 0xAB}


def test_compressed_pattern():
    e = parse_pattern("c.addi", "000 i5:1 rd:5 i4_0:5 01", 16)
    assert e.mask == 0xE003 and e.match == 0x0001
    word = 0b000_1_01010_11111_01  # c.addi a0, -1
    assert e.extract(word) == {"i5": 1, "rd": 10, "i4_0": 31}


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("0101 a:3", "pattern has 7 bits, expected 8"),
        ("0101 a:8", "pattern has 12 bits, expected 8"),
        ("", "pattern has 0 bits, expected 8"),
        ("0101 x0x0", "bad character 'x' in 'x0x0'"),
        ("0101 a:", "bad field 'a:'"),
        ("0101 a:0", "bad field 'a:0'"),
        ("0101 1a:4", "bad field '1a:4'"),
        ("0101 a:four", "bad field 'a:four'"),
    ],
)
def test_pattern_errors(pattern, message):
    with pytest.raises(DecodeTableError) as info:
        parse_pattern("insn", pattern, 8, "ext.py:3: ")
    assert str(info.value) == f"ext.py:3: insn: {message}"


def test_pattern_with_too_many_literal_bits_is_a_table_error():
    with pytest.raises(DecodeTableError, match="pattern has 9 bits, expected 8"):
        parse_pattern("insn", "0101 1111 0", 8)


def test_pattern_with_a_repeated_field_is_rejected():
    with pytest.raises(DecodeTableError, match="imm"):
        parse_pattern("insn", "imm:4 imm:4", 8)


# -- tables ----------------------------------------------------------------------------------------

TABLE = """
# name   pattern
addi     imm:12 rs1:5 000 rd:5 0010011
nop      000000000000 00000 000 00000 0010011   # specialises addi

slli     000000 sh:6 rs1:5 001 rd:5 0010011
"""


def _lifters(*names):
    return {n: (lambda n=n: n) for n in names}


def test_parse_table_skips_comments_and_blank_lines():
    encs = parse_table(TABLE, 32, _lifters("addi", "nop", "slli"), "rv64i.py")
    assert [e.name for e in encs] == ["addi", "nop", "slli"]
    assert encs[1].mask == 0xFFFFFFFF and encs[1].match == 0x13
    assert encs[0].payload() == "addi"


def test_parse_table_without_payloads():
    encs = parse_table(TABLE, 32)
    assert all(e.payload is None for e in encs)


def test_table_name_listed_twice():
    with pytest.raises(DecodeTableError, match=r"^t.py:3: a listed twice$"):
        parse_table("a 0000 x:4\n\na 1111 x:4", 8, source="t.py")


def test_table_name_without_lifter():
    with pytest.raises(DecodeTableError, match=r"^line 2: b has no lifter$"):
        parse_table("a 0000 x:4\nb 1111 x:4", 8, _lifters("a"))


def test_table_pattern_error_names_the_line():
    with pytest.raises(DecodeTableError, match=r"^ext.py:4: bad: pattern has 4 bits"):
        parse_table("\n# c\na 0000 x:4\nbad 0000", 8, source="ext.py")


# -- overlaps and decoding -----------------------------------------------------------------------


def test_specialisation_is_allowed_and_wins():
    encs = parse_table(TABLE, 32)
    assert check_overlaps(encs) == []
    dec = Decoder(encs)
    assert dec.decode(0x00000013).name == "nop"  # addi x0, x0, 0
    assert dec.decode(0x00100013).name == "addi"  # addi x0, x0, 1
    assert dec.decode(0x00051513).name == "slli"
    assert dec.decode(0x00000033) is None  # add: not in this table


def test_specialisation_wins_whatever_the_table_order():
    encs = parse_table(TABLE, 32)
    for order in (encs, encs[::-1], [encs[1], encs[2], encs[0]]):
        assert Decoder(order).decode(0x13).name == "nop"


def test_three_level_specialisation():
    encs = parse_table("any ----\nhigh 1---\nfull 1010", 4)
    dec = Decoder(encs)
    assert [dec.decode(w).name for w in (0b0000, 0b1000, 0b1010, 0b1011)] == [
        "any",
        "high",
        "full",
        "high",
    ]


def test_ambiguous_overlap_is_reported_and_rejected():
    encs = parse_table("a 1--- \nb -1--\nc 0000", 4)
    assert check_overlaps(encs) == [("a", "b")]
    with pytest.raises(DecodeTableError, match=r"ambiguous encodings: \[\('a', 'b'\)\]"):
        Decoder(encs)


def test_identical_patterns_are_ambiguous():
    encs = parse_table("a 10 x:2\nb 10 y:2", 4)
    assert check_overlaps(encs) == [("a", "b")]


def test_disjoint_encodings_do_not_overlap():
    encs = parse_table("a 1 x:3\nb 0 x:3", 4)
    assert check_overlaps(encs) == []


def test_specialises():
    general = parse_pattern("g", "1 x:3", 4)
    special = parse_pattern("s", "11 x:2", 4)
    other = parse_pattern("o", "01 x:2", 4)
    assert special.specialises(general)
    assert not general.specialises(special)
    assert not other.specialises(general)
    assert not general.specialises(general)


def test_decoder_errors():
    with pytest.raises(DecodeTableError, match="at least one encoding"):
        Decoder([])
    with pytest.raises(DecodeTableError, match=r"mixed widths in one decoder: \[16, 32\]"):
        Decoder(parse_table("a 1 x:15", 16) + parse_table("b 1 x:31", 32))


def test_different_widths_never_overlap():
    encs = parse_table("a 1 x:15", 16) + parse_table("b 1 x:31", 32)
    assert check_overlaps(encs) == []


# -- property: the decoder agrees with a brute-force reading of the table ----------------------

W = 8


def _brute(encs: list[Encoding], word: int) -> Encoding | None:
    matching = [e for e in encs if word & e.mask == e.match]
    if not matching:
        return None
    best = max(matching, key=lambda e: bin(e.mask).count("1"))
    # in a non-ambiguous table every other match is more general than the best one
    assert all(e is best or best.specialises(e) for e in matching)
    return best


@st.composite
def tables(draw):
    n = draw(st.integers(1, 12))
    encs = []
    for i in range(n):
        chars = draw(st.lists(st.sampled_from("01--"), min_size=W, max_size=W))
        encs.append(parse_pattern(f"e{i}", "".join(chars), W))
    return encs


@given(tables())
@settings(max_examples=300, deadline=None)
def test_decoder_matches_brute_force(encs):
    bad = check_overlaps(encs)
    if bad:
        with pytest.raises(DecodeTableError):
            Decoder(encs)
        return
    dec = Decoder(encs)
    for word in range(1 << W):
        assert dec.decode(word) is _brute(encs, word)
