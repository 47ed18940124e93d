"""Guest structure layouts of the 64-bit asm-generic Linux ABI (riscv64, aarch64, ...).

``struct stat`` here is include/uapi/asm-generic/stat.h (128 bytes), not x86-64's.
Everything is little-endian with LP64 sizes.
"""

from __future__ import annotations

import os
import stat as _stat
import struct

#: struct stat (asm-generic): dev, ino, mode, nlink, uid, gid, rdev, pad, size, blksize, pad,
#: blocks, atime, atime_nsec, mtime, mtime_nsec, ctime, ctime_nsec, 2 x unused
STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")
assert STAT.size == 128

#: struct statx up to stx_mnt_id (the rest of the 256 bytes is spare, zero)
STATX = struct.Struct("<IIQIIIHHQQQQqIiqIiqIiqIiIIIIQ")
STATX_SIZE = 256
assert STATX.size == 152

#: struct statfs (asm-generic, 64-bit): type, bsize, blocks, bfree, bavail, files, ffree,
#: fsid[2], namelen, frsize, flags, spare[4]
STATFS = struct.Struct("<qqQQQQQiiqqq4q")
assert STATFS.size == 120
TIMESPEC = struct.Struct("<qq")
TIMEVAL = struct.Struct("<qq")
RLIMIT = struct.Struct("<QQ")
TMS = struct.Struct("<qqqq")
#: struct sysinfo: uptime, loads[3], totalram, freeram, sharedram, bufferram, totalswap,
#: freeswap, procs (u16) + pad, totalhigh, freehigh, mem_unit (u32), padding to 112
SYSINFO = struct.Struct("<q3QQQQQQQH6xQQI4x")
assert SYSINFO.size == 112
#: kernel struct termios: iflag, oflag, cflag, lflag, line, cc[19]
TERMIOS = struct.Struct("<IIIIB19s")
WINSIZE = struct.Struct("<HHHH")
UTSNAME_FIELD = 65

STATX_BASIC_STATS = 0x7FF
STATX_BTIME = 0x800
STATX_MNT_ID = 0x1000

DT = {"unknown": 0, "fifo": 1, "chr": 2, "dir": 4, "blk": 6, "reg": 8, "lnk": 10, "sock": 12}


def _ns(st: os.stat_result, name: str) -> tuple[int, int]:
    ns = getattr(st, name + "_ns", None)
    if ns is None:
        ns = int((getattr(st, name, 0) or 0) * 1e9)
    return ns // 1_000_000_000, ns % 1_000_000_000


def pack_stat(st: os.stat_result) -> bytes:
    a, m, c = _ns(st, "st_atime"), _ns(st, "st_mtime"), _ns(st, "st_ctime")
    return STAT.pack(
        st.st_dev & (2**64 - 1),
        st.st_ino & (2**64 - 1),
        st.st_mode & 0xFFFFFFFF,
        st.st_nlink & 0xFFFFFFFF,
        st.st_uid & 0xFFFFFFFF,
        st.st_gid & 0xFFFFFFFF,
        getattr(st, "st_rdev", 0) & (2**64 - 1),
        0,
        st.st_size,
        getattr(st, "st_blksize", 4096) or 4096,
        0,
        getattr(st, "st_blocks", 0) or 0,
        a[0],
        a[1],
        m[0],
        m[1],
        c[0],
        c[1],
        0,
        0,
    )


def _major(dev: int) -> int:
    return ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF & 0xFFFFFFFF)


def _minor(dev: int) -> int:
    return (dev & 0xFF) | ((dev >> 12) & ~0xFF & 0xFFFFFFFF)


def pack_statx(st: os.stat_result) -> bytes:
    a, m, c = _ns(st, "st_atime"), _ns(st, "st_mtime"), _ns(st, "st_ctime")
    bt = getattr(st, "st_birthtime", None)
    b = (int(bt), int(bt * 1e9) % 1_000_000_000) if bt is not None else (0, 0)
    mask = STATX_BASIC_STATS | (STATX_BTIME if bt is not None else 0)
    rdev = getattr(st, "st_rdev", 0)
    head = STATX.pack(
        mask,
        getattr(st, "st_blksize", 4096) or 4096,
        0,  # attributes
        st.st_nlink & 0xFFFFFFFF,
        st.st_uid & 0xFFFFFFFF,
        st.st_gid & 0xFFFFFFFF,
        st.st_mode & 0xFFFF,
        0,
        st.st_ino & (2**64 - 1),
        st.st_size,
        getattr(st, "st_blocks", 0) or 0,
        0,  # attributes_mask
        a[0],
        a[1],
        0,
        b[0],
        b[1],
        0,
        c[0],
        c[1],
        0,
        m[0],
        m[1],
        0,
        _major(rdev),
        _minor(rdev),
        _major(st.st_dev),
        _minor(st.st_dev),
        0,
    )
    return head + bytes(STATX_SIZE - len(head))


def dirent64(ino: int, off: int, dtype: int, name: bytes) -> bytes:
    """One ``struct linux_dirent64`` record, 8-byte aligned."""
    reclen = (19 + len(name) + 1 + 7) & ~7
    rec = struct.pack("<QqHB", ino & (2**64 - 1), off, reclen, dtype) + name + b"\0"
    return rec + bytes(reclen - len(rec))


def dtype_of(entry: os.DirEntry) -> int:
    try:
        if entry.is_symlink():
            return DT["lnk"]
        if entry.is_dir(follow_symlinks=False):
            return DT["dir"]
        if entry.is_file(follow_symlinks=False):
            return DT["reg"]
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return DT["unknown"]
    for test, name in (
        (_stat.S_ISCHR, "chr"),
        (_stat.S_ISBLK, "blk"),
        (_stat.S_ISFIFO, "fifo"),
        (_stat.S_ISSOCK, "sock"),
    ):
        if test(mode):
            return DT[name]
    return DT["unknown"]


def utsname(
    sysname: str,
    nodename: str,
    release: str,
    version: str,
    machine: str,
    domainname: str = "(none)",
) -> bytes:
    out = b""
    for f in (sysname, nodename, release, version, machine, domainname):
        out += f.encode()[: UTSNAME_FIELD - 1].ljust(UTSNAME_FIELD, b"\0")
    return out
