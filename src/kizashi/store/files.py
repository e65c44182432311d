"""Private files: what Kizashi keeps on disk is readable by its own user only.

The data directory holds TLP:RED reports (the SQLite file, the search index, the job
queue) and the key that signs sessions. It is made 0700 and its files 0600 whatever the
umask, and existing installs are tightened when they are opened. The ``kizashi`` command
also sets the umask to 077 (as PostgreSQL does), so the files that libraries create
inside (SQLite's -wal and -shm, tantivy's segments) are private from the start.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
#: The process umask the command line runs under.
UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700 and tighten it if it exists.

    Only ``path`` itself is tightened: a parent that already exists (a home directory,
    ``/tmp``) is not Kizashi's to change."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_parent(path: Path) -> None:
    """Create the missing directories above ``path`` 0700; leave existing ones as they are."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def private_file(path: Path) -> Path:
    """Make ``path`` exist as a 0600 file (created empty if missing) before anyone writes it."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path


def tighten_file(path: Path) -> None:
    """Tighten ``path`` to 0600 if it exists; a missing file stays missing."""
    _tighten(path, FILE_MODE)


def tighten_tree(path: Path) -> None:
    """Tighten every file and directory under ``path`` (an index written before this)."""
    if not path.is_dir():
        return
    for entry in path.rglob("*"):
        if entry.is_symlink():
            continue
        _tighten(entry, DIR_MODE if entry.is_dir() else FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    """Drop group and other bits; a file owned by someone else is left to its owner."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
        return
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
