"""One Linux process on a machine: memory layout, ELF loading, the initial stack, traps.

Layout (all inside one sparse RAM region; page 0..0xffff stays unmapped so NULL faults)::

    RAM_BASE (0x10000)  .. program (ET_EXEC at its link address, static-pie at PIE_BASE)
    after the program   .. brk heap, growing up
    ... free ...        <- mmap allocations, top-down from below the stack
    stack (8 MiB)       .. ends at the top of RAM, strings and auxv at its top

The syscall trap of the ISA (``LinuxAbi.ecall_cause``) is intercepted with a
``machine.trap_hooks`` entry and dispatched to :mod:`vmcore.linux_user.syscalls`; any other
trap is a fatal signal: a one-line report on stderr and exit status 128 + signal.
"""

from __future__ import annotations

import io
import os
import signal as _signal
import struct
import sys
from typing import TYPE_CHECKING, Any

from vmcore.components import ConfigError
from vmcore.ir import GuestTrap, mask
from vmcore.linux_user.elf import PF_R, PF_W, PF_X, ElfError, ElfImage
from vmcore.linux_user.files import FdTable, HostFile, OpenFlags, Paths, StreamFile
from vmcore.linux_user.mm import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    AddressSpace,
    UserMmu,
    page_down,
    page_up,
)
from vmcore.machine import Machine
from vmcore.memory import BusError

if TYPE_CHECKING:
    from vmcore.cpu import Cpu
    from vmcore.isa import Isa, LinuxAbi

RAM_BASE = 0x10000
#: default top of user memory (4 GiB of guest address space, a sparse host mapping)
RAM_TOP = 0x1_0000_0000
PIE_BASE = 0x4000_0000
STACK_SIZE = 8 << 20
#: free space kept between the stack and the mmap area (the stack's guard and growth)
STACK_GAP = 16 << 20
PAGE = 4096

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE = 0, 3, 4, 5, 6, 7
AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID = 8, 9, 11, 12, 13, 14
AT_PLATFORM, AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = (
    15,
    16,
    17,
    23,
    25,
    26,
    31,
)

SIGNAL_NAMES = {s.value: s.name for s in _signal.Signals if not s.name.startswith("SIG_")}


def signal_name(sig: int) -> str:
    return SIGNAL_NAMES.get(sig, f"signal {sig}")


def _prot_of(flags: int) -> int:
    return (
        (PROT_READ if flags & PF_R else 0)
        | (PROT_WRITE if flags & PF_W else 0)
        | (PROT_EXEC if flags & PF_X else 0)
    )


class Process:
    """The Linux personality of a machine running one single-threaded program.

    :param machine: a machine whose bus is still empty (we map the RAM).
    :param image: the parsed executable.
    :param argv: the guest's argv (argv[0] as the guest should see it).
    :param exe: host path of the executable (``/proc/self/exe``, AT_EXECFN).
    """

    def __init__(
        self,
        machine: Machine,
        image: ElfImage,
        argv: list[str],
        env: dict[str, str] | list[str],
        *,
        exe: str,
        strace: bool = False,
        sysroot: str | os.PathLike | None = None,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        ram_top: int = RAM_TOP,
        random_bytes: bytes | None = None,
    ) -> None:
        isa = machine.isa
        if isa.linux is None:
            raise ElfError(f"ISA {isa.name!r} has no Linux user-mode ABI (Isa.linux)")
        self.machine = machine
        self.isa: Isa = isa
        self.abi: LinuxAbi = isa.linux
        self.cpu: Cpu = machine.cpus[0]
        self.image = image
        self.argv = list(argv)
        self.env = [f"{k}={v}" for k, v in env.items()] if isinstance(env, dict) else list(env)
        self.exe = os.path.abspath(exe)
        self.strace = strace
        #: where vmctl's own messages (strace, fatal signals) go
        self.log = stderr if stderr is not None else sys.stderr
        self.exit_status: int | None = None
        self.killed_by: int | None = None
        self.pid = os.getpid()
        self.umask = 0o022
        self.sigactions: dict[int, bytes] = {}
        self.sigmask = 0
        self.rlimits: dict[int, tuple[int, int]] = {}
        self.clear_child_tid = 0
        self.comm: bytes | None = None  #: prctl(PR_SET_NAME)
        self.altstack: bytes | None = None  #: sigaltstack, recorded
        #: a signal a syscall raised against the process itself, delivered after it returns
        self.pending_signal: int | None = None
        self.open_flags = OpenFlags(self.abi.open_flags)
        self.paths = Paths(sysroot)
        self.fds = FdTable()
        self._saved_tty: dict[int, list] = {}
        self._setup_stdio(stdin, stdout, stderr)

        self.ram = machine.bus.add_ram(RAM_BASE, ram_top - RAM_BASE, "user")
        self.mm = AddressSpace(machine.bus, self.ram)
        for cpu in machine.cpus:
            if isinstance(cpu.mmu, UserMmu):
                cpu.mmu.space = self.mm
        self.load_bias = 0
        self._load(image)
        self.stack_top = ram_top
        self.mm.map(
            ram_top - STACK_SIZE,
            STACK_SIZE,
            PROT_READ | PROT_WRITE | (PROT_EXEC if image.stack_flags & PF_X else 0),
        )
        self.mm.mmap_top = ram_top - STACK_SIZE - STACK_GAP
        self.random_bytes = random_bytes if random_bytes is not None else os.urandom(16)
        self.sp = self._build_stack()
        self.entry = image.entry + self.load_bias

        machine.trap_hooks.append(self.on_trap)
        machine.reset(self.entry)
        cpu = self.cpu
        for slot, value in self.abi.initial.items():
            cpu.s[slot] = value & mask(64)
        cpu.s[self.abi.sp] = self.sp
        cpu.pc = self.entry

        from vmcore.linux_user import syscalls

        self.syscalls = syscalls
        self.syscall_count = 0

    # -- setup --------------------------------------------------------------------------------

    def _setup_stdio(self, stdin: Any, stdout: Any, stderr: Any) -> None:
        for fd, stream, flags in ((0, stdin, 0), (1, stdout, 1), (2, stderr, 1)):
            if stream is None:
                stream = _host_stream(fd)
            if stream is None or isinstance(stream, int):
                host = fd if stream is None else stream
                try:
                    os.fstat(host)
                except OSError:
                    continue  # closed in the host too
                f = HostFile(host, flags, f"/dev/fd/{fd}", owned=False)
                self._save_tty(host)
            else:
                f = StreamFile(stream, flags, f"/dev/fd/{fd}")
            self.fds.add(f, fd=fd)

    def _save_tty(self, fd: int) -> None:
        """Remember a terminal's settings: the guest may change them (raw mode), and we
        put them back however the run ends."""
        if fd in self._saved_tty or not os.isatty(fd):
            return
        import termios

        try:
            self._saved_tty[fd] = termios.tcgetattr(fd)
        except termios.error:
            pass

    def _load(self, image: ElfImage) -> None:
        ram_lo, ram_hi = self.ram.base, self.ram.end
        if image.is_pie:
            align = max([PAGE, *(s.align for s in image.segments if s.align)])
            self.load_bias = (PIE_BASE - image.low + align - 1) // align * align
        lo, hi = image.low + self.load_bias, image.high + self.load_bias
        if lo < ram_lo or hi > ram_hi - STACK_SIZE - STACK_GAP:
            raise ElfError(
                f"program segments {lo:#x}..{hi:#x} are out of range: user memory is "
                f"{ram_lo:#x}..{ram_hi - STACK_SIZE - STACK_GAP:#x}"
            )
        bus = self.machine.bus
        for seg in image.segments:
            start = page_down(seg.vaddr + self.load_bias)
            end = page_up(seg.vaddr + self.load_bias + seg.memsz)
            # segments may share a page: union the permissions, never re-zero it
            for page in range(start, end, PAGE):
                old = self.mm.prot_at(page)
                prot = _prot_of(seg.flags) | (old if old > 0 else 0)
                self.mm.map(page, PAGE, prot, zero=False)
            data = image.segment_bytes(seg)
            if data:
                bus.write_bytes(seg.vaddr + self.load_bias, data, force=True)
        self.mm.brk_start = self.mm.brk = page_up(hi)

    def _build_stack(self) -> int:
        """Lay out argv, envp and auxv below the stack top exactly as Linux's
        ``create_elf_tables`` does; returns the initial sp (16-byte aligned, at argc)."""
        bus = self.machine.bus
        p = self.stack_top - 16  # a little headroom, as the kernel leaves below the top

        def push_bytes(data: bytes) -> int:
            nonlocal p
            p -= len(data)
            bus.write_bytes(p, data)
            return p

        strings = [os.fsencode(x) + b"\0" for x in (*self.argv, *self.env)]
        if sum(map(len, strings)) + 8 * len(strings) > STACK_SIZE // 4:
            raise ConfigError(
                f"argument list too long: argv and environment exceed {STACK_SIZE // 4} bytes"
            )
        execfn = push_bytes(os.fsencode(self.exe) + b"\0")
        env_ptrs = [push_bytes(e) for e in reversed(strings[len(self.argv) :])][::-1]
        arg_ptrs = [push_bytes(a) for a in reversed(strings[: len(self.argv)])][::-1]
        p &= ~15
        platform = 0
        if self.abi.platform:
            platform = push_bytes(self.abi.platform.encode() + b"\0")
        p &= ~15
        rand = push_bytes(self.random_bytes[:16].ljust(16, b"\0"))
        image = self.image
        phdr = image.phdr_vaddr + self.load_bias if image.phdr_vaddr else 0
        aux = [
            (AT_HWCAP, self.abi.hwcap),
            (AT_PAGESZ, PAGE),
            (AT_CLKTCK, 100),
            (AT_PHDR, phdr),
            (AT_PHENT, image.phentsize),
            (AT_PHNUM, image.phnum),
            (AT_BASE, 0),
            (AT_FLAGS, 0),
            (AT_ENTRY, image.entry + self.load_bias),
            (AT_UID, os.getuid()),
            (AT_EUID, os.geteuid()),
            (AT_GID, os.getgid()),
            (AT_EGID, os.getegid()),
            (AT_SECURE, 0),
            (AT_RANDOM, rand),
            (AT_EXECFN, execfn),
        ]
        if platform:
            aux.append((AT_PLATFORM, platform))
        aux.append((AT_NULL, 0))
        self.auxv = dict(aux)
        self.auxv_list = aux
        words = [len(self.argv), *arg_ptrs, 0, *env_ptrs, 0]
        for k, v in aux:
            words += [k, v]
        sp = (p - 8 * len(words)) & ~15
        bus.write_bytes(sp, struct.pack(f"<{len(words)}Q", *(w & mask(64) for w in words)))
        return sp

    # -- running ------------------------------------------------------------------------------

    def on_trap(self, cpu: Cpu, trap: GuestTrap, pc: int) -> int | None:
        """``machine.trap_hooks`` entry: syscalls and fatal signals; interrupts pass."""
        if trap.info == "interrupt":
            return None
        if trap.cause == self.abi.ecall_cause:
            self.syscalls.dispatch(self, cpu)
            return (pc + self.abi.syscall_insn_len) & mask(64)
        sig = self.abi.signals.get(trap.cause)
        if sig is None:  # a cause the ABI does not name: say so, it is likely an ISA bug
            sig = _signal.SIGSEGV
            detail = f" (trap cause {trap.cause}, tval {trap.tval & mask(64):#x})"
        elif sig in (_signal.SIGSEGV, _signal.SIGBUS):
            detail = f" (addr {trap.tval & mask(64):#x})"
        elif sig == _signal.SIGILL and trap.tval:
            detail = f" (insn {trap.tval & mask(64):#x})"
        else:
            detail = ""
        self.kill(int(sig), f" at pc {pc:#x}{detail}")
        return pc

    def kill(self, sig: int, detail: str = "") -> None:
        """Die of ``sig``: report it, exit status 128 + sig."""
        self.message(f"guest killed by {signal_name(sig)}{detail}")
        if self.strace:
            self.trace_line(f"+++ killed by {signal_name(sig)} +++")
        self.killed_by = sig
        self.exit(128 + sig, traced=False)

    def exit(self, status: int, traced: bool = True) -> None:
        if self.exit_status is None:
            self.exit_status = status
            if traced and self.strace:
                self.trace_line(f"+++ exited with {status} +++")
        self.machine.halt(self.exit_status)

    def message(self, text: str) -> None:
        self._log_write(f"vmctl: {text}\n")

    def trace_line(self, text: str) -> None:
        self._log_write(text + "\n")

    def _log_write(self, text: str) -> None:
        log = self.log
        try:
            if isinstance(log, int):
                os.write(log, text.encode())
                return
            if isinstance(log, io.TextIOBase):
                log.write(text)
            else:
                try:
                    log.write(text.encode())
                except TypeError:  # a text stream that is no TextIOBase
                    log.write(text)
            log.flush()
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Give back host resources: the guest's fds and the terminal's settings."""
        self.fds.close_all()
        self.restore_terminal()

    def restore_terminal(self) -> None:
        if not self._saved_tty:
            return
        import termios

        for fd, attrs_ in self._saved_tty.items():
            try:
                termios.tcsetattr(fd, termios.TCSADRAIN, attrs_)
            except Exception:
                pass

    # -- guest memory for syscalls ------------------------------------------------------------

    def read_mem(self, addr: int, n: int) -> bytes:
        if n and not self.mm.accessible(addr, n, PROT_READ):
            raise Fault(addr)
        try:
            return self.machine.bus.read_bytes(addr, n)
        except BusError:
            raise Fault(addr) from None

    def write_mem(self, addr: int, data: bytes) -> None:
        if data and not self.mm.accessible(addr, len(data), PROT_WRITE):
            raise Fault(addr)
        try:
            self.machine.bus.write_bytes(addr, data)
        except BusError:
            raise Fault(addr) from None

    def read_cstr(self, addr: int, limit: int = 4096) -> bytes:
        out = bytearray()
        while len(out) < limit:
            room = min(PAGE - (addr & (PAGE - 1)), limit - len(out))
            chunk = self.read_mem(addr, room)
            nul = chunk.find(0)
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
            addr += room
        raise OSError(36, "name too long")  # ENAMETOOLONG

    def read_u64(self, addr: int) -> int:
        return struct.unpack("<Q", self.read_mem(addr, 8))[0]

    def write_u64(self, addr: int, value: int) -> None:
        self.write_mem(addr, struct.pack("<Q", value & mask(64)))


def _host_stream(fd: int) -> Any:
    """The default for guest fd 0/1/2: the host's own fd (so a terminal stays a terminal)
    unless Python's sys.stdin/stdout/stderr has been redirected (click's CliRunner,
    pytest's capture), in which case that stream."""
    stream = (sys.stdin, sys.stdout, sys.stderr)[fd]
    try:
        if stream is None or stream.fileno() == fd:
            return None
    except (AttributeError, ValueError, OSError):
        pass
    return stream


class Fault(Exception):
    """A syscall argument points at memory the guest cannot access (EFAULT)."""

    def __init__(self, addr: int) -> None:
        super().__init__(f"bad address {addr:#x}")
        self.addr = addr
