"""Build guest programs from ``guests/`` on demand, cached by content, for any test.

Binaries are never committed: a test asks for a source file and gets a path under
``guests/build/`` whose name carries a hash of the source, the compiler, its version and
the flags, so a changed source (or toolchain) rebuilds and an unchanged one is reused.
Builds are atomic (compile to a temporary name, then rename), so parallel test workers
may ask for the same program at once.

Also runs a binary under QEMU user mode, the reference the Linux user-mode tests compare
against.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

#: the repository's guests/ directory
GUESTS = Path(__file__).resolve().parents[2] / "guests"
BUILD = GUESTS / "build"

#: cross compilers and QEMU user-mode binaries per (arch, flavour)
TOOLCHAINS = {
    ("riscv64", "linux"): "riscv64-linux-gnu-gcc",
    ("riscv64", "elf"): "riscv64-unknown-elf-gcc",
    ("aarch64", "linux"): "aarch64-linux-gnu-gcc",
    ("aarch64", "elf"): "aarch64-none-elf-gcc",
}
QEMU_USER = {"riscv64": "qemu-riscv64", "aarch64": "qemu-aarch64"}
DEFAULT_LINUX_FLAGS = ("-static", "-O2")


class GuestBuildError(RuntimeError):
    """A guest program failed to compile (the message holds the compiler's output)."""


@functools.cache
def _compiler_id(cc: str) -> str:
    path = shutil.which(cc)
    if path is None:
        raise GuestBuildError(f"{cc} is not installed (Debian: apt install gcc-{cc[:-4]})")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else path


def build(
    source: str | os.PathLike,
    *,
    arch: str = "riscv64",
    flavour: str = "linux",
    flags: Sequence[str] = DEFAULT_LINUX_FLAGS,
    extra_sources: Sequence[str | os.PathLike] = (),
    cc: str | None = None,
    libs: Sequence[str] = (),
) -> Path:
    """Compile ``source`` (a path, relative ones under ``guests/``) and return the binary.

    ``libs`` (``-lm`` ...) go after the sources, where the linker needs them. The result is
    cached in ``guests/build/<arch>-<flavour>/<name>-<hash>``.
    """
    cc = cc or TOOLCHAINS[(arch, flavour)]
    sources = [_resolve(source), *(_resolve(s) for s in extra_sources)]
    h = hashlib.sha256()
    h.update(_compiler_id(cc).encode())
    h.update("\0".join([*flags, "--", *libs]).encode())
    for src in sources:
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    out_dir = BUILD / f"{arch}-{flavour}"
    out = out_dir / f"{sources[0].stem}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", dir=out_dir)
    os.close(fd)
    try:
        res = subprocess.run(
            [cc, *flags, "-o", tmp, *map(str, sources), *libs],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise GuestBuildError(f"{cc} failed on {sources[0]}:\n{res.stderr}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def build_linux(
    name: str, arch: str = "riscv64", flags: Sequence[str] = DEFAULT_LINUX_FLAGS
) -> Path:
    """A program of ``guests/<arch>/linux/<name>`` (``.c`` added if missing), static."""
    if not os.path.splitext(name)[1]:
        name += ".c"
    return build(GUESTS / arch / "linux" / name, arch=arch, flavour="linux", flags=flags)


def _resolve(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = GUESTS / p
    if not p.is_file():
        raise GuestBuildError(f"no such guest source: {path}")
    return p.resolve()


@attrs.define(frozen=True)
class Result:
    status: int  #: exit status; 128 + signal when a signal killed the program
    stdout: bytes
    stderr: bytes


def run_qemu(
    binary: str | os.PathLike,
    args: Sequence[str] = (),
    *,
    arch: str = "riscv64",
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
    cwd: str | os.PathLike | None = None,
    timeout: float = 120,
) -> Result:
    """Run ``binary`` under QEMU user mode (the reference for differential tests)."""
    qemu = shutil.which(QEMU_USER[arch])
    if qemu is None:
        raise GuestBuildError(f"{QEMU_USER[arch]} is not installed (Debian: apt install qemu-user)")
    res = subprocess.run(
        [qemu, str(binary), *args],
        input=stdin,
        capture_output=True,
        env=env if env is not None else {},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    status = res.returncode if res.returncode >= 0 else 128 - res.returncode
    return Result(status, res.stdout, res.stderr)
