"""Hook implementations only. Must not import llvmlite: listing plugins stays cheap."""

from __future__ import annotations

import os

import click

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


def _set_env(var: str):
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            os.environ[var] = value

    return callback


#: the jit's own options on the commands that run guests: (flag, env var the engine reads,
#: help). They act through JitOptions.from_env, so they reach every JitEngine made.
JIT_FLAGS = (
    (
        "--jit-dump",
        "VMCORE_JIT_DUMP",
        "jit: write each compiled unit's vmcore IR, LLVM IR (as made and optimised) and host"
        " disassembly into this directory.",
    ),
    ("--jit-threshold", "VMCORE_JIT_THRESHOLD", "jit: instructions before a block is compiled."),
)


@hookimpl
def vmcore_add_commands(cli: click.Group) -> None:
    """Add the jit's flags (``--jit-dump DIR`` ...) to ``vmctl run``, ``machine`` and ``bench``."""
    for name in ("run", "machine", "bench"):
        command = cli.commands.get(name)
        if command is None:
            continue
        for flag, var, text in JIT_FLAGS:
            if any(flag in p.opts for p in command.params):
                continue
            command.params.append(
                click.Option([flag], expose_value=False, callback=_set_env(var), help=text)
            )
