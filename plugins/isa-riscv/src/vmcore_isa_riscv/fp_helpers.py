"""RISC-V floating-point semantics that are not IEEE core operations: fclass and the
2019 fmin/fmax (minimumNumber/maximumNumber). Pure functions on raw bits, called from
lifted code through pure helpers; they need no SoftFloat."""

from __future__ import annotations

from collections.abc import Callable

from vmcore.softfp import CANONICAL_NAN, FORMATS

NV = 16  #: the invalid-operation flag (FPFlag.NV)


def _make(fmt: str) -> dict[str, Callable]:
    w, e, m = FORMATS[fmt]
    sign = 1 << (w - 1)
    full = (1 << w) - 1
    exp_mask = ((1 << e) - 1) << m
    frac_mask = (1 << m) - 1
    quiet = 1 << (m - 1)
    cnan = CANONICAL_NAN[fmt]

    def is_nan(a: int) -> bool:
        return (a & ~sign & full) > exp_mask

    def is_snan(a: int) -> bool:
        return is_nan(a) and not a & quiet

    def fclass(a: int) -> int:
        """Bit 0 -inf, 1 -normal, 2 -subnormal, 3 -0, 4 +0, 5 +subnormal, 6 +normal,
        7 +inf, 8 signalling NaN, 9 quiet NaN."""
        neg = bool(a & sign)
        ex, fr = a & exp_mask, a & frac_mask
        if ex == exp_mask:
            if fr == 0:
                return 1 if neg else 1 << 7
            return 1 << 9 if fr & quiet else 1 << 8
        if ex == 0:
            if fr == 0:
                return 1 << 3 if neg else 1 << 4
            return 1 << 2 if neg else 1 << 5
        return 1 << 1 if neg else 1 << 6

    def key(a: int) -> int:
        # monotonic map of non-NaN bit patterns onto unsigned ints (-0 below +0)
        return (~a & full) if a & sign else (a | sign)

    def pick(smaller: bool) -> Callable[[int, int], tuple[int, int]]:
        def minmax(a: int, b: int) -> tuple[int, int]:
            an, bn = is_nan(a), is_nan(b)
            flags = NV if is_snan(a) or is_snan(b) else 0
            if an and bn:
                return cnan, flags
            if an or bn:
                return (b if an else a), flags
            return (a if (key(a) <= key(b)) == smaller else b), flags

        return minmax

    fmin, fmax = pick(True), pick(False)
    fmin.__doc__ = (
        "The smaller of a and b, -0 < +0; one NaN gives the other operand, two give the"
        " canonical NaN; a signalling NaN raises NV. Returns (bits, flags)."
    )
    fmax.__doc__ = fmin.__doc__.replace("smaller", "larger")
    fns = {"fclass": fclass, "fmin": fmin, "fmax": fmax}
    for name, fn in fns.items():
        fn.__name__ = fn.__qualname__ = f"{name}_{fmt}"
    return {f"{name}_{fmt}": fn for name, fn in fns.items()}


for _fmt in FORMATS:
    globals().update(_make(_fmt))
