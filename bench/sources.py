"""Third-party sources the real-program scripts build: fetched once, checked, unpacked.

Only from the registries the project may fetch from (PyPI, Debian), pinned by sha256, into
``bench/build`` (ignored by git): nothing fetched is ever committed.
"""

from __future__ import annotations

import hashlib
import tarfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"


def fetch(url: str, sha256: str) -> Path:
    """The file at ``url`` in ``bench/build`` (downloaded on first use, its sha256 checked
    before it is kept)."""
    archive = BUILD / url.rsplit("/", 1)[1]
    if archive.exists():
        return archive
    BUILD.mkdir(exist_ok=True)
    with urllib.request.urlopen(url, timeout=120) as resp:  # noqa: S310 - fixed https URLs
        data = resp.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{archive.name}: sha256 {digest}, expected {sha256}")
    archive.write_bytes(data)
    return archive


def unpack(archive: Path, dest: Path, keep: Callable[[str], bool] = lambda name: True) -> None:
    """Extract the members of ``archive`` whose names ``keep`` accepts into ``dest``."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if keep(m.name)]
        # (the "data" filter refuses links and paths out of the directory; Pythons before
        # 3.11.4 have no filters)
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(dest, members=members, **safe)  # noqa: S202 - filtered
