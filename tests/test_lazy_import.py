"""vmctl must start fast: importing the CLI, and listing every component of every installed
plugin, imports no engine (LLVM above all) and no ISA implementation."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = r"""
import json, sys
import vmcore.cli
after_import = sorted(sys.modules)
from vmcore.cli import run_cli
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    assert run_cli(["plugins", "--json"]) == 0
from vmcore.plugins import get_registry
reg = get_registry()
lazy = [c.factory.partition(":")[0] for kind in ("isa", "engine", "board")
        for c in reg.all(kind) if isinstance(c.factory, str)]
print(json.dumps({"after_import": after_import, "after_listing": sorted(sys.modules),
                  "lazy_factories": lazy}))
"""


def loaded() -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(proc.stdout)


def test_cli_and_listing_import_no_engine_or_isa():
    mods = loaded()
    for when in ("after_import", "after_listing"):
        heavy = [
            m
            for m in mods[when]
            if m.split(".")[0] in ("llvmlite", "unicorn", "capstone", "elftools", "softfloatpy")
            or m == "vmcore.engines.interp"
            or m.startswith("vmcore.linux_user")
        ]
        assert heavy == [], f"{when}: {heavy}"
    assert not any(m.startswith("vmcore_") for m in mods["after_import"])  # no plugin at all
    assert "vmcore.engines.interp" in mods["lazy_factories"]
    for module in mods["lazy_factories"]:
        assert module not in mods["after_listing"], f"{module} imported just to list it"


RUN = r"""
import json, os, sys
from vmcore.linux_user import run_program
with open(os.devnull, "w") as out:
    status = run_program([sys.argv[1]], engine="interp", stdout=out)
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def test_running_a_program_loads_no_disassembler_or_llvm():
    """A user-mode run on interp needs neither capstone (a shared library to load: 10-20
    ms of every ``vmctl run``, for disassembly only) nor LLVM."""
    from vmcore.testing.guests import build_linux

    hello = build_linux("hello")
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(hello)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == 0
    heavy = [m for m in result["modules"] if m.split(".")[0] in ("capstone", "llvmlite")]
    assert heavy == []
    assert "vmcore_isa_riscv.isa" in result["modules"]  # the run did load the ISA
