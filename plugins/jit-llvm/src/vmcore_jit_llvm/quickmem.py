"""Store helpers for quickly compiled units: one small function per store size.

Inline, a store in a block function is a bounds (or TLB) check, the store, a check for
code on its page with a cold path that tells a false alarm from a write to code, and a
slow path that calls Python: about 50 lines of LLVM IR in seven basic blocks, against 20
for a load. Stores are where compiled C code has runs of them (a function's prologue
saves its registers), and in CoreMark's warm-up their inline code was a quarter of the
1.8 MB of IR compiled at -O0 on the main thread, while the guest waited.

Quick units call a helper instead (a C call, which -O0's fast instruction selector
handles): it stores into RAM unless the store's page, or the next one, holds code; then,
as for any address outside RAM or a TLB miss, Python's store does the write, invalidates
what it overwrote and reports code written (status bit 2), as the inline slow path does.
A false alarm costs a call into Python here, which the inline code avoids: quick code is
replaced by optimised code once hot, and the loops keep their stores inline there.

Measured on CoreMark's 58 quick units, compiled again in one instance on one thread:
1.83 MB of IR in 480 ms without helpers, 1.38 MB in 393 ms with them. Loads through
helpers as well (1.26 MB) saved little more and made the quick code slower.
"""

from __future__ import annotations

from vmcore_jit_llvm.codegen import FN_ATTRS, Emitter, Env, branch_weights, store_helper_name

#: store sizes in bytes that have helpers (others call Python directly)
SIZES = (1, 2, 4, 8)


class _HelperGen(Emitter):
    def __init__(self, env: Env, tlb: bool) -> None:
        self.env = env
        self.fast = not tlb

    def store(self, size: int) -> str:
        """``i32 @vm_store<size>_<ram|tlb>(i64 addr, i64 value, i64 k[, i64 tlb])``: the
        status of Python's store callback, or 0 (the store went to RAM)."""
        self.lines, self.n, self.cur = [], 0, "entry"
        params = "i64 %addr, i64 %val, i64 %k" + ("" if self.fast else ", i64 %tlbi")
        self.label("entry")
        if not self.fast:
            self.emit(f"{self.tlb_ptr} = inttoptr i64 %tlbi to ptr")
        w = 8 * size
        x, fast, slow = self.mem_check("%addr", size, write=True)
        self.label(fast)
        # code on the store's page or, for a store that may cross into it, the next one
        width = 8 if size == 1 else 16
        near = self.ins(f"icmp ne i{width} {self.code_page(x, width)}, 0")
        clear = self.newlabel()
        self.branch_cold(near, slow, clear)
        self.label(clear)
        v = "%val" if w == 64 else self.ins(f"trunc i64 %val to i{w}")
        self.emit(f"store i{w} {v}, ptr {self.host_ptr(x, '%addr')}, align 1")
        self.emit("ret i32 0")
        self.label(slow)
        fp = f"inttoptr (i64 {self.env.callbacks['store']} to ptr)"
        st = self.ins(f"call i32 {fp}(i64 %addr, i64 {size}, i64 %val, i64 0, i64 %k)")
        self.emit(f"ret i32 {st}")
        name = store_helper_name(size, not self.fast)
        return f"define i32 @{name}({params}) {FN_ATTRS} {{\n" + "\n".join(self.lines) + "\n}\n"


def helper_names(tlb: bool) -> list[str]:
    """The helpers store_helpers(env, tlb) defines."""
    return [store_helper_name(size, tlb) for size in SIZES]


def store_helpers(env: Env, tlb: bool) -> str:
    """The helpers' module: without paging (main RAM at its guest addresses) or through
    the software TLB (``tlb``: the TLB's address is each helper's last argument)."""
    gen = _HelperGen(env, tlb)
    return "\n".join(gen.store(size) for size in SIZES) + branch_weights()
