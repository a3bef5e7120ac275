"""Write-then-rename helpers: a file or folder appears whole or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a rename is durable once its folder is synced); best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def temp_prefix(target: Path) -> str:
    """Temp names beside ``target`` carry the writer's pid: ``.<name>.<pid>.<random>.tmp``."""
    return f".{Path(target).name}.{os.getpid()}."


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (signal 0; no permission = alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temps(target: Path) -> list[Path]:
    """Remove the temp files/folders a killed writer left beside ``target`` (a SIGKILL runs no
    cleanup): ``.<name>.<pid>.<anything>.tmp`` (and a DuckDB ``.tmp.wal``) whose pid is not a live
    process, and untagged ``.<name>.<random>.tmp`` from before temp names carried a pid. A live
    writer's temp files are left alone. Returns what was removed."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = re.compile(r"^\." + re.escape(target.name) + r"\.(?:(\d+)\.)?[^./]+\.tmp(?:\.wal)?$")
    removed = []
    for p in target.parent.iterdir():
        m = pattern.match(p.name)
        if not m:
            continue
        pid = int(m.group(1)) if m.group(1) else None
        if pid is not None and (pid == os.getpid() or pid_alive(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_file(target: Path, mode: str = "wb") -> Iterator:
    """Open a temp file beside ``target``; on success fsync and rename it over ``target``.

    On any error the temp file is removed and ``target`` keeps its previous content.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        fsync_path(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_file(target, "wb") as f:
        f.write(data)


def atomic_write_text(target: Path, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(target, text.encode(encoding))


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Build a folder under a temp name beside ``target``; rename it into place on success.

    If ``target`` already exists it is left untouched and the new folder replaces it only
    when complete (old one moved aside, then removed). What a killed writer left behind is
    cleaned up first: stale temp folders are removed, and an old folder moved aside without its
    replacement arriving is put back.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(target)
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        if target.exists():  # a swap that completed but was killed before removing the old copy
            shutil.rmtree(old, ignore_errors=True)
        else:  # killed between moving the old folder aside and renaming the new one in: put it back
            os.replace(old, target)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        for p in tmp.rglob("*"):
            if p.is_file():
                with open(p, "rb") as f:
                    os.fsync(f.fileno())
        if target.exists():
            os.replace(target, old)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(old, target)  # the previous folder stays in place
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        fsync_path(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
