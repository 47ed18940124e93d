"""Hook implementations only. Must not import llvmlite: listing plugins stays cheap."""

from __future__ import annotations

from vmcore import hookimpl
from vmcore.components import Component


@hookimpl
def vmcore_register_engines() -> list[Component]:
    return [
        Component(
            kind="engine",
            name="jit",
            factory="vmcore_jit_llvm.engine:JitEngine",
            help="LLVM JIT (llvmlite): hot blocks compiled to native code, chained natively;"
            " cold code on interp",
        )
    ]
