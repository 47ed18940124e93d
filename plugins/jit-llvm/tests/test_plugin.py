"""The distribution is installed, registers engine "jit" and keeps listing cheap."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import distribution, entry_points


def test_plugin_is_installed():
    dist = distribution("vmcore-jit-llvm")
    assert dist.metadata["Name"] == "vmcore-jit-llvm"
    eps = [ep for ep in entry_points(group="vmcore") if ep.name == "jit-llvm"]
    assert eps and eps[0].value == "vmcore_jit_llvm.plugin"


def test_registers_engine_jit():
    from vmcore_jit_llvm import plugin

    (comp,) = plugin.vmcore_register_engines()
    assert comp.kind == "engine" and comp.name == "jit"
    assert comp.factory == "vmcore_jit_llvm.engine:JitEngine"
    from vmcore.plugins import get_registry

    assert get_registry().get("engine", "jit").load().__name__ == "JitEngine"


def test_plugin_module_does_not_import_llvmlite():
    code = "import sys, vmcore_jit_llvm.plugin; print('llvmlite' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_jit_dump_flag_on_vmctl_run(tmp_path, monkeypatch, capfd):
    """``vmctl run --engine jit --jit-dump DIR`` writes IR and host disassembly per unit."""
    from vmcore.cli import run_cli
    from vmcore.testing.guests import build_linux

    for var in ("VMCORE_JIT_DUMP", "VMCORE_JIT_THRESHOLD"):
        monkeypatch.setenv(var, "")  # restored after the test: the flags set them
    exe = build_linux("hello")
    dump = tmp_path / "dump"
    status = run_cli(
        ["run", "--engine", "jit", "--jit-dump", str(dump), "--jit-threshold", "50", str(exe)]
    )
    assert status == 0
    assert "hello" in capfd.readouterr().out.lower()
    for suffix in (".ir.txt", ".ll", ".opt.ll", ".s"):
        assert (dump / f"unit0{suffix}").stat().st_size > 0
    assert "guest pc 0x" in (dump / "unit0.s").read_text()
    assert re.search(r"define (\w+ )?i64 @u0_b0\(", (dump / "unit0.ll").read_text())


def test_jit_flags_are_listed_in_help():
    from vmcore.cli import run_cli

    out = subprocess.run(
        [sys.executable, "-m", "vmcore", "bench", "--help"], capture_output=True, text=True
    ).stdout
    assert "--jit-dump" in out and "--jit-threshold" in out
    assert run_cli(["machine", "--help"]) == 0
