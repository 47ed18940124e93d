"""The guest's file descriptors and how guest paths become host paths.

Guest fds map to open files: host fds (``HostFile``) or Python streams (``StreamFile``,
for the stdin/stdout/stderr a caller hands in). ``dup`` shares one open file, as in Linux
(shared offset and status flags, per-fd close-on-exec). The host's own fds 0-2 are never
closed by the guest.

Paths: without a sysroot a guest path is a host path (relative ones against the guest's
own cwd, which never changes the host process's cwd). With a sysroot the guest sees DIR as
``/``: lookups walk the path component by component, resolving ``..`` and symlinks inside
DIR, so nothing can escape it (chroot semantics).
"""

from __future__ import annotations

import errno
import io
import os
import stat as _stat
import time
from collections import deque
from typing import Any

AT_FDCWD = -100

# open(2) flags of the asm-generic ABI (riscv64 and most others; arm64 overrides four)
GENERIC_O_FLAGS = {
    "O_WRONLY": 0o1,
    "O_RDWR": 0o2,
    "O_CREAT": 0o100,
    "O_EXCL": 0o200,
    "O_NOCTTY": 0o400,
    "O_TRUNC": 0o1000,
    "O_APPEND": 0o2000,
    "O_NONBLOCK": 0o4000,
    "O_DSYNC": 0o10000,
    "O_ASYNC": 0o20000,
    "O_DIRECT": 0o40000,
    "O_LARGEFILE": 0o100000,
    "O_DIRECTORY": 0o200000,
    "O_NOFOLLOW": 0o400000,
    "O_NOATIME": 0o1000000,
    "O_CLOEXEC": 0o2000000,
    "O_SYNC": 0o4010000,
    "O_PATH": 0o10000000,
    "O_TMPFILE": 0o20200000,
}


class OpenFlags:
    """Guest open(2) flags <-> host flags, by name (the ISA may renumber some)."""

    def __init__(self, overrides: dict[str, int] | None = None) -> None:
        self.guest = dict(GENERIC_O_FLAGS)
        self.guest.update(overrides or {})
        # O_SYNC includes O_DSYNC; O_TMPFILE includes O_DIRECTORY: translate composites first
        self.order = sorted(self.guest, key=lambda n: -bin(self.guest[n]).count("1"))

    def to_host(self, gflags: int) -> int:
        host = gflags & 3  # access mode
        left = gflags & ~3
        for name in self.order:
            v = self.guest[name]
            if name in ("O_WRONLY", "O_RDWR") or left & v != v:
                continue
            hv = getattr(os, name, 0)
            if hv:
                host |= hv
            left &= ~v
        return host

    def names(self, gflags: int) -> str:
        """strace-style: ``O_RDWR|O_CREAT|O_CLOEXEC``."""
        acc = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}.get(gflags & 3, "O_ACCMODE")
        parts = [acc]
        left = gflags & ~3
        for name in self.order:
            v = self.guest[name]
            if name in ("O_WRONLY", "O_RDWR") or left & v != v:
                continue
            parts.append(name)
            left &= ~v
        if left:
            parts.append(f"{left:#o}")
        return "|".join(parts)


# -- open files ------------------------------------------------------------------------------


class OpenFile:
    """An open file description (shared by dup'ed fds)."""

    host_fd: int | None = None
    is_dir = False

    def __init__(self, flags: int, path: str) -> None:
        self.flags = flags  #: guest O_* flags (F_GETFL)
        self.path = path  #: guest path (for *at() with this as dirfd, /proc/self/fd)
        self.refs = 0

    def read(self, n: int) -> bytes:
        raise OSError(errno.EBADF, "not open for reading")

    def write(self, data: bytes) -> int:
        raise OSError(errno.EBADF, "not open for writing")

    def stat(self) -> os.stat_result:
        raise OSError(errno.EBADF, "no stat")

    def pread(self, n: int, offset: int) -> bytes:
        raise OSError(errno.ESPIPE, "illegal seek")

    def seek(self, offset: int, whence: int) -> int:
        raise OSError(errno.ESPIPE, "illegal seek")

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        pass


class HostFile(OpenFile):
    """A host file descriptor (files, directories, pipes, the real stdio)."""

    def __init__(self, fd: int, flags: int, path: str, owned: bool = True) -> None:
        super().__init__(flags, path)
        self.host_fd = fd
        self.owned = owned
        self.dir_entries: list[tuple[str, int, int]] | None = None
        self.dir_pos = 0
        try:
            self.is_dir = _stat.S_ISDIR(os.fstat(fd).st_mode)
        except OSError:
            self.is_dir = False

    def read(self, n: int) -> bytes:
        if self.is_dir:
            raise OSError(errno.EISDIR, "is a directory")
        return os.read(self.host_fd, n)

    def write(self, data: bytes) -> int:
        return os.write(self.host_fd, data)

    def stat(self) -> os.stat_result:
        return os.fstat(self.host_fd)

    def pread(self, n: int, offset: int) -> bytes:
        return os.pread(self.host_fd, n, offset)

    def seek(self, offset: int, whence: int) -> int:
        return os.lseek(self.host_fd, offset, whence)

    def isatty(self) -> bool:
        return os.isatty(self.host_fd)

    def close(self) -> None:
        if self.owned:
            os.close(self.host_fd)


class StreamFile(OpenFile):
    """A Python stream standing in for a standard fd (tests, embedding).

    Reads come from ``stream`` (bytes, a binary or a text stream); writes go to it and are
    flushed at once so the guest's output interleaves as it would on a pipe.
    """

    def __init__(self, stream: Any, flags: int, path: str) -> None:
        super().__init__(flags, path)
        if isinstance(stream, (bytes, bytearray)):
            stream = io.BytesIO(bytes(stream))
        self.stream = stream
        self.text = isinstance(stream, io.TextIOBase) and not hasattr(stream, "buffer")
        self.binary = getattr(stream, "buffer", None) if not self.text else None

    def read(self, n: int) -> bytes:
        s = self.binary or self.stream
        if self.text:
            return s.read(n).encode()
        read1 = getattr(s, "read1", None)
        return read1(n) if read1 is not None else s.read(n)

    def write(self, data: bytes) -> int:
        if self.text:
            self.stream.write(data.decode("utf-8", "replace"))
        else:
            out = self.binary or self.stream
            out.write(data)
        self.stream.flush()
        return len(data)

    def stat(self) -> os.stat_result:
        # what a pipe looks like, so the guest's libc picks full buffering as on a pipe
        now = time.time_ns()
        return os.stat_result(
            (_stat.S_IFIFO | 0o600, 0, 0, 1, os.getuid(), os.getgid(), 0, 0, 0, 0),
            {
                "st_atime_ns": now,
                "st_mtime_ns": now,
                "st_ctime_ns": now,
                "st_blksize": 4096,
                "st_blocks": 0,
                "st_rdev": 0,
            },
        )


class MemFile(OpenFile):
    """A read-only regular file whose contents we make up (``/proc/self/maps`` ...)."""

    def __init__(self, data: bytes, flags: int, path: str) -> None:
        super().__init__(flags, path)
        self.data = data
        self.pos = 0

    def read(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    def pread(self, n: int, offset: int) -> bytes:
        return self.data[offset : offset + n]

    def seek(self, offset: int, whence: int) -> int:
        base = {0: 0, 1: self.pos, 2: len(self.data)}.get(whence)
        if base is None or base + offset < 0:
            raise OSError(errno.EINVAL, "bad seek")
        self.pos = base + offset
        return self.pos

    def stat(self) -> os.stat_result:
        now = time.time_ns()
        return os.stat_result(
            (_stat.S_IFREG | 0o444, 0, 0, 1, os.getuid(), os.getgid(), 0, 0, 0, 0),
            {
                "st_atime_ns": now,
                "st_mtime_ns": now,
                "st_ctime_ns": now,
                "st_blksize": 1024,
                "st_blocks": 0,
                "st_rdev": 0,
            },
        )


#: guest fds are below this (RLIMIT_NOFILE's usual soft limit)
MAX_FDS = 1024


class FdTable:
    """Guest fd -> (open file, close-on-exec)."""

    def __init__(self) -> None:
        self.fds: dict[int, tuple[OpenFile, bool]] = {}

    def get(self, fd: int) -> OpenFile:
        try:
            return self.fds[fd][0]
        except KeyError:
            raise OSError(errno.EBADF, "bad file descriptor") from None

    def add(
        self, f: OpenFile, cloexec: bool = False, lowest: int = 0, fd: int | None = None
    ) -> int:
        if fd is None:
            fd = lowest
            while fd in self.fds:
                fd += 1
        if fd < 0:
            raise OSError(errno.EBADF, "bad file descriptor")
        if fd >= MAX_FDS:
            raise OSError(errno.EMFILE, "too many open files")
        if fd in self.fds:
            self.close(fd)
        f.refs += 1
        self.fds[fd] = (f, cloexec)
        return fd

    def close(self, fd: int) -> None:
        f, _ = self.fds.pop(fd, (None, False))
        if f is None:
            raise OSError(errno.EBADF, "bad file descriptor")
        f.refs -= 1
        if f.refs == 0:
            f.close()

    def cloexec(self, fd: int) -> bool:
        self.get(fd)
        return self.fds[fd][1]

    def set_cloexec(self, fd: int, on: bool) -> None:
        self.fds[fd] = (self.get(fd), on)

    def close_all(self) -> None:
        for fd in list(self.fds):
            try:
                self.close(fd)
            except OSError:
                pass


# -- paths ------------------------------------------------------------------------------------


class Paths:
    """Guest path -> host path, for the guest's cwd and an optional sysroot."""

    MAX_LINKS = 40

    def __init__(self, sysroot: str | os.PathLike | None = None, cwd: str | None = None) -> None:
        self.root = os.path.realpath(sysroot) if sysroot is not None else None
        if self.root is not None and not os.path.isdir(self.root):
            raise FileNotFoundError(errno.ENOENT, "sysroot is not a directory", str(sysroot))
        #: the guest's working directory, as a guest path
        self.cwd = cwd or ("/" if self.root is not None else os.getcwd())

    def guest_abs(self, path: str, base: str | None = None) -> str:
        """Lexically absolute guest path (no symlinks resolved)."""
        if not path.startswith("/"):
            path = (base or self.cwd).rstrip("/") + "/" + path
        return path

    def host(self, path: str, base: str | None = None, follow: bool = True) -> str:
        """The host path for guest ``path`` (relative to guest dir ``base`` or the cwd)."""
        if not path:
            raise OSError(errno.ENOENT, "empty path")
        if "\0" in path:
            raise OSError(errno.EINVAL, "NUL in path")
        full = self.guest_abs(path, base)
        if self.root is None:
            return full
        return self.root + self.resolve(full, follow)

    def resolve(self, guest: str, follow_last: bool = True) -> str:
        """Walk ``guest`` inside the sysroot: ``..`` stops at ``/``, symlinks are read
        and followed as guest paths. Returns a guest path with no symlinks left (except
        the last component when ``follow_last`` is false)."""
        root = self.root
        assert root is not None
        trailing = guest.endswith("/")
        parts = deque(p for p in guest.split("/") if p and p != ".")
        done: list[str] = []
        links = 0
        while parts:
            c = parts.popleft()
            if c == "..":
                if done:
                    done.pop()
                continue
            cand = root + "/" + "/".join([*done, c])
            if (parts or follow_last or trailing) and os.path.islink(cand):
                links += 1
                if links > self.MAX_LINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links")
                target = os.readlink(cand)
                if target.startswith("/"):
                    done = []
                parts.extendleft(reversed([p for p in target.split("/") if p and p != "."]))
                continue
            done.append(c)
        return "/" + "/".join(done)

    def guest_of_host(self, host: str) -> str:
        """The guest's name for a host path inside the sysroot (getcwd, readlink)."""
        if self.root is None:
            return host
        if host == self.root:
            return "/"
        if host.startswith(self.root + "/"):
            return host[len(self.root) :]
        return host
