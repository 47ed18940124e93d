"""vmctl: commands, exit statuses, one-line errors, plugin commands."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import click
import pytest
import toy_machine

import vmcore
from vmcore import Component, hookimpl, plugins
from vmcore.cli import bench_engines, run_cli

VMCTL = str(Path(sys.executable).with_name("vmctl"))


class Extras:
    """An in-process plugin: a second engine name for bench and a plugin command."""

    __name__ = "extras"

    @hookimpl
    def vmcore_register_engines(self):
        return [Component("engine", "fast", "nowhere.fast:Engine", "stand-in for bench")]

    @hookimpl
    def vmcore_add_commands(self, cli):
        @cli.command()
        @click.argument("who")
        def greet(who):
            """Say hello."""
            click.echo(f"hello {who}")
            return 5


@pytest.fixture
def toy(monkeypatch):
    """Make vmctl see the built-ins plus the toy ISA and board (no entry points)."""
    pm = plugins.make_plugin_manager(
        entry_points=False, extra=[("toy", toy_machine), ("extras", Extras())]
    )
    reg = plugins.Registry.from_plugin_manager(pm)
    monkeypatch.setattr(plugins, "get_plugin_manager", lambda: pm)
    monkeypatch.setattr(plugins, "get_registry", lambda: reg)
    return reg


@pytest.fixture
def hello(tmp_path):
    """A toy program printing "OK" on a UART at 0x8000 (reg_shift=2), exiting with 7."""
    path = tmp_path / "hello.bin"
    path.write_bytes(
        toy_machine.program(
            ("li", 1, ord("O")),
            ("stw", 1, 0x8000),
            ("li", 1, ord("K")),
            ("stw", 1, 0x8000),
            ("li", 3, 7),
            ("halt", 3),
        )
    )
    return path


def run(capsys, *argv):
    rc = run_cli(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vmctl: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_machine_runs_the_guest_and_exits_with_its_code(toy, capsys, hello, tmp_path):
    serial = tmp_path / "serial.txt"
    rc, out, err = run(
        capsys,
        "machine",
        "--isa=toy32",
        "--board=toyboard",
        "--memory=16K",
        f"--kernel={hello}",
        f"--device=uart16550,base=0x8000,reg_shift=2,output={serial}",
    )
    assert (rc, err) == (7, "")
    assert serial.read_bytes() == b"OK"


def test_machine_trace_prints_each_instruction(toy, capsys, hello):
    rc, out, err = run(
        capsys,
        "machine",
        "--isa=toy32",
        "--board=toyboard",
        "--memory=16K",
        "--trace",
        f"--kernel={hello}",
        "--device=uart16550,base=0x8000,reg_shift=2,output=null",
    )
    assert rc == 7
    lines = err.splitlines()
    assert len(lines) == 6  # li, stw, li, stw, li, halt
    # hart, pc, bits, disassembly, registers written
    assert lines[0].split() == [
        "0",
        "0x0000000000000000",
        "0110004f",
        ".4byte",
        "0x0110004f",
        "r1=0x000000000000004f",
    ]
    assert lines[1].split()[:3] == ["0", "0x0000000000000004", "02108000"]
    assert lines[-1].split() == ["0", "0x0000000000000014", "00300000", ".4byte", "0x00300000"]


def test_machine_config_file_and_flag_overrides(toy, capsys, hello, tmp_path):
    (tmp_path / "m.toml").write_text(
        'isa = "toy32"\nboard = "toyboard"\nmemory = "16K"\n'
        f'kernel = "{hello.name}"\n'
        '[[devices]]\nkind = "uart16550"\nbase = 0x8000\nreg_shift = 2\noutput = "null"\n'
    )
    rc, _, err = run(capsys, "machine", "--config", str(tmp_path / "m.toml"))
    assert (rc, err) == (7, "")
    rc, _, err = run(capsys, "machine", "--config", str(tmp_path / "m.toml"), "--limit", "2")
    assert rc == 0
    assert err == "vmctl: stopped after the instruction limit (2)\n"


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["machine", "--isa=toy32"], ["board: no board given; available for toy32: toyboard"]),
        (["machine", "--isa=arm"], ["isa: unknown isa 'arm'; available: toy32"]),
        (
            ["machine", "--isa=toy32", "--board=toyboard", "--engine=jit"],
            ["unknown engine 'jit'; available: fast, interp"],
        ),
        (
            ["machine", "--isa=toy32", "--board=toyboard", "--device=gpu"],
            ["unknown device 'gpu'; available: ram, uart16550"],
        ),
        (
            ["machine", "--isa=toy32", "--board=toyboard", "--device=uart16550,speed=9600"],
            ["no option 'speed'", "valid options: base, irq, reg_shift"],
        ),
        (["machine", "--memory=1Q"], ["memory: cannot read size '1Q'"]),
        (["machine", "--clock=sundial"], ["'sundial' is not one of 'virtual', 'host'"]),
        (["machine", "--smp=0"], ["--smp"]),
        (["machine", "--bogus"], ["No such option '--bogus'", "vmctl machine --help"]),
        (["frobnicate"], ["No such command 'frobnicate'"]),
        (["machine", "--isa=toy32", "--board=toyboard", "--kernel=/no/such"], ["kernel: no such"]),
        (["machine", "--config=/no/such.toml"], ["config: no such file"]),
        (["run", "/no/such/program"], ["'/no/such/program' does not exist"]),
        (["disasm", "/no/such.elf"], ["does not exist"]),
    ],
)
def test_usage_and_config_errors_exit_2_with_one_line(toy, capsys, argv, fragments):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert_one_line_error(err, *fragments)


def test_plugin_commands_are_added(toy, capsys):
    rc, out, _ = run(capsys, "greet", "world")
    assert (rc, out) == (5, "hello world\n")
    rc, out, _ = run(capsys, "--help")
    assert rc == 0 and "greet" in out and "machine" in out


def test_a_plugin_whose_commands_fail_does_not_break_vmctl(monkeypatch, capsys):
    broken = types.SimpleNamespace(
        vmcore_add_commands=hookimpl(lambda cli: 1 / 0),
    )
    pm = plugins.make_plugin_manager(entry_points=False, extra=[("broken", broken)])
    monkeypatch.setattr(plugins, "get_plugin_manager", lambda: pm)
    rc, out, err = run(capsys, "--version")
    assert (rc, out) == (0, f"vmctl, version {vmcore.__version__}\n")
    assert "plugin broken could not add commands: ZeroDivisionError" in err


def test_plugins_table(toy, capsys):
    rc, out, _ = run(capsys, "plugins")
    assert rc == 0
    assert "engine:\n" in out and "board:\n" in out
    assert "toyboard" in out and "[isa: toy32]" in out
    assert f"(vmcore {vmcore.__version__})" in out


@pytest.fixture
def fake_linux_user(monkeypatch):
    """Stand in for vmcore.linux_user (another part of the kernel) and record calls."""
    calls: list[tuple] = []
    clock = [0.0]
    speed = {"interp": 2.0, "fast": 0.5}

    def run_program(argv, **kw):
        calls.append((argv, kw))
        if "stats" in kw:
            kw["stats"].update(instructions=1_000_000, translations=12)
            if kw["engine"] == "fast":
                kw["stats"]["seconds"] = speed["fast"]  # as run_program reports it
            clock[0] += speed[kw["engine"]] + 1.0  # + loading, which must not count
        return 3 if argv[-1] == "fail" else 0

    module = types.ModuleType("vmcore.linux_user")
    module.run_program = run_program
    monkeypatch.setitem(sys.modules, "vmcore.linux_user", module)
    monkeypatch.setattr("vmcore.cli.time.perf_counter", lambda: clock[0])
    return calls


def test_run_passes_guest_arguments_through(toy, capsys, fake_linux_user, hello):
    rc, _, _ = run(capsys, "run", "--strace", str(hello), "-x", "--engine", "fail")
    assert rc == 3
    ((argv, kw),) = fake_linux_user
    assert argv == [str(hello), "-x", "--engine", "fail"]  # options after PROGRAM are the guest's
    assert kw == {
        "engine": "interp",
        "isa": None,
        "strace": True,
        "sysroot": None,
        "trace": False,
    }


def test_run_checks_engine_names_first(toy, capsys, fake_linux_user, hello):
    rc, _, err = run(capsys, "run", "--engine", "jit", str(hello))
    assert rc == 2
    assert_one_line_error(err, "unknown engine 'jit'; available: fast, interp")
    assert fake_linux_user == []


def test_bench_reports_mips_and_ratios(toy, capsys, fake_linux_user, hello):
    rc, out, err = run(
        capsys,
        "bench",
        "--engine=interp",
        "--engine=fast",
        "--repeat=3",
        "--json",
        "--",
        str(hello),
        "arg",
    )
    assert (rc, err) == (0, "")
    report = json.loads(out)
    assert report["guest"] == [str(hello), "arg"] and report["repeat"] == 3
    interp, fast = report["engines"]
    assert interp["engine"] == "interp" and fast["engine"] == "fast"
    assert interp["instructions"] == 1_000_000
    assert interp["median_seconds"] == pytest.approx(3.0)  # wall clock: no seconds reported
    assert fast["median_seconds"] == pytest.approx(0.5)
    assert fast["runs"][0]["wall_seconds"] == pytest.approx(1.5)
    assert interp["mips"] == pytest.approx(1 / 3)
    assert fast["mips"] == pytest.approx(2.0)
    assert (interp["ratio"], fast["ratio"]) == (pytest.approx(1.0), pytest.approx(6.0))
    assert fast["stats"] == {"translations": 12}
    assert len(fake_linux_user) == 6
    # stdout goes to /dev/null (an fd), stderr stays the host's
    assert all(isinstance(kw["stdout"], int) and "stderr" not in kw for _, kw in fake_linux_user)


def test_bench_table_and_stats(toy, capsys, fake_linux_user, hello):
    rc, out, _ = run(capsys, "bench", "--engine=interp", "--engine=fast", "--stats", str(hello))
    assert rc == 0
    lines = out.splitlines()
    assert lines[1].split() == ["engine", "instructions", "seconds", "MIPS", "vs", "interp"]
    assert lines[2].split() == ["interp", "1,000,000", "3.0000", "0.33", "1.00x"]
    assert lines[3].split() == ["fast", "1,000,000", "0.5000", "2.00", "6.00x"]
    assert "fast stats: translations=12" in out


def test_bench_fails_when_the_guest_fails(toy, capsys, fake_linux_user, hello):
    rc, _, err = run(capsys, "bench", "--engine=interp", "--repeat=1", str(hello), "fail")
    assert rc == 1
    assert "exited with status [3]" in err


def test_bench_needs_instruction_counts():
    def runner(argv, **kw):
        return 0

    with pytest.raises(click.ClickException, match=r"stats\['instructions'\]"):
        bench_engines(["x"], ["interp"], 1, runner=runner)


def test_bench_usage(toy, capsys):
    rc, _, err = run(capsys, "bench", "prog")
    assert rc == 2 and "Missing option '--engine'" in err


# -- the installed console script ---------------------------------------------------------


def vmctl(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([VMCTL, *argv], capture_output=True, text=True, timeout=120)


def test_console_script_plugins_json():
    proc = vmctl("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"plugins", "components", "failures"}
    assert set(data["components"]) == {"isa", "engine", "mmu", "device", "board"}
    kernel = data["plugins"][0]
    assert (kernel["distribution"], kernel["version"]) == ("vmcore", vmcore.__version__)
    (interp,) = [e for e in data["components"]["engine"] if e["name"] == "interp"]
    assert interp["distribution"] == "vmcore"
    assert interp["factory"] == "vmcore.engines.interp:InterpEngine"
    uart = [d for d in data["components"]["device"] if d["name"] == "uart16550"]
    assert uart and uart[0]["options"][:3] == ["base", "irq", "reg_shift"]


def test_console_script_errors_are_one_line_with_status_2():
    proc = vmctl("machine", "--isa", "no-such-isa")
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "unknown isa 'no-such-isa'; available:")
    proc = vmctl("--version")
    assert (proc.returncode, proc.stdout) == (0, f"vmctl, version {vmcore.__version__}\n")
