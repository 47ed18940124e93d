"""A third-party plugin, end to end: build tests/example_plugin into a wheel, install it with
vmcore into a fresh virtualenv, and check that vmctl finds it, lists it with its version,
runs its command, and that a machine can use its device."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

MACHINE_SCRIPT = """
import toy_machine
from vmcore.build import build_machine
from vmcore.config import DeviceConfig, MachineConfig
from vmcore.plugins import Registry, make_plugin_manager

# installed plugins (entry points) plus the toy ISA and board, registered in-process
reg = Registry.from_plugin_manager(make_plugin_manager(extra=[("toy", toy_machine)]))
assert reg.get("device", "counter").distribution == "vmcore-example-counter"
with open("prog.bin", "wb") as f:
    f.write(toy_machine.program(
        ("li", 1, 5), ("stw", 1, 0x8000),      # VALUE = 5
        ("ldw", 2, 0x8004), ("ldw", 2, 0x8004),  # two tickets: 5, 6 (value now 7)
        ("li", 1, 10), ("stw", 1, 0x8004),     # VALUE += 10
        ("ldw", 3, 0x8000), ("halt", 3),
    ))
config = MachineConfig(isa="toy32", board="toyboard", memory="16K", kernel="prog.bin",
                       devices=[DeviceConfig("counter", "ctr", {"base": "0x8000"})])
m = build_machine(config, reg)
assert m.run() == "halt"
print(m.exit_code, m.cpus[0].read_reg("r2"), m.bus.read(0x8008, 4))
"""


def sh(*argv, cwd=None) -> str:
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    assert proc.returncode == 0, f"{argv}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
def test_example_plugin_installs_and_works(tmp_path):
    # build both wheels from copies, so no build/ or egg-info lands in the source tree
    src = tmp_path / "vmcore-src"
    shutil.copytree(ROOT / "vmcore", src / "vmcore", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    example = tmp_path / "example"
    shutil.copytree(HERE / "example_plugin", example, ignore=shutil.ignore_patterns("*.egg-info"))
    wheels = tmp_path / "wheels"
    # isolated builds: they fetch the build backend each pyproject.toml asks for
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, src, example)
    built = sorted(p.name for p in wheels.glob("*.whl"))
    assert [w.split("-")[0] for w in built] == ["vmcore", "vmcore_example_counter"]

    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv)
    sh(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        *sorted(wheels.glob("*.whl")),
    )

    data = json.loads(sh(venv / "bin" / "vmctl", "plugins", "--json"))
    assert data["failures"] == []
    dists = {p["distribution"]: p["version"] for p in data["plugins"]}
    assert dists == {"vmcore": "0.1.0", "vmcore-example-counter": "1.2.3"}  # nothing leaked in
    (counter,) = [d for d in data["components"]["device"] if d["name"] == "counter"]
    assert counter["distribution"] == "vmcore-example-counter"
    assert counter["version"] == "1.2.3"
    assert counter["options"] == ["base", "step"]

    out = sh(venv / "bin" / "vmctl", "counter", "--add", "3", "--add", "4")
    assert out == "counter at 0x10002000: 7\n"
    assert "counter" in sh(venv / "bin" / "vmctl", "--help")

    shutil.copy(HERE / "toy_machine.py", tmp_path / "toy_machine.py")
    (tmp_path / "machine.py").write_text(textwrap.dedent(MACHINE_SCRIPT))
    out = sh(venv / "bin" / "python", "machine.py", cwd=tmp_path)
    assert out.split() == ["17", "6", "1"]  # exit code = VALUE, last ticket, step
