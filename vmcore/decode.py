"""The decoder language every ISA uses: encodings as pattern lines, decoders built as data.

An extension module lists its encodings in a table, one per line::

    # name     pattern, most significant bit first
    add        0000000 rs2:5 rs1:5 000 rd:5 0110011
    c.addi     000 i5:1 rd:5 i4_0:5 01

A pattern is a sequence of groups: literal bits (``0``/``1``), don't-care bits (``-``)
and named fields ``name:N`` (N bits). The groups must add up to the instruction width.
:class:`Decoder` turns tables into a dict keyed by the bits every encoding fixes, so a
lookup is one mask, one dict probe and a short scan of the candidates, most specific first.

Overlaps: two encodings that can match the same word are allowed only when one is a
strict specialisation of the other (it fixes every bit the other fixes, and more): then
the more specific wins, as in QEMU's decodetree overlap groups. Any other overlap is an
error reported by :func:`check_overlaps`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import attrs


class DecodeTableError(ValueError):
    """A malformed pattern line: which table, which line, what is wrong."""


@attrs.define(frozen=True)
class Encoding:
    """One instruction encoding: fixed bits ``match`` under ``mask``, named fields."""

    name: str
    width: int
    mask: int
    match: int
    #: field name -> (lsb, nbits)
    fields: tuple[tuple[str, int, int], ...]
    #: whatever the ISA attaches (usually the lifter function)
    payload: Any = None

    def extract(self, word: int) -> dict[str, int]:
        return {n: (word >> lsb) & ((1 << nb) - 1) for n, lsb, nb in self.fields}

    def specialises(self, other: Encoding) -> bool:
        """True if every word matching self also matches other, and self fixes more bits."""
        return (
            self.mask != other.mask
            and (self.mask & other.mask) == other.mask
            and (self.match & other.mask) == other.match
        )


def parse_pattern(name: str, pattern: str, width: int, where: str = "") -> Encoding:
    """Parse one pattern (without its name) into an :class:`Encoding`."""
    pos = width
    mask = match = 0
    fields = []
    for group in pattern.split():
        if ":" in group:
            fname, _, nbits_s = group.partition(":")
            if not fname.isidentifier() or not nbits_s.isdigit() or int(nbits_s) == 0:
                raise DecodeTableError(f"{where}{name}: bad field {group!r}")
            nbits = int(nbits_s)
            pos -= nbits
            if any(f[0] == fname for f in fields):
                raise DecodeTableError(f"{where}{name}: field {fname!r} appears twice")
            fields.append((fname, pos, nbits))
            continue
        for ch in group:
            pos -= 1
            if pos < 0:
                break
            if ch == "-":
                continue
            if ch not in "01":
                raise DecodeTableError(f"{where}{name}: bad character {ch!r} in {group!r}")
            mask |= 1 << pos
            match |= int(ch) << pos
        if pos < 0:
            break
    if pos != 0:
        got = width - pos
        raise DecodeTableError(f"{where}{name}: pattern has {got} bits, expected {width}")
    return Encoding(name, width, mask, match, tuple(fields))


def parse_table(
    text: str, width: int, payloads: dict[str, Any] | None = None, source: str = ""
) -> list[Encoding]:
    """Parse a table of ``name pattern`` lines; ``#`` starts a comment.

    ``payloads`` maps names to what the decoder returns with them (lifters); a name
    without a payload is an error, so a table and its lifters cannot drift apart.
    """
    out = []
    seen = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, pattern = line.partition(" ")
        where = f"{source}:{lineno}: " if source else f"line {lineno}: "
        if name in seen:
            raise DecodeTableError(f"{where}{name} listed twice")
        seen.add(name)
        enc = parse_pattern(name, pattern, width, where)
        if payloads is not None:
            if name not in payloads:
                raise DecodeTableError(f"{where}{name} has no lifter")
            enc = attrs.evolve(enc, payload=payloads[name])
        out.append(enc)
    return out


def check_overlaps(encodings: Iterable[Encoding]) -> list[tuple[str, str]]:
    """Pairs of encodings that can match one word where neither specialises the other."""
    encs = list(encodings)
    bad = []
    for i, a in enumerate(encs):
        for b in encs[i + 1 :]:
            if a.width != b.width:
                continue
            common = a.mask & b.mask
            if (a.match ^ b.match) & common:
                continue
            if a.specialises(b) or b.specialises(a):
                continue
            bad.append((a.name, b.name))
    return bad


#: words whose decoding a :class:`Decoder` remembers (then it starts over)
LOOKUP_CACHE = 1 << 16


class Decoder:
    """Decodes words of one width against a set of encodings.

    ``decode(word)`` returns the matching :class:`Encoding` or None (illegal);
    ``lookup(word)`` also its fields, and remembers both per word.
    """

    def __init__(self, encodings: Iterable[Encoding]) -> None:
        self.encodings = list(encodings)
        if not self.encodings:
            raise DecodeTableError("a decoder needs at least one encoding")
        widths = {e.width for e in self.encodings}
        if len(widths) != 1:
            raise DecodeTableError(f"mixed widths in one decoder: {sorted(widths)}")
        bad = check_overlaps(self.encodings)
        if bad:
            raise DecodeTableError(f"ambiguous encodings: {bad[:5]}")
        key = self.encodings[0].mask
        for e in self.encodings:
            key &= e.mask
        self.key_mask = key
        buckets: dict[int, list[Encoding]] = defaultdict(list)
        for e in self.encodings:
            buckets[e.match & key].append(e)
        # most specific (most fixed bits) first, so specialisations win
        self.buckets = {
            k: tuple((e.mask, e.match, e) for e in sorted(v, key=lambda e: -e.mask.bit_count()))
            for k, v in buckets.items()
        }

        self._seen: dict[int, tuple[Encoding | None, dict[str, int]]] = {}

    def decode(self, word: int) -> Encoding | None:
        for m, v, enc in self.buckets.get(word & self.key_mask, ()):
            if word & m == v:
                return enc
        return None

    def lookup(self, word: int) -> tuple[Encoding | None, dict[str, int]]:
        """``(decode(word), its fields)``, from a cache of the words seen (the same code
        is lifted again after invalidations, and most programs use few distinct words).
        The fields dict is shared: pass it on with ``**``, never change it."""
        hit = self._seen.get(word)
        if hit is None:
            enc = self.decode(word)
            hit = (enc, enc.extract(word) if enc is not None else {})
            if len(self._seen) >= LOOKUP_CACHE:
                self._seen.clear()
            self._seen[word] = hit
        return hit
