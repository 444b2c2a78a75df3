"""Files and folders only their owner may read: the data folder, the SQLite database, exports.

Kizuki stores customers' posts; a file another local user can read leaks them. Folders are made 0700 and
files 0600 when they are created (`os.open` with the mode, so there is no moment when they are readable),
and the SQLite files that exist already are narrowed when the database is opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "narrow", "private_dir", "touch_private", "write_private"]

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents) as a folder only its owner can enter; an existing folder is left as is
    (it may be shared on purpose), the folders this call creates are 0700 whatever the umask."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, PRIVATE_DIR)  # mkdir's mode is masked by the umask; parents get 0777 & ~umask
    return path


def narrow(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Take away group and other permissions from an existing file we own (nothing if it does not exist)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(st.st_mode) & mode)


def touch_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist (so a program that opens it later inherits it)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        narrow(path)
        return
    os.close(fd)


def write_private(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path`, created 0600 or narrowed to 0600 before anything is written."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)  # an existing file keeps its mode through O_CREAT: narrow it too
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            fd = -1
            f.write(text)
    finally:
        if fd != -1:
            os.close(fd)
