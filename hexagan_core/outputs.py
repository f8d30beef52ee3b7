"""A run's output files: each destination checked before the long work, each written whole.

A long run must not end by failing to write its result, nor leave half a file behind. So the
command line checks every destination before it trains (`check_destination`), and writes each
file to a temporary file in the destination's own directory, renamed over the destination only
once complete (`written_file`; `os.replace` is atomic within one filesystem). A full disk or an
interruption leaves the previous file, or none, never a truncated one. A model directory's files
are staged in a temporary sibling directory and moved into place after all of them were written
(`written_directory`). Every failure raises OSError naming the destination.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["check_destination", "written_directory", "written_file"]


def check_destination(path: str | Path, *, directory: bool = False) -> None:
    """Raise OSError naming `path` unless a file (a directory: `directory=True`) can be written
    there: not a directory (a file), its folder existing (a directory's missing parents are
    created when it is written) and writable, tried by creating a file in it."""
    path = Path(path)
    if path.exists() and path.is_dir() != directory:
        raise OSError(f"cannot write {path}: it is {'a directory' if path.is_dir() else 'a file'}")
    if directory:
        folder = path
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise OSError(f"cannot write {path}: {folder} is a file")
    else:
        folder = path.parent
        if not folder.is_dir():
            raise OSError(f"cannot write {path}: the folder {folder} does not exist")
    probe = folder / _temporary_name(".hexagan-probe")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.remove(probe)
    except OSError as error:
        raise OSError(f"cannot write {path}: {error.strerror or error}") from error


@contextmanager
def written_file(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed to `path` when the block ends
    without an error, removed otherwise. OSError names `path`."""
    path = Path(path)
    temporary = path.parent / _temporary_name(path.name)
    try:
        # Created here with the default mode (0o666 less the umask), as `open` would create
        # `path`: tempfile's files are private (0o600) and would stay so after the rename.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        raise OSError(f"could not write {path}: {error.strerror or error}") from error
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def written_directory(directory: str | Path) -> Iterator[Path]:
    """A temporary directory beside `directory` to write files and folders into; when the
    block ends without an error they are moved into `directory` (created if missing; other
    files in it are kept, a folder of the same name is replaced), else removed. OSError names
    `directory`."""
    directory = Path(directory)
    staging = directory.parent / _temporary_name(directory.name)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        yield staging
        directory.mkdir(exist_ok=True)
        for entry in staging.iterdir():
            target = directory / entry.name
            if entry.is_dir() and target.is_dir():
                shutil.rmtree(target)  # a folder (an ensemble's member) replaces the old whole
            os.replace(entry, target)
    except OSError as error:
        raise OSError(f"could not write {directory}: {error.strerror or error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _temporary_name(name: str) -> str:
    """A hidden name beside `name` that no other writer uses."""
    return f".{name}.{uuid.uuid4().hex[:12]}.tmp"
