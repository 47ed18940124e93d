"""System calls, called directly on a toy process: results, guest memory, errors, strace."""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linux_toy import Sys

from vmcore.components import ConfigError
from vmcore.linux_user import structs, syscalls
from vmcore.linux_user.mm import PROT_READ, PROT_WRITE
from vmcore.linux_user.process import STACK_SIZE

AT_FDCWD = -100
O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND = 0, 1, 2, 0o100, 0o1000, 0o2000
O_DIRECTORY, O_CLOEXEC, O_NONBLOCK, O_EXCL = 0o200000, 0o2000000, 0o4000, 0o200
NR = {sc.name: nr for nr, sc in syscalls.TABLE.items()}


def call(sc: Sys, name: str, *args: int) -> int:
    return sc(NR[name], *args)


def err(e: int) -> int:
    return -e


# -- the table ------------------------------------------------------------------------------


def _header_numbers() -> dict[str, int]:
    text = open("/usr/riscv64-linux-gnu/include/asm-generic/unistd.h").read()
    nums = {m[0]: int(m[1]) for m in re.findall(r"#define __NR(?:3264)?_(\w+) (\d+)\b", text)}
    for alias, target in re.findall(r"#define __NR_(\w+) __NR3264_(\w+)", text):
        if target in nums:
            nums[alias] = nums[target]
    return nums


def test_numbers_match_asm_generic_unistd_h():
    nums = _header_numbers()
    for nr, sc in syscalls.TABLE.items():
        assert nums.get(sc.name) == nr, sc.name


def test_every_required_syscall_is_there():
    required = """read write writev readv pread64 openat close fstat newfstatat statx lseek mmap
    munmap mprotect madvise brk exit exit_group uname clock_gettime gettimeofday clock_getres
    nanosleep clock_nanosleep getrandom set_tid_address set_robust_list rseq prlimit64 getrlimit
    readlinkat ioctl getpid gettid getppid getuid geteuid getgid getegid rt_sigaction
    rt_sigprocmask sigaltstack faccessat getcwd chdir unlinkat mkdirat renameat fcntl dup dup3
    pipe2 getdents64 sched_getaffinity sched_yield futex tgkill kill sysinfo times umask"""
    assert set(required.split()) <= set(NR)


def test_unknown_syscall_is_enosys(sc):
    assert sc(4000) == err(errno.ENOSYS)
    assert call(sc, "rseq", 0, 0, 0, 0) == err(errno.ENOSYS)


# -- read/write and files ---------------------------------------------------------------------


def test_write_to_stdout_and_stderr(toy):
    out, errs = io.BytesIO(), io.BytesIO()
    p = toy.process(stdout=out, stderr=errs)
    sc = Sys(p)
    buf = sc.put(b"to out\n")
    assert call(sc, "write", 1, buf, 7) == 7
    assert call(sc, "write", 2, buf, 3) == 3
    iov = sc.put(struct.pack("<QQQQ", buf, 3, buf + 3, 4), 256)
    assert call(sc, "writev", 1, iov, 2) == 7
    assert out.getvalue() == b"to out\nto out\n" and errs.getvalue() == b"to "


def test_write_to_a_text_stream(toy):
    out = io.StringIO()
    sc = Sys(toy.process(stdout=out))
    assert call(sc, "write", 1, sc.put("é\n".encode()), 3) == 3
    assert out.getvalue() == "é\n"


def test_read_stdin_bytes(toy):
    sc = Sys(toy.process(stdin=b"input data"))
    buf = sc.scratch
    assert call(sc, "read", 0, buf, 5) == 5
    assert sc.get(buf, 5) == b"input"
    iov = sc.put(struct.pack("<QQQQ", buf + 100, 2, buf + 200, 10), 300)
    assert call(sc, "readv", 0, iov, 2) == 5
    assert sc.get(buf + 100, 2) == b" d" and sc.get(buf + 200, 3) == b"ata"
    assert call(sc, "read", 0, buf, 5) == 0


def test_bad_fd_and_bad_pointer(sc):
    assert call(sc, "write", 77, sc.scratch, 1) == err(errno.EBADF)
    assert call(sc, "write", 1, 0, 1) == err(errno.EFAULT)
    assert call(sc, "write", 1, 0x6000_0000, 1) == err(errno.EFAULT)  # unmapped RAM
    assert call(sc, "read", 0, 0x10, 1) == err(errno.EFAULT)
    assert call(sc, "openat", AT_FDCWD, 0, 0, 0) == err(errno.EFAULT)


def test_file_round_trip(sc, tmp_path):
    path = sc.cstr(str(tmp_path / "f.txt"))
    fd = call(sc, "openat", AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    assert fd == 3
    assert call(sc, "write", fd, sc.put(b"0123456789", 512), 10) == 10
    assert call(sc, "close", fd) == 0
    assert call(sc, "close", fd) == err(errno.EBADF)
    assert (tmp_path / "f.txt").read_bytes() == b"0123456789"
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644 & ~0o022

    fd = call(sc, "openat", AT_FDCWD, path, O_RDONLY, 0)
    buf = sc.scratch + 1024
    assert call(sc, "lseek", fd, 4, 0) == 4
    assert call(sc, "read", fd, buf, 3) == 3 and sc.get(buf, 3) == b"456"
    assert call(sc, "pread64", fd, buf, 2, 8) == 2 and sc.get(buf, 2) == b"89"
    assert call(sc, "lseek", fd, -1, 2) == 9
    assert call(sc, "lseek", fd, 0, 9) == err(errno.EINVAL)
    assert call(sc, "write", fd, buf, 1) == err(errno.EBADF)
    assert call(sc, "openat", AT_FDCWD, sc.cstr("/no/such/file", 2048), 0, 0) == err(errno.ENOENT)
    assert call(sc, "openat", AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL, 0o600) == err(
        errno.EEXIST
    )


def test_fstat_layout_is_asm_generic(sc, tmp_path):
    f = tmp_path / "s"
    f.write_bytes(b"x" * 1234)
    fd = call(sc, "openat", AT_FDCWD, sc.cstr(str(f)), 0, 0)
    buf = sc.scratch + 4096
    assert call(sc, "fstat", fd, buf) == 0
    raw = sc.get(buf, 128)
    host = os.stat(f)
    assert struct.unpack_from("<Q", raw, 8)[0] == host.st_ino
    assert struct.unpack_from("<I", raw, 16)[0] == host.st_mode
    assert struct.unpack_from("<q", raw, 48)[0] == 1234
    assert struct.unpack_from("<i", raw, 56)[0] == host.st_blksize
    assert struct.unpack_from("<q", raw, 88)[0] == int(host.st_mtime)  # st_mtime
    assert call(sc, "newfstatat", AT_FDCWD, sc.cstr(str(f)), buf + 256, 0) == 0
    assert sc.get(buf + 256, 128) == raw
    # AT_EMPTY_PATH on the fd
    assert call(sc, "newfstatat", fd, sc.cstr(""), buf + 512, 0x1000) == 0
    assert sc.get(buf + 512, 128) == raw


def test_stat_of_stdout_stream_is_a_pipe(sc):
    buf = sc.scratch
    assert call(sc, "fstat", 1, buf) == 0
    assert stat.S_ISFIFO(struct.unpack_from("<I", sc.get(buf, 128), 16)[0])


def test_statx(sc, tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"abc")
    buf = sc.scratch + 8192
    assert call(sc, "statx", AT_FDCWD, sc.cstr(str(f)), 0, 0x7FF, buf) == 0
    raw = sc.get(buf, 256)
    mask, _blk = struct.unpack_from("<II", raw, 0)
    assert mask & 0x7FF == 0x7FF
    assert struct.unpack_from("<H", raw, 28)[0] == os.stat(f).st_mode
    assert struct.unpack_from("<Q", raw, 40)[0] == 3
    assert struct.unpack_from("<Q", raw, 32)[0] == os.stat(f).st_ino


def test_symlink_nofollow_stat_and_readlink(sc, tmp_path):
    os.symlink("target-name", tmp_path / "ln")
    buf = sc.scratch + 2048
    assert call(sc, "newfstatat", AT_FDCWD, sc.cstr(str(tmp_path / "ln")), buf, 0) == err(
        errno.ENOENT
    )
    assert call(sc, "newfstatat", AT_FDCWD, sc.cstr(str(tmp_path / "ln")), buf, 0x100) == 0
    assert stat.S_ISLNK(struct.unpack_from("<I", sc.get(buf, 128), 16)[0])
    n = call(sc, "readlinkat", AT_FDCWD, sc.cstr(str(tmp_path / "ln")), buf, 100)
    assert sc.get(buf, n) == b"target-name"
    n = call(sc, "readlinkat", AT_FDCWD, sc.cstr(str(tmp_path / "ln")), buf, 3)
    assert n == 3


def test_readlink_proc_self_exe(sc):
    buf = sc.scratch + 100
    n = call(sc, "readlinkat", AT_FDCWD, sc.cstr("/proc/self/exe"), buf, 4096)
    assert sc.get(buf, n).decode() == sc.p.exe
    assert os.path.isabs(sc.p.exe)


def test_directories(sc, tmp_path):
    d = tmp_path / "d"
    assert call(sc, "mkdirat", AT_FDCWD, sc.cstr(str(d)), 0o755) == 0
    assert d.is_dir()
    assert call(sc, "mkdirat", AT_FDCWD, sc.cstr(str(d)), 0o755) == err(errno.EEXIST)
    for name in ("b", "a", "c"):
        (d / name).write_text(name)
    (d / "sub").mkdir()
    fd = call(sc, "openat", AT_FDCWD, sc.cstr(str(d)), O_RDONLY | O_DIRECTORY, 0)
    assert fd >= 3
    buf = sc.scratch + 4096
    names = {}
    inodes = {}
    while True:
        n = call(sc, "getdents64", fd, buf, 64)  # small buffer: several calls
        assert n >= 0
        if n == 0:
            break
        raw = sc.get(buf, n)
        pos = 0
        while pos < n:
            ino, _off, reclen, dtype = struct.unpack_from("<QqHB", raw, pos)
            assert reclen % 8 == 0
            name = raw[pos + 19 : pos + reclen].split(b"\0")[0].decode()
            names[name] = dtype
            inodes[name] = ino
            pos += reclen
    assert names == {".": 4, "..": 4, "a": 8, "b": 8, "c": 8, "sub": 4}
    # in the host's order (what find and ls -f print natively), with the real inodes
    assert list(names)[2:] == [e.name for e in os.scandir(d)]
    assert inodes[".."] == tmp_path.stat().st_ino and inodes["a"] == (d / "a").stat().st_ino
    assert call(sc, "getdents64", fd, buf, 8) == 0
    assert call(sc, "lseek", fd, 0, 0) == 0
    assert call(sc, "getdents64", fd, buf, 8) == err(errno.EINVAL)  # too small for one
    # *at() relative to a directory fd
    assert call(sc, "unlinkat", fd, sc.cstr("a"), 0) == 0 and not (d / "a").exists()
    assert call(sc, "renameat", fd, sc.cstr("b"), fd, sc.cstr("bb", 100)) == 0
    assert (d / "bb").read_text() == "b"
    assert call(sc, "unlinkat", fd, sc.cstr("sub"), 0) == err(errno.EISDIR)
    assert call(sc, "unlinkat", fd, sc.cstr("sub"), 0x200) == 0 and not (d / "sub").exists()
    assert call(sc, "read", fd, buf, 10) == err(errno.EISDIR)
    reg = call(sc, "openat", fd, sc.cstr("c"), 0, 0)
    assert call(sc, "openat", reg, sc.cstr("x"), 0, 0) == err(errno.ENOTDIR)
    assert call(sc, "getdents64", reg, buf, 100) == err(errno.ENOTDIR)


def test_cwd_is_the_guests_own(sc, tmp_path):
    host_cwd = os.getcwd()
    buf = sc.scratch + 8192
    n = call(sc, "getcwd", buf, 4096)
    assert sc.get(buf, n) == host_cwd.encode() + b"\0"
    assert call(sc, "getcwd", buf, 2) == err(errno.ERANGE)
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "f").write_text("x")
    assert call(sc, "chdir", sc.cstr(str(tmp_path / "here"))) == 0
    assert os.getcwd() == host_cwd  # the host process did not move
    n = call(sc, "getcwd", buf, 4096)
    assert sc.get(buf, n - 1).decode() == str(tmp_path / "here")
    assert call(sc, "openat", AT_FDCWD, sc.cstr("f"), 0, 0) >= 3
    assert call(sc, "faccessat", AT_FDCWD, sc.cstr("f"), 4) == 0
    assert call(sc, "faccessat", AT_FDCWD, sc.cstr("nope"), 0) == err(errno.ENOENT)
    assert call(sc, "chdir", sc.cstr("f")) == err(errno.ENOTDIR)
    assert call(sc, "chdir", sc.cstr("..")) == 0
    n = call(sc, "getcwd", buf, 4096)
    assert sc.get(buf, n - 1).decode() == str(tmp_path)


def test_fcntl_dup_and_cloexec(sc):
    assert call(sc, "fcntl", 1, 1, 0) == 0  # F_GETFD
    assert call(sc, "fcntl", 1, 3, 0) == O_WRONLY  # F_GETFL
    fd = call(sc, "fcntl", 1, 0, 10)  # F_DUPFD >= 10
    assert fd == 10
    fd2 = call(sc, "fcntl", 1, 1030, 0)  # F_DUPFD_CLOEXEC
    assert fd2 == 3 and call(sc, "fcntl", fd2, 1, 0) == 1
    assert call(sc, "fcntl", fd2, 2, 0) == 0 and call(sc, "fcntl", fd2, 1, 0) == 0
    assert call(sc, "dup", 2) == 4
    assert call(sc, "dup3", 2, 7, O_CLOEXEC) == 7 and call(sc, "fcntl", 7, 1, 0) == 1
    assert call(sc, "dup3", 7, 7, 0) == err(errno.EINVAL)
    assert call(sc, "fcntl", 99, 1, 0) == err(errno.EBADF)
    assert call(sc, "fcntl", 1, 12345, 0) == err(errno.EINVAL)
    # a lowest fd past the limit, or negative (unsigned in Linux: huge), is EINVAL; a
    # negative target fd is EBADF (they made fd -2**31 once; found by test_fuzz_syscalls)
    assert call(sc, "fcntl", 0, 0, 1 << 31) == err(errno.EINVAL)
    assert call(sc, "fcntl", 0, 0, -1) == err(errno.EINVAL)
    assert call(sc, "dup3", 2, -5, 0) == err(errno.EBADF)
    # closing a dup keeps the original working; the host's fd 1/2 are never closed
    buf = sc.put(b"k")
    assert call(sc, "close", 10) == 0 and call(sc, "write", 1, buf, 1) == 1


def test_pipe_round_trip(sc):
    fds = sc.scratch + 64
    assert call(sc, "pipe2", fds, O_CLOEXEC) == 0
    r, w = struct.unpack("<ii", sc.get(fds, 8))
    assert call(sc, "fcntl", r, 1, 0) == 1
    assert call(sc, "write", w, sc.put(b"through", 128), 7) == 7
    assert call(sc, "read", r, sc.scratch + 256, 100) == 7
    assert sc.get(sc.scratch + 256, 7) == b"through"
    assert call(sc, "lseek", r, 0, 0) == err(errno.ESPIPE)


def test_write_to_closed_pipe_kills_with_sigpipe(sc):
    fds = sc.scratch + 64
    call(sc, "pipe2", fds, 0)
    r, w = struct.unpack("<ii", sc.get(fds, 8))
    call(sc, "close", r)
    assert call(sc, "write", w, sc.put(b"x", 128), 1) == err(errno.EPIPE)
    assert sc.p.exit_status == 128 + 13


def test_ioctl_tcgets_on_a_non_tty(sc, tmp_path):
    assert call(sc, "ioctl", 1, 0x5401, sc.scratch) == err(errno.ENOTTY)
    assert call(sc, "ioctl", 1, 0x5413, sc.scratch) == err(errno.ENOTTY)
    assert call(sc, "ioctl", 55, 0x5401, sc.scratch) == err(errno.EBADF)


def test_ioctl_tcgets_on_a_tty_and_terminal_restored(toy):
    import pty
    import termios

    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        p = toy.process(stdout=slave)
        sc = Sys(p)
        assert call(sc, "ioctl", 1, 0x5401, sc.scratch) == 0
        iflag, oflag, cflag, lflag, _line, cc = structs.TERMIOS.unpack(
            sc.get(sc.scratch, structs.TERMIOS.size)
        )
        assert (iflag, oflag, cflag, lflag) == tuple(before[:4])
        assert cc[termios.VINTR] == before[6][termios.VINTR][0]
        # the guest switches the tty to raw mode ...
        raw = structs.TERMIOS.pack(0, 0, cflag, 0, 0, cc)
        assert call(sc, "ioctl", 1, 0x5402, sc.put(raw, 512)) == 0
        assert termios.tcgetattr(slave)[3] == 0
        assert call(sc, "ioctl", 1, 0x5413, sc.scratch) == 0
        p.close()  # ... and vmctl puts the terminal back as it found it
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


# -- memory --------------------------------------------------------------------------------------


def test_brk(sc):
    mm = sc.p.mm
    start = call(sc, "brk", 0)
    assert start == mm.brk_start and start % 4096 == 0
    assert call(sc, "brk", start + 10000) == start + 10000
    assert mm.prot_at(start + 9999) == PROT_READ | PROT_WRITE
    sc.p.machine.bus.write_bytes(start + 5000, b"dirty")
    assert call(sc, "brk", start + 100) == start + 100
    assert mm.prot_at(start + 5000) == -1
    assert call(sc, "brk", start + 10000) == start + 10000
    assert sc.get(start + 5000, 5) == bytes(5)  # fresh pages after shrink + grow
    assert call(sc, "brk", start - 4096) == start + 10000  # below the start: refused
    assert call(sc, "brk", 1 << 40) == start + 10000  # beyond memory: refused


def test_mmap_anonymous_top_down_and_zeroed(sc):
    a = call(sc, "mmap", 0, 8192, 3, 0x22, -1, 0)
    b = call(sc, "mmap", 0, 4096, 3, 0x22, -1, 0)
    assert a % 4096 == 0 and b == a - 4096
    assert sc.p.mm.mmap_top <= sc.p.stack_top - STACK_SIZE
    assert sc.get(a, 8192) == bytes(8192)
    sc.put(b"junk")
    assert call(sc, "munmap", a, 8192) == 0
    assert sc.p.mm.prot_at(a) == -1
    c = call(sc, "mmap", a, 8192, 3, 0x32, -1, 0)  # MAP_FIXED
    assert c == a and sc.get(a, 8) == bytes(8)


def test_mmap_errors(sc):
    assert call(sc, "mmap", 0, 0, 3, 0x22, -1, 0) == err(errno.EINVAL)
    assert call(sc, "mmap", 0, 4096, 3, 0x20, -1, 0) == err(errno.EINVAL)  # no type
    assert call(sc, "mmap", 0, 4096, 3, 0x22, -1, 1) == err(errno.EINVAL)
    assert call(sc, "mmap", 0x1001, 4096, 3, 0x32, -1, 0) == err(errno.EINVAL)
    assert call(sc, "mmap", 0, 4096, 3, 0x02, 99, 0) == err(errno.EBADF)
    assert call(sc, "mmap", 0, 1 << 40, 3, 0x22, -1, 0) == err(errno.ENOMEM)
    taken = sc.scratch
    assert call(sc, "mmap", taken, 4096, 3, 0x100022, -1, 0) == err(errno.EEXIST)
    assert call(sc, "munmap", 0x1001, 10) == err(errno.EINVAL)
    assert call(sc, "mprotect", 0x6000_0000, 4096, 1) == err(errno.ENOMEM)


def test_mmap_file(sc, tmp_path):
    f = tmp_path / "m"
    f.write_bytes(b"A" * 5000 + b"B" * 100)
    fd = call(sc, "openat", AT_FDCWD, sc.cstr(str(f)), 0, 0)
    a = call(sc, "mmap", 0, 5100, 1, 0x02, fd, 0)
    assert sc.get(a, 5100) == f.read_bytes() and sc.get(a + 5100, 100) == bytes(100)
    b = call(sc, "mmap", 0, 4096, 1, 0x02, fd, 4096)
    assert sc.get(b, 4) == b"AAAA" and sc.get(b + 904, 4) == b"BBBB"


def test_mprotect_and_madvise(sc):
    a = call(sc, "mmap", 0, 3 * 4096, 3, 0x22, -1, 0)
    assert call(sc, "mprotect", a + 4096, 4096, 1) == 0
    assert sc.p.mm.prot_at(a + 4096) == PROT_READ and sc.p.mm.prot_at(a) == 3
    # the kernel refuses to write into a read-only page on the guest's behalf
    assert call(sc, "read", 0, a + 4096, 1) == err(errno.EFAULT)
    sc.p.machine.bus.write_bytes(a, b"xyz")
    assert call(sc, "madvise", a, 4096, 4) == 0  # MADV_DONTNEED: zero again
    assert sc.get(a, 3) == bytes(3)
    assert call(sc, "madvise", a, 4096, 0) == 0


def test_mremap(sc):
    a = call(sc, "mmap", 0, 4096, 3, 0x22, -1, 0)
    sc.p.machine.bus.write_bytes(a, b"keep")
    call(sc, "mmap", a - 4096, 4096, 3, 0x32, -1, 0)  # something below
    b = call(sc, "mremap", a, 4096, 3 * 4096, 1, 0)
    assert b > 0 and sc.get(b, 4) == b"keep" and sc.p.mm.prot_at(b + 8192) == 3
    assert call(sc, "mremap", b, 3 * 4096, 4096, 0, 0) == b
    assert sc.p.mm.prot_at(b + 4096) == -1
    # growing past the address space is ENOMEM (it looked for 2**52 free pages at once:
    # a MemoryError, found by test_fuzz_syscalls)
    assert call(sc, "mremap", b, 4096, (1 << 64) - 4096, 1, 0) == -errno.ENOMEM
    assert call(sc, "mmap", 0, 1 << 62, 3, 0x22, -1, 0) == -errno.ENOMEM


# -- process, time, identity ---------------------------------------------------------------------


def test_identity(sc):
    assert call(sc, "getpid") == os.getpid() == call(sc, "gettid")
    assert call(sc, "getppid") == os.getppid()
    assert call(sc, "getuid") == os.getuid() and call(sc, "geteuid") == os.geteuid()
    assert call(sc, "getgid") == os.getgid() and call(sc, "getegid") == os.getegid()
    assert call(sc, "set_tid_address", sc.scratch) == os.getpid()
    assert call(sc, "set_robust_list", sc.scratch, 24) == 0
    assert call(sc, "umask", 0o077) == 0o022 and call(sc, "umask", 0o022) == 0o077


def test_uname(sc):
    buf = sc.scratch
    assert call(sc, "uname", buf) == 0
    fields = [sc.get(buf + 65 * i, 65).split(b"\0")[0].decode() for i in range(6)]
    assert fields[0] == "Linux" and fields[4] == "toy64"
    assert fields[2] == os.uname().release


def test_rlimits(sc):
    buf = sc.scratch
    assert call(sc, "prlimit64", 0, 3, 0, buf) == 0  # RLIMIT_STACK
    assert struct.unpack("<QQ", sc.get(buf, 16)) == (STACK_SIZE, 2**64 - 1)
    assert call(sc, "getrlimit", 7, buf) == 0  # RLIMIT_NOFILE
    assert struct.unpack("<QQ", sc.get(buf, 16)) == (1024, 1024)
    new = sc.put(struct.pack("<QQ", 1 << 20, 2**64 - 1), 64)
    assert call(sc, "prlimit64", 0, 3, new, buf) == 0
    assert call(sc, "getrlimit", 3, buf) == 0
    assert struct.unpack("<QQ", sc.get(buf, 16))[0] == 1 << 20
    assert call(sc, "prlimit64", 1, 3, 0, buf) == err(errno.ESRCH)
    assert call(sc, "getrlimit", 99, buf) == err(errno.EINVAL)


def test_clocks_and_sleep(sc):
    import time

    buf = sc.scratch
    assert call(sc, "clock_gettime", 0, buf) == 0
    sec, nsec = struct.unpack("<qq", sc.get(buf, 16))
    assert abs(sec - time.time()) < 5 and 0 <= nsec < 10**9
    assert call(sc, "clock_gettime", 1, buf) == 0
    assert call(sc, "clock_gettime", 99, buf) == err(errno.EINVAL)
    assert call(sc, "clock_getres", 1, buf) == 0
    assert struct.unpack("<qq", sc.get(buf, 16))[1] > 0
    assert call(sc, "gettimeofday", buf, 0) == 0
    sec, usec = struct.unpack("<qq", sc.get(buf, 16))
    assert abs(sec - time.time()) < 5 and 0 <= usec < 10**6
    req = sc.put(struct.pack("<qq", 0, 1_000_000), 64)
    t0 = time.monotonic()
    assert call(sc, "nanosleep", req, 0) == 0
    assert call(sc, "clock_nanosleep", 1, 0, req, 0) == 0
    assert time.monotonic() - t0 >= 0.002
    bad = sc.put(struct.pack("<qq", 0, 10**9), 128)
    assert call(sc, "nanosleep", bad, 0) == err(errno.EINVAL)
    assert call(sc, "times", buf) > 0


def test_getrandom_and_sysinfo(sc):
    buf = sc.scratch
    assert call(sc, "getrandom", buf, 64, 0) == 64
    assert sc.get(buf, 64) != bytes(64)
    assert call(sc, "sysinfo", buf) == 0
    totalram = struct.unpack_from("<Q", sc.get(buf, 112), 32)[0]
    assert totalram == sc.p.mm.end - sc.p.mm.base
    assert struct.unpack_from("<I", sc.get(buf, 112), 104)[0] == 1  # mem_unit


def test_affinity_yield_futex(sc):
    buf = sc.scratch
    assert call(sc, "sched_getaffinity", 0, 128, buf) == 8
    assert sc.get(buf, 8) == struct.pack("<Q", 1)
    assert call(sc, "sched_getaffinity", 0, 4, buf) == err(errno.EINVAL)
    assert call(sc, "sched_yield") == 0
    word = sc.put(struct.pack("<I", 5), 256)
    assert call(sc, "futex", word, 128, 6, 0, 0, 0) == err(errno.EAGAIN)  # WAIT|PRIVATE
    assert call(sc, "futex", word, 129, 1, 0, 0, 0) == 0  # WAKE


def test_signals_are_recorded(sc):
    act = sc.put(struct.pack("<QQQ", 0x12345, 0x4000000, 0), 0)
    old = sc.scratch + 64
    assert call(sc, "rt_sigaction", 10, act, 0, 8) == 0
    assert call(sc, "rt_sigaction", 10, 0, old, 8) == 0
    assert sc.get(old, 24) == struct.pack("<QQQ", 0x12345, 0x4000000, 0)
    assert call(sc, "rt_sigaction", 9, act, 0, 8) == err(errno.EINVAL)
    assert call(sc, "rt_sigaction", 10, act, 0, 4) == err(errno.EINVAL)
    mask = sc.put(struct.pack("<Q", 0b110), 128)
    assert call(sc, "rt_sigprocmask", 0, mask, 0, 8) == 0
    assert call(sc, "rt_sigprocmask", 1, 0, old, 8) == 0
    assert struct.unpack("<Q", sc.get(old, 8))[0] == 0b110
    assert call(sc, "sigaltstack", 0, old) == 0
    assert struct.unpack_from("<i", sc.get(old, 24), 8)[0] == 2  # SS_DISABLE


def test_kill_self(sc):
    pid = os.getpid()
    assert call(sc, "kill", pid, 0) == 0
    assert call(sc, "kill", 1, 9) == err(errno.ESRCH)  # never signals host processes
    assert call(sc, "tgkill", pid, pid, 28) == 0  # SIGWINCH: ignored by default
    ign = sc.put(struct.pack("<QQQ", 1, 0, 0))
    call(sc, "rt_sigaction", 15, ign, 0, 8)
    assert call(sc, "kill", pid, 15) == 0 and sc.p.exit_status is None
    assert call(sc, "tgkill", pid, pid, 6) == 0
    assert sc.p.exit_status == 134 and sc.p.killed_by == 6


def test_abort_report(toy):
    errs = io.StringIO()
    p = toy.process(stderr=errs)
    sc = Sys(p)
    call(sc, "tgkill", os.getpid(), os.getpid(), 6)
    assert errs.getvalue() == "vmctl: guest killed by SIGABRT\n"


# -- sysroot --------------------------------------------------------------------------------


@pytest.fixture
def rooted(toy, tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "x").write_text("inside")
    (tmp_path / "secret").write_text("outside")
    os.symlink("/etc/x", root / "abs-link")
    os.symlink("../../secret", root / "etc" / "rel-link")
    os.symlink(str(tmp_path / "secret"), root / "host-link")
    return Sys(toy.process(sysroot=str(root))), root


def _read_path(sc: Sys, path: str) -> bytes | int:
    fd = call(sc, "openat", AT_FDCWD, sc.cstr(path, 8192), 0, 0)
    if fd < 0:
        return fd
    n = call(sc, "read", fd, sc.scratch + 16384, 100)
    call(sc, "close", fd)
    return sc.get(sc.scratch + 16384, n)


def test_sysroot_confines_paths(rooted):
    sc, root = rooted
    assert _read_path(sc, "/etc/x") == b"inside"
    assert _read_path(sc, "/../../../etc/x") == b"inside"
    assert _read_path(sc, "/abs-link") == b"inside"  # absolute symlink: inside the root
    assert _read_path(sc, "/etc/rel-link") == err(errno.ENOENT)  # would escape: clamped
    assert _read_path(sc, "/host-link") == err(errno.ENOENT)
    buf = sc.scratch + 4096
    n = call(sc, "getcwd", buf, 100)
    assert sc.get(buf, n) == b"/\0"
    assert call(sc, "chdir", sc.cstr("/etc/../etc")) == 0
    assert _read_path(sc, "x") == b"inside"
    n = call(sc, "getcwd", buf, 100)
    assert sc.get(buf, n) == b"/etc\0"
    assert call(sc, "chdir", sc.cstr("../../..")) == 0
    n = call(sc, "getcwd", buf, 100)
    assert sc.get(buf, n) == b"/\0"


def test_sysroot_must_exist(toy, tmp_path):
    with pytest.raises(ConfigError, match="sysroot .*none: not a directory"):
        toy.process(sysroot=str(tmp_path / "none"))


# -- strace ---------------------------------------------------------------------------------------


def test_strace_format(toy, tmp_path):
    errs = io.StringIO()
    p = toy.process(stderr=errs, strace=True)
    sc = Sys(p)
    errs.truncate(0)
    errs.seek(0)
    call(sc, "openat", AT_FDCWD, sc.cstr("/etc/nonexistent-x"), O_RDONLY | O_CLOEXEC, 0)
    f = tmp_path / "t"
    call(sc, "openat", AT_FDCWD, sc.cstr(str(f)), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    call(sc, "write", 1, sc.put(b'hi\n\x01"', 512), 5)
    call(sc, "mmap", 0, 4096, 3, 0x22, -1, 0)
    call(sc, "brk", 0)
    sc(999)
    lines = errs.getvalue().splitlines()
    assert lines[0] == (
        'openat(AT_FDCWD, "/etc/nonexistent-x", O_RDONLY|O_CLOEXEC) = '
        "-1 ENOENT (No such file or directory)"
    )
    assert re.fullmatch(
        r'openat\(AT_FDCWD, ".*/t", O_WRONLY\|O_CREAT\|O_TRUNC, 0644\) = 3', lines[1]
    )
    assert lines[2] == 'write(1, "hi\\n\\1\\"", 5) = 5'
    assert re.fullmatch(
        r"mmap\(NULL, 4096, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, "
        r"-1, 0x0\) = 0x[0-9a-f]+",
        lines[3],
    )
    assert re.fullmatch(r"brk\(NULL\) = 0x[0-9a-f]+", lines[4])
    assert re.fullmatch(
        r"syscall_0x3e7\((0x[0-9a-f]+, ){5}0x[0-9a-f]+\) = -1 ENOSYS "
        r"\(Function not implemented\)",
        lines[5],
    )


def test_read_strace_shows_what_was_read(toy):
    errs = io.StringIO()
    sc = Sys(toy.process(stderr=errs, strace=True, stdin=b"abc"))
    call(sc, "read", 0, sc.scratch, 10)
    assert errs.getvalue().splitlines()[-1] == 'read(0, "abc", 10) = 3'


def test_host_memory_protection_flags_constant():
    assert PROT_WRITE == 2


# -- fuzzing: any arguments give a result or -errno, never a host exception ---------------------

SLEEPERS = {73, 101, 115}  # ppoll, nanosleep, clock_nanosleep: could sleep for years


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzz_syscalls(toy, tmp_path, data):
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    (root / "file").write_bytes(b"content")
    errs = io.BytesIO()
    p = toy.process(sysroot=str(root), stdin=b"in", stdout=io.BytesIO(), stderr=errs)
    sc = Sys(p)
    sc.cstr("/file")
    sc.put(data.draw(st.binary(min_size=0, max_size=64)), 64)
    nr = data.draw(
        st.sampled_from(sorted(set(syscalls.TABLE) - SLEEPERS))
        | st.integers(0, 600).filter(lambda n: n not in SLEEPERS)
    )
    arg = (
        st.integers(0, 2**64 - 1)
        | st.integers(-200, 200)
        | st.sampled_from([sc.scratch, sc.scratch + 64, 0, -100, 0x10, 3, 4096])
    )
    args = data.draw(st.lists(arg, min_size=6, max_size=6))
    ret = sc(nr, *args)
    assert -4096 < ret or nr in (214, 222, 216)  # brk/mmap/mremap return addresses
    assert b"internal error" not in errs.getvalue(), errs.getvalue()
    p.close()


def test_proc_self_files(toy):
    p = toy.process(args=["arg1"])
    sc = Sys(p)

    def slurp(path: str) -> bytes:
        fd = call(sc, "openat", AT_FDCWD, sc.cstr(path, 8192), 0, 0)
        assert fd >= 0
        out = b""
        while n := call(sc, "read", fd, sc.scratch + 16384, 100):
            out += sc.get(sc.scratch + 16384, n)
        assert call(sc, "lseek", fd, 0, 0) == 0
        assert call(sc, "pread64", fd, sc.scratch + 16384, 4, 1) == min(4, len(out) - 1)
        call(sc, "close", fd)
        return out

    maps = slurp("/proc/self/maps").decode().splitlines()
    assert any(line.endswith("[stack]") and " rw-p " in line for line in maps)
    assert any(line.endswith(p.exe) and " r-xp " in line for line in maps)
    assert slurp("/proc/self/cmdline") == p.argv[0].encode() + b"\0arg1\0"
    assert slurp(f"/proc/{os.getpid()}/environ") == b"HOME=/home/x\0LANG=C\0"
    auxv = slurp("/proc/self/auxv")
    assert struct.unpack_from("<QQ", auxv, len(auxv) - 16) == (0, 0)
    assert call(sc, "openat", AT_FDCWD, sc.cstr("/proc/self/maps"), O_RDWR, 0) == err(errno.EACCES)


def test_ppoll(sc):
    fds = sc.scratch + 64
    call(sc, "pipe2", fds, 0)
    r, w = struct.unpack("<ii", sc.get(fds, 8))
    pfd = sc.put(struct.pack("<ihhihhihh", r, 1, 0, w, 4, 0, 99, 1, 0), 256)
    zero = sc.put(struct.pack("<qq", 0, 0), 512)
    assert call(sc, "ppoll", pfd, 3, zero, 0, 8) == 2  # w writable, 99 invalid
    _, _, rev_r, _, _, rev_w, _, _, rev_bad = struct.unpack("<ihhihhihh", sc.get(pfd, 24))
    assert (rev_r, rev_w & 4, rev_bad) == (0, 4, 0x20)
    call(sc, "write", w, sc.put(b"x", 600), 1)
    assert call(sc, "ppoll", pfd, 1, zero, 0, 8) == 1
    assert struct.unpack("<ihh", sc.get(pfd, 8))[2] & 1


def test_statfs_sendfile_fadvise(sc, tmp_path):
    f = tmp_path / "src"
    f.write_bytes(b"0123456789")
    buf = sc.scratch + 1024
    assert call(sc, "statfs", sc.cstr(str(tmp_path)), buf) == 0
    raw = sc.get(buf, 120)
    assert struct.unpack_from("<q", raw, 8)[0] == os.statvfs(tmp_path).f_bsize
    fd = call(sc, "openat", AT_FDCWD, sc.cstr(str(f)), 0, 0)
    assert call(sc, "fstatfs", fd, buf) == 0 and sc.get(buf, 120) == raw
    assert call(sc, "fadvise64", fd, 0, 0, 2) == 0
    assert call(sc, "fadvise64", 1, 0, 0, 2) == err(errno.ESPIPE)
    out = io.BytesIO()
    sc.p.fds.get(1).stream = out
    off = sc.put(struct.pack("<q", 3), 512)
    assert call(sc, "sendfile", 1, fd, off, 4) == 4
    assert struct.unpack("<q", sc.get(off, 8))[0] == 7
    assert call(sc, "sendfile", 1, fd, 0, 100) == 10
    assert out.getvalue() == b"3456" + b"0123456789"
    assert call(sc, "getgroups", 0, 0) == len(os.getgroups())
