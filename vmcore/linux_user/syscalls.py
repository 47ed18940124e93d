"""Linux system calls, table-driven: number -> handler, in the asm-generic numbering that
riscv64 and aarch64 share (include/uapi/asm-generic/unistd.h).

A handler is ``fn(process, *args) -> int`` taking as many raw 64-bit arguments as its
``args`` spec names. It returns the result or raises: ``OSError`` becomes ``-errno``,
:class:`~vmcore.linux_user.process.Fault` becomes ``-EFAULT``; an unknown number is
``-ENOSYS``. The ``args``/``ret`` specs also drive ``--strace`` formatting.
"""

from __future__ import annotations

import errno
import os
import resource
import stat as _stat
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from vmcore.ir import mask
from vmcore.linux_user import structs
from vmcore.linux_user.files import AT_FDCWD, MAX_FDS, HostFile, MemFile, OpenFile
from vmcore.linux_user.mm import PROT_EXEC, PROT_READ, PROT_WRITE, page_up
from vmcore.linux_user.process import Fault, signal_name

if TYPE_CHECKING:
    from vmcore.cpu import Cpu
    from vmcore.linux_user.process import Process

M64 = mask(64)
RLIM_INFINITY = M64
MAX_IO = 1 << 24  # longest single read/write (Linux caps at 0x7ffff000)

AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_EMPTY_PATH = 0x1000

MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MADV_DONTNEED = 4

SIG_DFL, SIG_IGN = 0, 1
SIGPIPE = 13
#: signals whose default action is to do nothing
DEFAULT_IGNORED = {17, 18, 23, 28}  # SIGCHLD, SIGCONT, SIGURG, SIGWINCH


def i32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def i64(x: int) -> int:
    x &= M64
    return x - (1 << 64) if x >> 63 else x


@attrs.define(frozen=True)
class Syscall:
    nr: int
    name: str
    fn: Callable[..., int]
    args: tuple[str, ...]
    ret: str = "d"  #: "d" decimal, "x" hex (addresses), "noreturn"


#: the system call table: number -> :class:`Syscall`
TABLE: dict[int, Syscall] = {}


def syscall(nr: int, name: str, args: str = "", ret: str = "d"):
    """Register a handler under ``nr``. ``args`` lists the argument kinds (see
    :func:`format_arg`), space separated; the handler receives that many arguments."""

    def register(fn: Callable[..., int]) -> Callable[..., int]:
        if nr in TABLE:
            raise ValueError(f"syscall {nr} registered twice ({TABLE[nr].name}, {name})")
        TABLE[nr] = Syscall(nr, name, fn, tuple(args.split()), ret)
        return fn

    return register


# -- dispatch -----------------------------------------------------------------------------------


def dispatch(p: Process, cpu: Cpu) -> None:
    """Run the system call the guest asked for and write its result register."""
    abi = p.abi
    s = cpu.s
    nr = s[abi.syscall_nr]
    args = [s[slot] for slot in abi.args]
    sc = TABLE.get(nr)
    p.syscall_count += 1
    p.pending_signal = None
    if sc is None:
        ret = -errno.ENOSYS
    else:
        try:
            ret = sc.fn(p, *args[: len(sc.args)])
        except OSError as exc:
            ret = -(exc.errno or errno.EIO)
        except Fault:
            ret = -errno.EFAULT
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a bug of ours: the guest gets an error, not a crash
            p.message(f"internal error in syscall {sc.name}: {type(exc).__name__}: {exc}")
            ret = -errno.EIO
    if p.strace:
        p.trace_line(strace_line(p, nr, sc, args, ret))
    s[abi.result] = ret & M64
    if p.pending_signal is not None:
        p.kill(p.pending_signal)
    elif sc is not None and sc.ret == "noreturn" and p.exit_status is not None and p.strace:
        p.trace_line(f"+++ exited with {p.exit_status} +++")


# -- strace ----------------------------------------------------------------------------------


def strace_line(p: Process, nr: int, sc: Syscall | None, args: list[int], ret: int) -> str:
    if sc is None:
        return f"syscall_{nr:#x}({', '.join(hex(a) for a in args)}) = {format_ret(ret, 'd')}"
    shown = [format_arg(p, kind, args, i, ret) for i, kind in enumerate(sc.args)]
    shown = [a for a in shown if a is not None]
    return f"{sc.name}({', '.join(shown)}) = {format_ret(ret, sc.ret)}"


def format_ret(ret: int, kind: str) -> str:
    if kind == "noreturn":
        return "?"
    if -4096 < ret < 0:
        name = errno.errorcode.get(-ret, str(-ret))
        return f"-1 {name} ({os.strerror(-ret)})"
    return hex(ret) if kind == "x" else str(ret)


def _quote(data: bytes, limit: int = 32) -> str:
    out = []
    for b in data[:limit]:
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\{b:o}")
    return '"' + "".join(out) + '"' + ("..." if len(data) > limit else "")


_FLAG_NAMES = {
    "prot": [(PROT_READ, "PROT_READ"), (PROT_WRITE, "PROT_WRITE"), (PROT_EXEC, "PROT_EXEC")],
    "mflags": [
        (MAP_SHARED, "MAP_SHARED"),
        (MAP_PRIVATE, "MAP_PRIVATE"),
        (MAP_FIXED, "MAP_FIXED"),
        (MAP_ANONYMOUS, "MAP_ANONYMOUS"),
        (0x100, "MAP_GROWSDOWN"),
        (0x4000, "MAP_NORESERVE"),
        (0x8000, "MAP_POPULATE"),
        (0x20000, "MAP_STACK"),
        (MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"),
    ],
    "atflags": [
        (AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"),
        (AT_REMOVEDIR, "AT_REMOVEDIR"),
        (AT_EMPTY_PATH, "AT_EMPTY_PATH"),
        (0x800, "AT_NO_AUTOMOUNT"),
    ],
}
_ENUMS = {
    "clock": {
        0: "CLOCK_REALTIME",
        1: "CLOCK_MONOTONIC",
        2: "CLOCK_PROCESS_CPUTIME_ID",
        3: "CLOCK_THREAD_CPUTIME_ID",
        4: "CLOCK_MONOTONIC_RAW",
        5: "CLOCK_REALTIME_COARSE",
        6: "CLOCK_MONOTONIC_COARSE",
        7: "CLOCK_BOOTTIME",
    },
    "whence": {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"},
    "fcntl": {
        0: "F_DUPFD",
        1: "F_GETFD",
        2: "F_SETFD",
        3: "F_GETFL",
        4: "F_SETFL",
        5: "F_GETLK",
        6: "F_SETLK",
        7: "F_SETLKW",
        1030: "F_DUPFD_CLOEXEC",
    },
    "ioctl": {
        0x5401: "TCGETS",
        0x5402: "TCSETS",
        0x5403: "TCSETSW",
        0x5404: "TCSETSF",
        0x5413: "TIOCGWINSZ",
        0x540F: "TIOCGPGRP",
        0x541B: "FIONREAD",
    },
    "rlimit": {
        0: "RLIMIT_CPU",
        1: "RLIMIT_FSIZE",
        2: "RLIMIT_DATA",
        3: "RLIMIT_STACK",
        4: "RLIMIT_CORE",
        5: "RLIMIT_RSS",
        6: "RLIMIT_NPROC",
        7: "RLIMIT_NOFILE",
        8: "RLIMIT_MEMLOCK",
        9: "RLIMIT_AS",
    },
    "sighow": {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"},
}


def _flags(kind: str, value: int, zero: str = "0") -> str:
    parts, left = [], value
    for bit, name in _FLAG_NAMES[kind]:
        if value & bit == bit and bit:
            parts.append(name)
            left &= ~bit
    if left:
        parts.append(hex(left))
    return "|".join(parts) or zero


def format_arg(p: Process, kind: str, args: list[int], i: int, ret: int) -> str | None:
    """One argument as strace shows it. Kinds: fd dirfd int long u x ptr path mode oflags
    prot mflags atflags sig clock whence fcntl ioctl rlimit sighow, ``wbuf:N`` (guest data,
    length in argument N), ``rbuf`` (data the call returned, length = result) and
    ``cmode:N`` (a mode shown only if the open flags in argument N create a file; None
    means the argument is left out)."""
    v = args[i]
    base, _, ref = kind.partition(":")
    try:
        if base in ("fd", "int"):
            return str(i32(v))
        if base == "dirfd":
            return "AT_FDCWD" if i32(v) == AT_FDCWD else str(i32(v))
        if base == "long":
            return str(i64(v))
        if base == "u":
            return str(v)
        if base == "x":
            return hex(v)
        if base == "ptr":
            return "NULL" if v == 0 else hex(v)
        if base == "mode":
            return f"0{v & 0o7777:o}"
        if base == "cmode":  # open's mode: shown only with O_CREAT/O_TMPFILE, as strace does
            fl = args[int(ref)]
            g = p.open_flags.guest
            if not (fl & g["O_CREAT"] or fl & g["O_TMPFILE"] == g["O_TMPFILE"]):
                return None
            return f"0{v & 0o7777:o}"
        if base == "path":
            return "NULL" if v == 0 else _quote(p.read_cstr(v), 4096)
        if base == "oflags":
            return p.open_flags.names(v)
        if base == "prot":
            return _flags("prot", v, "PROT_NONE")
        if base in ("mflags", "atflags"):
            return _flags(base, v)
        if base == "sig":
            return signal_name(i32(v)) if i32(v) else "0"
        if base in _ENUMS:
            return _ENUMS[base].get(i32(v), str(i32(v)) if base != "ioctl" else hex(v))
        if base == "wbuf":
            return _quote(p.read_mem(v, min(args[int(ref)], 4096)))
        if base == "rbuf":
            return _quote(p.read_mem(v, min(ret, 4096))) if ret > 0 else hex(v)
    except (Fault, OSError):
        return hex(v)
    return hex(v)


# -- helpers ---------------------------------------------------------------------------------


def _dir_base(p: Process, dirfd: int, path: str) -> str | None:
    """The guest directory a relative path of an ``*at`` call is resolved against."""
    if path.startswith("/") or i32(dirfd) == AT_FDCWD:
        return None
    f = p.fds.get(i32(dirfd))
    if not f.is_dir:
        raise OSError(errno.ENOTDIR, "not a directory")
    return f.path


def _path(p: Process, addr: int) -> str:
    if addr == 0:
        raise Fault(0)
    return os.fsdecode(p.read_cstr(addr))


def _host_path(p: Process, dirfd: int, addr: int, follow: bool = True) -> str:
    path = _path(p, addr)
    if path == "/proc/self/exe" and follow:
        return p.exe
    return p.paths.host(path, _dir_base(p, dirfd, path), follow)


def _guest_name(p: Process, dirfd: int, path: str) -> str:
    return p.paths.guest_abs(path, _dir_base(p, dirfd, path))


def _stat_path(p: Process, dirfd: int, addr: int, flags: int) -> os.stat_result:
    path = _path(p, addr) if addr else ""
    if path == "" and flags & AT_EMPTY_PATH:
        if i32(dirfd) == AT_FDCWD:
            return os.stat(p.paths.host("."))
        return p.fds.get(i32(dirfd)).stat()
    follow = not flags & AT_SYMLINK_NOFOLLOW
    host = (
        p.exe
        if path == "/proc/self/exe" and follow
        else p.paths.host(path, _dir_base(p, dirfd, path), follow)
    )
    return os.stat(host, follow_symlinks=follow)


# -- /proc ------------------------------------------------------------------------------------


def proc_file(p: Process, guest_path: str) -> bytes | None:
    """Contents of the /proc/self files a process reads about itself (its own view, not
    the emulator's), or None for any other path."""
    path = os.path.normpath(guest_path)
    for prefix in ("/proc/self/", f"/proc/{p.pid}/", "/proc/thread-self/"):
        if path.startswith(prefix):
            name = path[len(prefix) :]
            break
    else:
        return None
    if name == "maps":
        lines = []
        for start, end, prot in p.mm.regions():
            perms = "".join(c if prot & b else "-" for b, c in ((1, "r"), (2, "w"), (4, "x")))
            what = ""
            if start <= p.stack_top - 1 < end:
                what = "[stack]"
            elif start >= p.mm.brk_start and end <= page_up(p.mm.brk) and p.mm.brk_start:
                what = "[heap]"
            elif any(
                start < s.vaddr + p.load_bias + s.memsz and s.vaddr + p.load_bias < end
                for s in p.image.segments
            ):
                what = p.exe
            lines.append(
                f"{start:08x}-{end:08x} {perms}p 00000000 00:00 0"
                + (f"{'':19}{what}" if what else "")
            )
        return ("\n".join(lines) + "\n").encode()
    if name == "cmdline":
        return b"".join(os.fsencode(a) + b"\0" for a in p.argv)
    if name == "environ":
        return b"".join(os.fsencode(e) + b"\0" for e in p.env)
    if name == "auxv":
        return b"".join(struct.pack("<QQ", k, v & M64) for k, v in p.auxv_list)
    if name == "comm":
        return (p.comm or os.fsencode(os.path.basename(p.exe))[:15]) + b"\n"
    return None


# -- files ------------------------------------------------------------------------------------


@syscall(56, "openat", "dirfd path oflags cmode:2")
def sys_openat(p: Process, dirfd: int, path_addr: int, flags: int, mode: int) -> int:
    flags &= 0xFFFFFFFF
    path = _path(p, path_addr)
    special = proc_file(p, _guest_name(p, dirfd, path))
    if special is not None:
        if flags & 3:
            raise OSError(errno.EACCES, "read-only file")
        return p.fds.add(
            MemFile(special, flags, path), cloexec=bool(flags & p.open_flags.guest["O_CLOEXEC"])
        )
    nofollow = bool(flags & p.open_flags.guest["O_NOFOLLOW"])
    host = (
        p.exe
        if path == "/proc/self/exe"
        else p.paths.host(path, _dir_base(p, dirfd, path), follow=not nofollow)
    )
    hflags = p.open_flags.to_host(flags) | os.O_CLOEXEC
    fd = os.open(host, hflags, mode & 0o7777 & ~p.umask)
    f = HostFile(fd, flags, p.paths.guest_of_host(host) if p.paths.root else host)
    try:
        return p.fds.add(f, cloexec=bool(flags & p.open_flags.guest["O_CLOEXEC"]))
    except OSError:
        f.close()
        raise


@syscall(57, "close", "fd")
def sys_close(p: Process, fd: int) -> int:
    p.fds.close(i32(fd))
    return 0


@syscall(63, "read", "fd rbuf u")
def sys_read(p: Process, fd: int, buf: int, count: int) -> int:
    f = p.fds.get(i32(fd))
    count = min(count, MAX_IO)
    if not p.mm.accessible(buf, count, PROT_WRITE):
        raise Fault(buf)
    data = f.read(count)
    p.write_mem(buf, data)
    return len(data)


def _write(p: Process, f: OpenFile, data: bytes) -> int:
    try:
        return f.write(data)
    except BrokenPipeError:
        handler = p.sigactions.get(SIGPIPE, b"\0" * 8)[:8]
        if int.from_bytes(handler, "little") == SIG_DFL:
            p.pending_signal = SIGPIPE
        raise


@syscall(64, "write", "fd wbuf:2 u")
def sys_write(p: Process, fd: int, buf: int, count: int) -> int:
    f = p.fds.get(i32(fd))
    return _write(p, f, p.read_mem(buf, min(count, MAX_IO)))


def _iovecs(p: Process, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    if i32(iovcnt) < 0 or iovcnt > 1024:
        raise OSError(errno.EINVAL, "bad iovcnt")
    raw = p.read_mem(iov, 16 * iovcnt)
    return [struct.unpack_from("<QQ", raw, 16 * k) for k in range(iovcnt)]


@syscall(66, "writev", "fd ptr int")
def sys_writev(p: Process, fd: int, iov: int, iovcnt: int) -> int:
    f = p.fds.get(i32(fd))
    data = b"".join(p.read_mem(base, length) for base, length in _iovecs(p, iov, iovcnt))
    return _write(p, f, data) if data else 0


@syscall(65, "readv", "fd ptr int")
def sys_readv(p: Process, fd: int, iov: int, iovcnt: int) -> int:
    f = p.fds.get(i32(fd))
    vecs = _iovecs(p, iov, iovcnt)
    for base, length in vecs:
        if not p.mm.accessible(base, length, PROT_WRITE):
            raise Fault(base)
    data = f.read(min(sum(n for _, n in vecs), MAX_IO))
    pos = 0
    for base, length in vecs:
        chunk = data[pos : pos + length]
        p.write_mem(base, chunk)
        pos += len(chunk)
    return len(data)


def _host_fd(f: OpenFile) -> int:
    if f.host_fd is None:
        raise OSError(errno.ESPIPE, "illegal seek")
    return f.host_fd


@syscall(67, "pread64", "fd rbuf u long")
def sys_pread64(p: Process, fd: int, buf: int, count: int, off: int) -> int:
    f = p.fds.get(i32(fd))
    if not p.mm.accessible(buf, min(count, MAX_IO), PROT_WRITE):
        raise Fault(buf)
    if i64(off) < 0:
        raise OSError(errno.EINVAL, "negative offset")
    data = f.pread(min(count, MAX_IO), i64(off))
    p.write_mem(buf, data)
    return len(data)


@syscall(68, "pwrite64", "fd wbuf:2 u long")
def sys_pwrite64(p: Process, fd: int, buf: int, count: int, off: int) -> int:
    f = p.fds.get(i32(fd))
    return os.pwrite(_host_fd(f), p.read_mem(buf, min(count, MAX_IO)), i64(off))


@syscall(62, "lseek", "fd long whence")
def sys_lseek(p: Process, fd: int, off: int, whence: int) -> int:
    f = p.fds.get(i32(fd))
    if isinstance(f, HostFile) and f.is_dir:
        if i64(off) == 0 and whence == 0:
            f.dir_entries, f.dir_pos = None, 0
            return 0
        raise OSError(errno.EINVAL, "seek in a directory")
    if whence > 4:
        raise OSError(errno.EINVAL, "bad whence")
    return f.seek(i64(off), whence)


@syscall(80, "fstat", "fd ptr")
def sys_fstat(p: Process, fd: int, buf: int) -> int:
    p.write_mem(buf, structs.pack_stat(p.fds.get(i32(fd)).stat()))
    return 0


@syscall(79, "newfstatat", "dirfd path ptr atflags")
def sys_newfstatat(p: Process, dirfd: int, path: int, buf: int, flags: int) -> int:
    p.write_mem(buf, structs.pack_stat(_stat_path(p, dirfd, path, flags)))
    return 0


@syscall(291, "statx", "dirfd path atflags x ptr")
def sys_statx(p: Process, dirfd: int, path: int, flags: int, mask_: int, buf: int) -> int:
    p.write_mem(buf, structs.pack_statx(_stat_path(p, dirfd, path, flags)))
    return 0


@syscall(78, "readlinkat", "dirfd path ptr u")
def sys_readlinkat(p: Process, dirfd: int, path_addr: int, buf: int, size: int) -> int:
    path = _path(p, path_addr)
    if i32(size) <= 0:
        raise OSError(errno.EINVAL, "bad size")
    if path == "/proc/self/exe":
        target = p.exe
    elif path.startswith("/proc/self/fd/") and path[14:].isdigit():
        target = p.fds.get(int(path[14:])).path
    else:
        target = os.readlink(p.paths.host(path, _dir_base(p, dirfd, path), follow=False))
    data = os.fsencode(target)[:size]
    p.write_mem(buf, data)
    return len(data)


@syscall(48, "faccessat", "dirfd path int")
def sys_faccessat(p: Process, dirfd: int, path: int, mode: int) -> int:
    return sys_faccessat2(p, dirfd, path, mode, 0)


@syscall(439, "faccessat2", "dirfd path int atflags")
def sys_faccessat2(p: Process, dirfd: int, path_addr: int, mode: int, flags: int) -> int:
    follow = not flags & AT_SYMLINK_NOFOLLOW
    host = _host_path(p, dirfd, path_addr, follow)
    os.stat(host, follow_symlinks=follow)  # ENOENT, ENOTDIR ...
    if mode & 7 and not os.access(host, mode & 7):
        raise OSError(errno.EACCES, "permission denied")
    return 0


@syscall(17, "getcwd", "ptr u")
def sys_getcwd(p: Process, buf: int, size: int) -> int:
    data = os.fsencode(p.paths.cwd) + b"\0"
    if len(data) > size:
        raise OSError(errno.ERANGE, "buffer too small")
    p.write_mem(buf, data)
    return len(data)


def _set_cwd(p: Process, host: str, guest: str) -> int:
    if not _stat.S_ISDIR(os.stat(host).st_mode):
        raise OSError(errno.ENOTDIR, "not a directory")
    if not os.access(host, os.X_OK):
        raise OSError(errno.EACCES, "permission denied")
    p.paths.cwd = p.paths.resolve(guest) if p.paths.root else os.path.normpath(host)
    return 0


@syscall(49, "chdir", "path")
def sys_chdir(p: Process, path_addr: int) -> int:
    path = _path(p, path_addr)
    return _set_cwd(p, p.paths.host(path), p.paths.guest_abs(path))


@syscall(50, "fchdir", "fd")
def sys_fchdir(p: Process, fd: int) -> int:
    f = p.fds.get(i32(fd))
    if not f.is_dir:
        raise OSError(errno.ENOTDIR, "not a directory")
    return _set_cwd(p, p.paths.host(f.path), f.path)


@syscall(35, "unlinkat", "dirfd path atflags")
def sys_unlinkat(p: Process, dirfd: int, path: int, flags: int) -> int:
    host = _host_path(p, dirfd, path, follow=False)
    if flags & AT_REMOVEDIR:
        os.rmdir(host)
    else:
        if os.path.isdir(host) and not os.path.islink(host):
            raise OSError(errno.EISDIR, "is a directory")
        os.unlink(host)
    return 0


@syscall(34, "mkdirat", "dirfd path mode")
def sys_mkdirat(p: Process, dirfd: int, path: int, mode: int) -> int:
    os.mkdir(_host_path(p, dirfd, path, follow=False), mode & 0o7777 & ~p.umask)
    return 0


@syscall(38, "renameat", "dirfd path dirfd path")
def sys_renameat(p: Process, olddir: int, old: int, newdir: int, new: int) -> int:
    return sys_renameat2(p, olddir, old, newdir, new, 0)


@syscall(276, "renameat2", "dirfd path dirfd path x")
def sys_renameat2(p: Process, olddir: int, old: int, newdir: int, new: int, flags: int) -> int:
    src = _host_path(p, olddir, old, follow=False)
    dst = _host_path(p, newdir, new, follow=False)
    if flags & ~1:
        raise OSError(errno.EINVAL, "unsupported renameat2 flags")
    if flags & 1 and os.path.lexists(dst):  # RENAME_NOREPLACE
        raise OSError(errno.EEXIST, "exists")
    os.rename(src, dst)
    return 0


@syscall(36, "symlinkat", "path dirfd path")
def sys_symlinkat(p: Process, target: int, dirfd: int, path: int) -> int:
    os.symlink(_path(p, target), _host_path(p, dirfd, path, follow=False))
    return 0


@syscall(37, "linkat", "dirfd path dirfd path atflags")
def sys_linkat(p: Process, olddir: int, old: int, newdir: int, new: int, flags: int) -> int:
    os.link(
        _host_path(p, olddir, old, follow=bool(flags & 0x400)),
        _host_path(p, newdir, new, follow=False),
        follow_symlinks=False,
    )
    return 0


@syscall(53, "fchmodat", "dirfd path mode")
def sys_fchmodat(p: Process, dirfd: int, path: int, mode: int) -> int:
    os.chmod(_host_path(p, dirfd, path), mode & 0o7777)
    return 0


@syscall(52, "fchmod", "fd mode")
def sys_fchmod(p: Process, fd: int, mode: int) -> int:
    os.fchmod(_host_fd(p.fds.get(i32(fd))), mode & 0o7777)
    return 0


@syscall(46, "ftruncate", "fd long")
def sys_ftruncate(p: Process, fd: int, length: int) -> int:
    os.ftruncate(_host_fd(p.fds.get(i32(fd))), i64(length))
    return 0


@syscall(82, "fsync", "fd")
def sys_fsync(p: Process, fd: int) -> int:
    f = p.fds.get(i32(fd))
    if f.host_fd is not None:
        os.fsync(f.host_fd)
    return 0


@syscall(83, "fdatasync", "fd")
def sys_fdatasync(p: Process, fd: int) -> int:
    return sys_fsync(p, fd)


@syscall(88, "utimensat", "dirfd path ptr atflags")
def sys_utimensat(p: Process, dirfd: int, path: int, times: int, flags: int) -> int:
    follow = not flags & AT_SYMLINK_NOFOLLOW
    target: str | int = (
        _host_fd(p.fds.get(i32(dirfd))) if path == 0 else _host_path(p, dirfd, path, follow)
    )
    ns = None
    if times:
        a_s, a_ns, m_s, m_ns = struct.unpack("<qqqq", p.read_mem(times, 32))
        now = time.time_ns()
        old = (
            os.stat(target, follow_symlinks=follow) if isinstance(target, str) else os.stat(target)
        )

        def pick(sec: int, nsec: int, cur: int) -> int:
            if nsec == (1 << 30) - 1:  # UTIME_NOW
                return now
            if nsec == (1 << 30) - 2:  # UTIME_OMIT
                return cur
            return sec * 1_000_000_000 + nsec

        ns = (pick(a_s, a_ns, old.st_atime_ns), pick(m_s, m_ns, old.st_mtime_ns))
    if isinstance(target, int):
        os.utime(target, ns=ns)
    else:
        os.utime(target, ns=ns, follow_symlinks=follow)
    return 0


@syscall(29, "ioctl", "fd ioctl x")
def sys_ioctl(p: Process, fd: int, req: int, arg: int) -> int:
    f = p.fds.get(i32(fd))
    req &= 0xFFFFFFFF
    tty = f.host_fd is not None and f.isatty()
    if req == 0x5401:  # TCGETS
        if not tty:
            raise OSError(errno.ENOTTY, "not a tty")
        import termios

        iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = termios.tcgetattr(f.host_fd)
        ccb = bytes((c[0] if isinstance(c, bytes) else int(c)) for c in cc[:19]).ljust(19, b"\0")
        p.write_mem(arg, structs.TERMIOS.pack(iflag, oflag, cflag, lflag, 0, ccb))
        return 0
    if req in (0x5402, 0x5403, 0x5404):  # TCSETS, TCSETSW, TCSETSF
        if not tty:
            raise OSError(errno.ENOTTY, "not a tty")
        import termios

        iflag, oflag, cflag, lflag, _line, ccb = structs.TERMIOS.unpack(
            p.read_mem(arg, structs.TERMIOS.size)
        )
        cur = termios.tcgetattr(f.host_fd)
        cc = list(cur[6])
        for k in range(min(19, len(cc))):
            cc[k] = ccb[k] if k in (termios.VMIN, termios.VTIME) else bytes([ccb[k]])
        when = {0x5402: termios.TCSANOW, 0x5403: termios.TCSADRAIN, 0x5404: termios.TCSAFLUSH}
        termios.tcsetattr(f.host_fd, when[req], [iflag, oflag, cflag, lflag, cur[4], cur[5], cc])
        return 0
    if req == 0x5413:  # TIOCGWINSZ
        if not tty:
            raise OSError(errno.ENOTTY, "not a tty")
        size = os.get_terminal_size(f.host_fd)
        p.write_mem(arg, structs.WINSIZE.pack(size.lines, size.columns, 0, 0))
        return 0
    if req == 0x540F:  # TIOCGPGRP
        if not tty:
            raise OSError(errno.ENOTTY, "not a tty")
        p.write_mem(arg, struct.pack("<i", os.tcgetpgrp(f.host_fd)))
        return 0
    if req == 0x5421:  # FIONBIO
        return 0
    raise OSError(errno.ENOTTY, "inappropriate ioctl")


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW, F_DUPFD_CLOEXEC = 5, 6, 7, 1030


@syscall(25, "fcntl", "fd fcntl x")
def sys_fcntl(p: Process, fd: int, cmd: int, arg: int) -> int:
    fd, cmd = i32(fd), i32(cmd)
    f = p.fds.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= MAX_FDS:  # (Linux takes it unsigned: a negative int is huge too)
            raise OSError(errno.EINVAL, "fcntl F_DUPFD above the fd limit")
        return p.fds.add(f, cloexec=cmd == F_DUPFD_CLOEXEC, lowest=arg)
    if cmd == F_GETFD:
        return 1 if p.fds.cloexec(fd) else 0
    if cmd == F_SETFD:
        p.fds.set_cloexec(fd, bool(arg & 1))
        return 0
    if cmd == F_GETFL:
        return f.flags & ~p.open_flags.guest["O_CLOEXEC"]
    if cmd == F_SETFL:
        changeable = p.open_flags.guest["O_APPEND"] | p.open_flags.guest["O_NONBLOCK"]
        f.flags = (f.flags & ~changeable) | (arg & changeable)
        if f.host_fd is not None and f.host_fd > 2:
            import fcntl

            host = p.open_flags.to_host(f.flags & changeable)
            fcntl.fcntl(f.host_fd, fcntl.F_SETFL, host)
        return 0
    if cmd == F_GETLK:
        p.write_mem(arg, struct.pack("<h", 2))  # l_type = F_UNLCK: nobody else holds it
        return 0
    if cmd in (F_SETLK, F_SETLKW):
        return 0
    raise OSError(errno.EINVAL, "unsupported fcntl")


@syscall(23, "dup", "fd")
def sys_dup(p: Process, fd: int) -> int:
    return p.fds.add(p.fds.get(i32(fd)))


@syscall(24, "dup3", "fd fd oflags")
def sys_dup3(p: Process, old: int, new: int, flags: int) -> int:
    old, new = i32(old), i32(new)
    f = p.fds.get(old)
    if old == new or flags & ~p.open_flags.guest["O_CLOEXEC"]:
        raise OSError(errno.EINVAL, "bad dup3")
    if not 0 <= new < 1024:
        raise OSError(errno.EBADF, "bad fd")
    return p.fds.add(f, cloexec=bool(flags), fd=new)


@syscall(59, "pipe2", "ptr oflags")
def sys_pipe2(p: Process, fds_addr: int, flags: int) -> int:
    if not p.mm.accessible(fds_addr, 8, PROT_WRITE):
        raise Fault(fds_addr)
    r, w = os.pipe2(
        os.O_CLOEXEC | (os.O_NONBLOCK if flags & p.open_flags.guest["O_NONBLOCK"] else 0)
    )
    cloexec = bool(flags & p.open_flags.guest["O_CLOEXEC"])
    gr = p.fds.add(HostFile(r, 0, "pipe:[r]"), cloexec=cloexec)
    gw = p.fds.add(HostFile(w, 1, "pipe:[w]"), cloexec=cloexec)
    p.write_mem(fds_addr, struct.pack("<ii", gr, gw))
    return 0


@syscall(61, "getdents64", "fd ptr u")
def sys_getdents64(p: Process, fd: int, dirp: int, count: int) -> int:
    f = p.fds.get(i32(fd))
    if not isinstance(f, HostFile) or not f.is_dir:
        raise OSError(errno.ENOTDIR, "not a directory")
    if f.dir_entries is None:
        # the host's order, as Linux (and qemu-user) give it: find and ls -f print it
        here = os.fstat(f.host_fd).st_ino
        try:
            parent = os.stat("..", dir_fd=f.host_fd).st_ino
        except OSError:
            parent = here
        entries = [(".", here, structs.DT["dir"]), ("..", parent, structs.DT["dir"])]
        with os.scandir(f.host_fd) as it:
            entries += [(e.name, e.inode(), structs.dtype_of(e)) for e in it]
        f.dir_entries = entries
    out = bytearray()
    while f.dir_pos < len(f.dir_entries):
        name, ino, dtype = f.dir_entries[f.dir_pos]
        rec = structs.dirent64(ino, f.dir_pos + 1, dtype, os.fsencode(name))
        if len(out) + len(rec) > count:
            if not out:
                raise OSError(errno.EINVAL, "buffer too small")
            break
        out += rec
        f.dir_pos += 1
    p.write_mem(dirp, bytes(out))
    return len(out)


@syscall(166, "umask", "mode")
def sys_umask(p: Process, new: int) -> int:
    old, p.umask = p.umask, new & 0o777
    return old


# -- memory --------------------------------------------------------------------------------------


@syscall(214, "brk", "ptr", ret="x")
def sys_brk(p: Process, addr: int) -> int:
    return p.mm.set_brk(addr) if addr else p.mm.brk


@syscall(222, "mmap", "ptr u prot mflags fd x", ret="x")
def sys_mmap(p: Process, addr: int, length: int, prot: int, flags: int, fd: int, off: int) -> int:
    mm = p.mm
    if length == 0 or off & 0xFFF or flags & 3 not in (MAP_SHARED, MAP_PRIVATE, 3):
        raise OSError(errno.EINVAL, "bad mmap arguments")
    size = page_up(length)
    if size > mm.end - mm.base:
        raise OSError(errno.ENOMEM, "too large")
    f = None
    if not flags & MAP_ANONYMOUS:
        f = p.fds.get(i32(fd))
        if f.host_fd is None:
            raise OSError(errno.ENODEV, "cannot map this file")
        if f.is_dir:
            raise OSError(errno.ENODEV, "cannot map a directory")
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & 0xFFF:
            raise OSError(errno.EINVAL, "unaligned fixed address")
        if addr < mm.base or addr + size > mm.end:
            raise OSError(errno.ENOMEM, "outside user memory")
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and not mm.is_free(addr, size):
            raise OSError(errno.EEXIST, "range in use")
        start = addr
    else:
        hint = addr & ~0xFFF
        if hint and mm.base <= hint and hint + size <= mm.mmap_top and mm.is_free(hint, size):
            start = hint
        else:
            found = mm.find_free(size)
            if found is None:
                raise OSError(errno.ENOMEM, "address space full")
            start = found
    data = b""
    if f is not None:
        data = os.pread(f.host_fd, length, off)
    mm.map(start, size, prot & 7)
    if data:
        p.machine.bus.write_bytes(start, data)
    return start


@syscall(215, "munmap", "ptr u")
def sys_munmap(p: Process, addr: int, length: int) -> int:
    mm = p.mm
    if addr & 0xFFF or length == 0:
        raise OSError(errno.EINVAL, "bad munmap arguments")
    start, end = max(addr, mm.base), min(addr + page_up(length), mm.end)
    if start < end:
        mm.unmap(start, end - start)
    return 0


@syscall(226, "mprotect", "ptr u prot")
def sys_mprotect(p: Process, addr: int, length: int, prot: int) -> int:
    if addr & 0xFFF:
        raise OSError(errno.EINVAL, "unaligned address")
    if length == 0:
        return 0
    if addr < p.mm.base or addr + length > p.mm.end or not p.mm.protect(addr, length, prot & 7):
        raise OSError(errno.ENOMEM, "not mapped")
    return 0


@syscall(233, "madvise", "ptr u int")
def sys_madvise(p: Process, addr: int, length: int, advice: int) -> int:
    if addr & 0xFFF:
        raise OSError(errno.EINVAL, "unaligned address")
    if advice == MADV_DONTNEED and length:
        mm = p.mm
        if not mm.accessible(addr, length, 0):
            raise OSError(errno.ENOMEM, "not mapped")
        mm.map(addr, length, mm.prot_at(addr))  # private anonymous pages read as zero again
    return 0


@syscall(216, "mremap", "ptr u u x ptr", ret="x")
def sys_mremap(
    p: Process, old: int, old_size: int, new_size: int, flags: int, new_addr: int
) -> int:
    mm = p.mm
    if old & 0xFFF or new_size == 0 or flags & MREMAP_FIXED:
        raise OSError(errno.EINVAL, "unsupported mremap")
    if old_size == 0:  # duplicates a shared mapping in Linux; every mapping here is private
        raise OSError(errno.EINVAL, "mremap of zero bytes")
    old_size, new_size = page_up(old_size), page_up(new_size)
    if not mm.accessible(old, old_size, 0):
        raise OSError(errno.EFAULT, "not mapped")
    prot = mm.prot_at(old)
    if new_size <= old_size:
        if new_size < old_size:
            mm.unmap(old + new_size, old_size - new_size)
        return old
    if old + new_size <= mm.end and mm.is_free(old + old_size, new_size - old_size):
        mm.map(old + old_size, new_size - old_size, prot)
        return old
    if not flags & MREMAP_MAYMOVE:
        raise OSError(errno.ENOMEM, "cannot grow in place")
    start = mm.find_free(new_size)
    if start is None:
        raise OSError(errno.ENOMEM, "address space full")
    mm.map(start, new_size, prot)
    bus = p.machine.bus
    bus.write_bytes(start, bus.read_bytes(old, old_size))
    mm.unmap(old, old_size)
    return start


# -- process --------------------------------------------------------------------------------


@syscall(93, "exit", "int", ret="noreturn")
def sys_exit(p: Process, status: int) -> int:
    p.exit(status & 0xFF, traced=False)
    return 0


@syscall(94, "exit_group", "int", ret="noreturn")
def sys_exit_group(p: Process, status: int) -> int:
    p.exit(status & 0xFF, traced=False)
    return 0


@syscall(96, "set_tid_address", "ptr")
def sys_set_tid_address(p: Process, tidptr: int) -> int:
    p.clear_child_tid = tidptr
    return p.pid


@syscall(99, "set_robust_list", "ptr u")
def sys_set_robust_list(p: Process, head: int, length: int) -> int:
    return 0 if length == 24 else -errno.EINVAL


@syscall(293, "rseq", "ptr u int x")
def sys_rseq(p: Process, rseq: int, length: int, flags: int, sig: int) -> int:
    return -errno.ENOSYS


def _rlimit(p: Process, res: int) -> tuple[int, int]:
    if res in p.rlimits:
        return p.rlimits[res]
    if res == resource.RLIMIT_STACK:
        from vmcore.linux_user.process import STACK_SIZE

        return STACK_SIZE, RLIM_INFINITY
    if res in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        return RLIM_INFINITY, RLIM_INFINITY
    if res == resource.RLIMIT_NOFILE:
        return 1024, 1024
    if not 0 <= res < 16:
        raise OSError(errno.EINVAL, "bad resource")
    cur, mx = resource.getrlimit(res)
    return (cur & M64 if cur >= 0 else RLIM_INFINITY), (mx & M64 if mx >= 0 else RLIM_INFINITY)


@syscall(261, "prlimit64", "int rlimit ptr ptr")
def sys_prlimit64(p: Process, pid: int, res: int, new: int, old: int) -> int:
    if i32(pid) not in (0, p.pid):
        raise OSError(errno.ESRCH, "no such process")
    res = i32(res)
    cur = _rlimit(p, res)
    if new:
        soft, hard = structs.RLIMIT.unpack(p.read_mem(new, 16))
        if soft > hard:
            raise OSError(errno.EINVAL, "soft limit above hard limit")
        if hard > cur[1]:
            raise OSError(errno.EPERM, "cannot raise the hard limit")
    if old:
        p.write_mem(old, structs.RLIMIT.pack(*cur))
    if new:
        p.rlimits[res] = (soft, hard)
    return 0


@syscall(163, "getrlimit", "rlimit ptr")
def sys_getrlimit(p: Process, res: int, old: int) -> int:
    return sys_prlimit64(p, 0, res, 0, old)


@syscall(164, "setrlimit", "rlimit ptr")
def sys_setrlimit(p: Process, res: int, new: int) -> int:
    return sys_prlimit64(p, 0, res, new, 0)


@syscall(160, "uname", "ptr")
def sys_uname(p: Process, buf: int) -> int:
    host = os.uname()
    machine = p.abi.uname_machine or p.abi.platform or p.isa.name
    p.write_mem(buf, structs.utsname("Linux", host.nodename, host.release, host.version, machine))
    return 0


@syscall(172, "getpid")
def sys_getpid(p: Process) -> int:
    return p.pid


@syscall(178, "gettid")
def sys_gettid(p: Process) -> int:
    return p.pid


@syscall(173, "getppid")
def sys_getppid(p: Process) -> int:
    return os.getppid()


@syscall(174, "getuid")
def sys_getuid(p: Process) -> int:
    return os.getuid()


@syscall(175, "geteuid")
def sys_geteuid(p: Process) -> int:
    return os.geteuid()


@syscall(176, "getgid")
def sys_getgid(p: Process) -> int:
    return os.getgid()


@syscall(177, "getegid")
def sys_getegid(p: Process) -> int:
    return os.getegid()


@syscall(155, "getpgid", "int")
def sys_getpgid(p: Process, pid: int) -> int:
    return os.getpgid(0)


@syscall(156, "getsid", "int")
def sys_getsid(p: Process, pid: int) -> int:
    return os.getsid(0)


@syscall(167, "prctl", "int x x x x")
def sys_prctl(p: Process, option: int, a2: int, a3: int, a4: int, a5: int) -> int:
    if option == 15:  # PR_SET_NAME
        p.comm = p.read_cstr(a2, 16)[:15]
        return 0
    if option == 16:  # PR_GET_NAME
        name = p.comm or os.fsencode(os.path.basename(p.exe))[:15]
        p.write_mem(a2, name.ljust(16, b"\0"))
        return 0
    raise OSError(errno.EINVAL, "unsupported prctl")


# -- signals ------------------------------------------------------------------------------------


def _sigaction_size(p: Process) -> int:
    return 32 if p.abi.sa_restorer else 24


@syscall(134, "rt_sigaction", "sig ptr ptr u")
def sys_rt_sigaction(p: Process, sig: int, act: int, oact: int, setsize: int) -> int:
    sig = i32(sig)
    if not 1 <= sig <= 64 or setsize != 8 or (act and sig in (9, 19)):
        raise OSError(errno.EINVAL, "bad signal")
    size = _sigaction_size(p)
    new = p.read_mem(act, size) if act else None
    if oact:
        p.write_mem(oact, p.sigactions.get(sig, bytes(size)))
    if new is not None:
        p.sigactions[sig] = new
    return 0


@syscall(135, "rt_sigprocmask", "sighow ptr ptr u")
def sys_rt_sigprocmask(p: Process, how: int, set_: int, oset: int, setsize: int) -> int:
    if setsize != 8:
        raise OSError(errno.EINVAL, "bad sigset size")
    new = struct.unpack("<Q", p.read_mem(set_, 8))[0] if set_ else None
    if oset:
        p.write_u64(oset, p.sigmask)
    if new is not None:
        new &= ~((1 << 8) | (1 << 18))  # SIGKILL and SIGSTOP cannot be blocked
        if how == 0:
            p.sigmask |= new
        elif how == 1:
            p.sigmask &= ~new
        elif how == 2:
            p.sigmask = new
        else:
            raise OSError(errno.EINVAL, "bad how")
    return 0


@syscall(132, "sigaltstack", "ptr ptr")
def sys_sigaltstack(p: Process, ss: int, old: int) -> int:
    cur = p.altstack or struct.pack("<QiiQ", 0, 2, 0, 0)  # SS_DISABLE
    new = p.read_mem(ss, 24) if ss else None
    if old:
        p.write_mem(old, cur)
    if new is not None:
        p.altstack = new
    return 0


def _signal_self(p: Process, sig: int) -> int:
    if sig == 0:
        return 0
    if not 1 <= sig <= 64:
        raise OSError(errno.EINVAL, "bad signal")
    handler = int.from_bytes(p.sigactions.get(sig, bytes(8))[:8], "little")
    if sig not in (9, 19) and (
        handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORED)
    ):
        return 0
    # a guest handler cannot run (no signal delivery yet): the default action, death
    p.pending_signal = sig
    return 0


@syscall(129, "kill", "int sig")
def sys_kill(p: Process, pid: int, sig: int) -> int:
    if i32(pid) not in (0, -1, p.pid):
        raise OSError(errno.ESRCH, "no such process")
    return _signal_self(p, i32(sig))


@syscall(130, "tkill", "int sig")
def sys_tkill(p: Process, tid: int, sig: int) -> int:
    if i32(tid) != p.pid:
        raise OSError(errno.ESRCH, "no such thread")
    return _signal_self(p, i32(sig))


@syscall(131, "tgkill", "int int sig")
def sys_tgkill(p: Process, tgid: int, tid: int, sig: int) -> int:
    if i32(tgid) != p.pid or i32(tid) != p.pid:
        raise OSError(errno.ESRCH, "no such thread")
    return _signal_self(p, i32(sig))


# -- time --------------------------------------------------------------------------------


def _clock(clk: int) -> int:
    clk = i32(clk)
    if not 0 <= clk <= 11 or clk in (8, 9, 10):  # alarm clocks, TAI are not provided
        raise OSError(errno.EINVAL, "bad clock")
    if clk == 11:
        clk = 0  # CLOCK_TAI: close enough
    return clk


@syscall(113, "clock_gettime", "clock ptr")
def sys_clock_gettime(p: Process, clk: int, tp: int) -> int:
    ns = time.clock_gettime_ns(_clock(clk))
    p.write_mem(tp, structs.TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


@syscall(114, "clock_getres", "clock ptr")
def sys_clock_getres(p: Process, clk: int, tp: int) -> int:
    res = time.clock_getres(_clock(clk))
    if tp:
        ns = max(1, round(res * 1e9))
        p.write_mem(tp, structs.TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


@syscall(169, "gettimeofday", "ptr ptr")
def sys_gettimeofday(p: Process, tv: int, tz: int) -> int:
    ns = time.time_ns()
    if tv:
        p.write_mem(tv, structs.TIMEVAL.pack(ns // 1_000_000_000, ns % 1_000_000_000 // 1000))
    if tz:
        p.write_mem(tz, bytes(8))
    return 0


def _read_timespec(p: Process, addr: int) -> int:
    sec, nsec = structs.TIMESPEC.unpack(p.read_mem(addr, 16))
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        raise OSError(errno.EINVAL, "bad timespec")
    return sec * 1_000_000_000 + nsec


@syscall(101, "nanosleep", "ptr ptr")
def sys_nanosleep(p: Process, req: int, rem: int) -> int:
    time.sleep(_read_timespec(p, req) / 1e9)
    if rem:
        p.write_mem(rem, bytes(16))
    return 0


@syscall(115, "clock_nanosleep", "clock int ptr ptr")
def sys_clock_nanosleep(p: Process, clk: int, flags: int, req: int, rem: int) -> int:
    clk = _clock(clk)
    ns = _read_timespec(p, req)
    if flags & 1:  # TIMER_ABSTIME
        ns -= time.clock_gettime_ns(clk)
    if ns > 0:
        time.sleep(ns / 1e9)
    return 0


@syscall(153, "times", "ptr")
def sys_times(p: Process, buf: int) -> int:
    t = os.times()
    if buf:
        p.write_mem(
            buf,
            structs.TMS.pack(
                int(t.user * 100),
                int(t.system * 100),
                int(t.children_user * 100),
                int(t.children_system * 100),
            ),
        )
    return int(time.monotonic() * 100) & 0x7FFFFFFFFFFFFFFF


@syscall(165, "getrusage", "int ptr")
def sys_getrusage(p: Process, who: int, buf: int) -> int:
    who = i32(who)
    if who not in (0, -1, 1):
        raise OSError(errno.EINVAL, "bad who")
    r = resource.getrusage(resource.RUSAGE_SELF if who != -1 else resource.RUSAGE_CHILDREN)

    def tv(t: float) -> bytes:
        return struct.pack("<qq", int(t), int(t * 1e6) % 1_000_000)

    rest = struct.pack(
        "<14q",
        r.ru_maxrss,
        r.ru_ixrss,
        r.ru_idrss,
        r.ru_isrss,
        r.ru_minflt,
        r.ru_majflt,
        r.ru_nswap,
        r.ru_inblock,
        r.ru_oublock,
        r.ru_msgsnd,
        r.ru_msgrcv,
        r.ru_nsignals,
        r.ru_nvcsw,
        r.ru_nivcsw,
    )
    p.write_mem(buf, tv(r.ru_utime) + tv(r.ru_stime) + rest)
    return 0


# -- misc --------------------------------------------------------------------------------


@syscall(278, "getrandom", "ptr u x")
def sys_getrandom(p: Process, buf: int, length: int, flags: int) -> int:
    length = min(length, 33554431)
    p.write_mem(buf, os.urandom(length))
    return length


@syscall(98, "futex", "ptr int x ptr ptr x")
def sys_futex(
    p: Process, uaddr: int, op: int, val: int, timeout: int, uaddr2: int, val3: int
) -> int:
    cmd = op & 0x7F
    if cmd in (0, 9):  # WAIT, WAIT_BITSET
        cur = struct.unpack("<I", p.read_mem(uaddr, 4))[0]
        if cur != val & 0xFFFFFFFF:
            raise OSError(errno.EAGAIN, "value changed")
        # single thread: nobody can ever wake us
        raise OSError(errno.ETIMEDOUT if timeout else errno.EINTR, "would wait forever")
    if cmd in (1, 10):  # WAKE, WAKE_BITSET
        return 0
    if cmd in (3, 4, 5):  # REQUEUE, CMP_REQUEUE, WAKE_OP
        return 0
    raise OSError(errno.ENOSYS, "unsupported futex op")


@syscall(123, "sched_getaffinity", "int u ptr")
def sys_sched_getaffinity(p: Process, pid: int, size: int, mask_: int) -> int:
    if size < 8 or size & 7:
        raise OSError(errno.EINVAL, "mask too small")
    p.write_mem(mask_, struct.pack("<Q", 1))
    return 8


@syscall(124, "sched_yield")
def sys_sched_yield(p: Process) -> int:
    return 0


@syscall(168, "getcpu", "ptr ptr ptr")
def sys_getcpu(p: Process, cpu: int, node: int, cache: int) -> int:
    for addr in (cpu, node):
        if addr:
            p.write_mem(addr, bytes(4))
    return 0


@syscall(179, "sysinfo", "ptr")
def sys_sysinfo(p: Process, buf: int) -> int:
    total = p.mm.end - p.mm.base
    used = sum(e - s for s, e, _ in p.mm.regions())
    uptime = int(time.clock_gettime(time.CLOCK_BOOTTIME))
    p.write_mem(
        buf,
        structs.SYSINFO.pack(uptime, 0, 0, 0, total, max(0, total - used), 0, 0, 0, 0, 1, 0, 0, 1),
    )
    return 0


@syscall(260, "wait4", "int ptr int ptr")
def sys_wait4(p: Process, pid: int, status: int, options: int, rusage: int) -> int:
    raise OSError(errno.ECHILD, "no child processes")


@syscall(73, "ppoll", "ptr u ptr ptr u")
def sys_ppoll(p: Process, fds: int, nfds: int, tmo: int, sigmask: int, setsize: int) -> int:
    import select

    if nfds > 1024:
        raise OSError(errno.EINVAL, "too many fds")
    raw = bytearray(p.read_mem(fds, 8 * nfds))
    timeout_ms = None if tmo == 0 else _read_timespec(p, tmo) / 1e6
    poller = select.poll()
    ready: dict[int, int] = {}
    host_of: dict[int, list[int]] = {}
    for k in range(nfds):
        fd, events, _ = struct.unpack_from("<ihh", raw, 8 * k)
        if fd < 0:
            continue
        f = p.fds.fds.get(fd, (None,))[0]
        if f is None:
            ready[k] = 0x20  # POLLNVAL
        elif f.host_fd is not None:
            poller.register(f.host_fd, events & 0xFFFF)
            host_of.setdefault(f.host_fd, []).append(k)
        else:  # streams and made-up files never block
            ready[k] = events & (1 | 4)
    if ready:
        timeout_ms = 0
    for host_fd, revents in poller.poll(timeout_ms) if host_of else ():
        for k in host_of.get(host_fd, ()):
            ready[k] = revents
    for k in range(nfds):
        struct.pack_into("<h", raw, 8 * k + 6, ready.get(k, 0))
    p.write_mem(fds, bytes(raw))
    return sum(1 for v in ready.values() if v)


@syscall(223, "fadvise64", "fd long long int")
def sys_fadvise64(p: Process, fd: int, off: int, length: int, advice: int) -> int:
    f = p.fds.get(i32(fd))
    if f.host_fd is None or not isinstance(f, HostFile) or stat_is_fifo(f):
        raise OSError(errno.ESPIPE, "not a file")
    return 0


def stat_is_fifo(f: OpenFile) -> bool:
    try:
        return _stat.S_ISFIFO(f.stat().st_mode)
    except OSError:
        return False


def _statfs(st: os.statvfs_result) -> bytes:
    return structs.STATFS.pack(
        0,
        st.f_bsize,
        st.f_blocks,
        st.f_bfree,
        st.f_bavail,
        st.f_files,
        st.f_ffree,
        0,
        0,
        st.f_namemax,
        st.f_frsize,
        st.f_flag,
        0,
        0,
        0,
        0,
    )


@syscall(43, "statfs", "path ptr")
def sys_statfs(p: Process, path: int, buf: int) -> int:
    p.write_mem(buf, _statfs(os.statvfs(_host_path(p, AT_FDCWD, path))))
    return 0


@syscall(44, "fstatfs", "fd ptr")
def sys_fstatfs(p: Process, fd: int, buf: int) -> int:
    f = p.fds.get(i32(fd))
    if f.host_fd is None:
        raise OSError(errno.ENOSYS, "no file system")
    p.write_mem(buf, _statfs(os.fstatvfs(f.host_fd)))
    return 0


@syscall(71, "sendfile", "fd fd ptr u")
def sys_sendfile(p: Process, out_fd: int, in_fd: int, offp: int, count: int) -> int:
    src, dst = p.fds.get(i32(in_fd)), p.fds.get(i32(out_fd))
    count = min(count, MAX_IO)
    if offp:
        off = struct.unpack("<q", p.read_mem(offp, 8))[0]
        data = src.pread(count, off)
        p.write_mem(offp, struct.pack("<q", off + len(data)))
    else:
        data = src.read(count)
    return _write(p, dst, data) if data else 0


@syscall(54, "fchownat", "dirfd path int int atflags")
def sys_fchownat(p: Process, dirfd: int, path: int, uid: int, gid: int, flags: int) -> int:
    follow = not flags & AT_SYMLINK_NOFOLLOW
    os.chown(_host_path(p, dirfd, path, follow), _id(uid), _id(gid), follow_symlinks=follow)
    return 0


def _id(value: int) -> int:
    """A guest uid_t/gid_t (unsigned 32 bits; all ones means "leave unchanged") for os."""
    value &= 0xFFFFFFFF
    return -1 if value == 0xFFFFFFFF else value


@syscall(55, "fchown", "fd int int")
def sys_fchown(p: Process, fd: int, uid: int, gid: int) -> int:
    os.fchown(_host_fd(p.fds.get(i32(fd))), _id(uid), _id(gid))
    return 0


@syscall(227, "msync", "ptr u int")
def sys_msync(p: Process, addr: int, length: int, flags: int) -> int:
    if addr & 0xFFF:
        raise OSError(errno.EINVAL, "unaligned address")
    return 0


@syscall(158, "getgroups", "int ptr")
def sys_getgroups(p: Process, size: int, buf: int) -> int:
    groups = os.getgroups()
    if i32(size) == 0:
        return len(groups)
    if i32(size) < len(groups):
        raise OSError(errno.EINVAL, "buffer too small")
    p.write_mem(buf, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)
