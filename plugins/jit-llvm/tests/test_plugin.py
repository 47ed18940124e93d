"""The distribution is installed, registers engine "jit" and keeps listing cheap."""

from __future__ import annotations

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
