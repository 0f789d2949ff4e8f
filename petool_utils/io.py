"""Crash-safe file writes: an artifact is either the old file or the new one, never half of each."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Any, Iterable, Iterator


def _umask() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


class WriteError(OSError):
    """A file could not be written (a full disk, a quota, a file-size limit): the error names the file,
    which ``[Errno 28] No space left on device`` alone does not. ``note`` says what was kept."""

    def __init__(self, path: str | os.PathLike[str], cause: OSError, note: str = ""):
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.note = note

    def __str__(self) -> str:
        return f"could not write {self.filename}: {self.strerror}" + (f" ({self.note})" if self.note else "")


def json_line(obj: Any) -> str:
    """One JSON line, UTF-8 text as it is; a record holding a lone surrogate (a server's reply can) is
    written with ``\\u`` escapes instead, which read back to the same text, rather than not at all."""
    line = json.dumps(obj, ensure_ascii=False)
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = json.dumps(obj)
    return line


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write through a temporary file in the same folder, fsync, then rename over the target.

    ``mkstemp`` creates the file with mode 0600; it is given the mode a plain ``open`` would give
    (0666 minus the umask), so artifacts are as readable as any other file the user writes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteError(path, exc, "it is as it was") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(path, exc, "it is as it was") from exc
        raise
    return path


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> Path:
    return atomic_write_text(path, "".join(json_line(r) + "\n" for r in rows))


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read ``.json`` or ``.json.gz``; every way the content can be broken is a ``ValueError`` that names
    the file (invalid JSON, a truncated or non-gzip ``.gz``, bytes that are not UTF-8, nesting too deep).
    A missing file stays ``FileNotFoundError``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise ValueError(f"{path}: is a folder, not a JSON file") from exc
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except EOFError as exc:
            raise ValueError(f"{path}: truncated gzip file (the stream ends before its end marker)") from exc
        except (gzip.BadGzipFile, OSError, zlib.error) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte offset {exc.start}: {data[exc.start:exc.start + 4]!r})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ValueError(f"{path}: JSON nested too deeply to read") from exc


def iter_jsonl(path: str | os.PathLike[str], *, tolerate_torn_tail: bool = True) -> Iterator[dict]:
    """Yield the records of a JSONL file.

    A last line without its newline is what a killed writer leaves behind; with ``tolerate_torn_tail``
    it is skipped (the entry will be redone), anywhere else a bad line is an error naming file and line.
    """
    path = Path(path)
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            if tolerate_torn_tail and i == len(lines) and not line.endswith("\n"):
                return
            raise ValueError(f"{path}: line {i} is not valid JSON ({exc})") from exc


def repair_torn_tail(path: str | os.PathLike[str]) -> int:
    """Cut an unterminated last line (a write interrupted by kill -9) so appends start on a fresh line.

    Returns the number of bytes removed.
    """
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    cut = data.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(cut)
    return len(data) - cut


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks (a manifest's data record, a prior's sources)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
