"""Weights on disk: numpy's .npz archive, written atomically and read with checks first.

An .npz file is a zip archive with one member ``{name}.npy`` per array; each member is
a short header (dtype, shape, memory order) followed by the raw numbers. `read_arrays`
checks everything it can before reading a number: the archive's member names against
the names expected, each member's declared size, then each header's dtype and shape;
only then does it read the numbers, exactly as many bytes as the header promised. A
crafted file cannot make it allocate more than the model's own size, inflate a
compressed member beyond that, or unpickle anything.
"""

from __future__ import annotations

import math
import os
import stat
import sys
import uuid
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, NamedTuple

import numpy as np
from numpy.lib import format as npy

from ._checks import key_mismatch

MAX_HEADER_BYTES = 10_000
"""The largest .npy header read (numpy's own default limit for a header it parses)."""

MAX_ITEM_BYTES = 16
"""The widest number a member may hold (numpy's longdouble); wider is not a weight."""

MAX_ZIP_BYTES_PER_MEMBER = 4 * 65_536
"""The most a zip archive spends on one member besides its data, and on the archive's
end record: a name, an extra field and a comment, each at most 64 KiB, and the
fixed-size records around them (a few dozen bytes)."""

FILE_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
"""What a path that is not a regular file names, as `load` reports it."""

READ_ERRORS = (
    ValueError,  # numpy's header parser, among others
    EOFError,  # a compressed stream cut short
    zipfile.BadZipFile,  # a damaged archive, or a member failing its CRC
    zlib.error,  # a damaged compressed stream
    NotImplementedError,  # a compression method zipfile does not know
    RuntimeError,  # an encrypted member
)
"""What a damaged or crafted archive raises while it is being read."""


class _RefusedError(ValueError):
    """A reason of our own to refuse a file: "is not a weights file: ..." or "does not fit
    this model: ..."."""


class Member(NamedTuple):
    """A checked member of the archive: where it is, and how to read its numbers."""

    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool


def checked_path(path: object, where: str) -> str:
    """`path` (a str or an os.PathLike naming a str) as a str; else a TypeError.

    A bool or an int is refused: ``open(1)`` would write into file descriptor 1.
    """
    if isinstance(path, (str, os.PathLike)):
        name = os.fspath(path)
        if isinstance(name, str):
            return name
    raise TypeError(f"{where} expects a path (str or os.PathLike), got {type(path).__name__}")


def write_atomically(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` to `path` as an .npz archive, all or nothing.

    The archive goes to a new file in the same folder, is flushed and fsync'ed, and
    only then takes `path`'s name with `os.replace` (atomic on POSIX and Windows). If
    anything fails, the new file is removed and whatever was at `path` is untouched.
    A symlink is written through: the file it points to is replaced (atomically, in
    the target's folder) and the link stays a link, as ``open(path, "wb")`` would.
    """
    folder, name = os.path.split(os.path.realpath(path))
    path = os.path.join(folder, name)
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def read_arrays(path: str, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The arrays of the .npz archive at `path`, which must be exactly those of `shapes`.

    OSError if the file cannot be opened. Else a ValueError naming the path and
    saying either "is not a weights file" (not an .npz archive of numbers: damaged,
    truncated, crafted, or holding Python objects) or "does not fit this model"
    (other names or shapes, or numbers that are not real).
    The file's type and size are checked before a byte is read: a path to something
    other than a regular file (a FIFO, a device, a directory), or a file larger than
    any archive of `shapes` can be, is refused without reading it. Nothing is read
    beyond the headers until every check has passed.
    """
    with _archive(path, _largest_archive(shapes)) as archive:
        members = _checked_members(archive, shapes)
        return {key: _read_numbers(archive, member) for key, member in members.items()}


def read_shapes(path: str) -> dict[str, tuple[int, ...]]:
    """The name and shape of each array of the .npz archive at `path`, from the headers
    alone: what a script reads to build the model a file was saved from.

    The file is checked as `read_arrays` checks it before it knows the shapes (a
    regular file, a zip archive, .npy members with headers numpy can read); its
    numbers are not read, nor checked: `load` does that once the model is built.
    OSError if it cannot be opened; ValueError naming the path otherwise.
    """
    with _archive(path, sys.maxsize) as archive:
        shapes = {}
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise _RefusedError(
                    f"is not a weights file: member {info.filename!r} is not an .npy array"
                )
            with archive.open(info) as member:
                shape, _, _ = _read_header(member, info.filename)
            shapes[info.filename.removesuffix(".npy")] = shape
        return shapes


@contextmanager
def _archive(path: str, largest: int) -> Iterator[zipfile.ZipFile]:
    """The zip archive at `path`, a regular file of at most `largest` bytes; whatever
    is wrong with it, there or while it is read, is a ValueError naming the path."""
    try:
        with _open_regular_file(path, largest) as file:
            if file.read(len(npy.MAGIC_PREFIX)) == npy.MAGIC_PREFIX:
                raise _RefusedError(
                    "is not a weights file: it holds a single array, not an .npz archive"
                )
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                yield archive
    except _RefusedError as error:
        raise ValueError(f"load: {path!r} {error}") from None
    except READ_ERRORS as error:
        raise ValueError(f"load: {path!r} is not a weights file: {error}") from error


def _largest_archive(shapes: Mapping[str, tuple[int, ...]]) -> int:
    """The most bytes an .npz archive of arrays of `shapes` can take, stored or not."""
    members = sum(MAX_HEADER_BYTES + math.prod(shape) * MAX_ITEM_BYTES for shape in shapes.values())
    return members + (len(shapes) + 1) * MAX_ZIP_BYTES_PER_MEMBER


def _open_regular_file(path: str, largest: int) -> IO[bytes]:
    """`path` opened for reading, once its type (a regular file) and size are checked.

    Opened without blocking (a FIFO with no writer would wait forever) and checked
    with `os.fstat` on what was opened, so nothing can be swapped in between.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            kind = FILE_KINDS.get(stat.S_IFMT(status.st_mode), "not a file")
            raise _RefusedError(f"is not a weights file: it is {kind}, not a regular file")
        if status.st_size > largest:
            raise _RefusedError(
                f"is not a weights file: it has {status.st_size} bytes, more than an "
                f"archive of this model's arrays can take ({largest})"
            )
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _checked_members(
    archive: zipfile.ZipFile, shapes: Mapping[str, tuple[int, ...]]
) -> dict[str, Member]:
    """Each expected array's member, its names, sizes and headers checked."""
    keys = [info.filename.removesuffix(".npy") for info in archive.infolist()]
    if len(set(keys)) != len(keys):
        raise _RefusedError("is not a weights file: an array's name appears twice")
    mismatch = key_mismatch(list(shapes), list(keys))
    if mismatch is not None:
        raise _RefusedError(f"does not fit this model: {mismatch}")
    infos = archive.infolist()
    return {key: _checked_member(info, archive, shapes[key]) for key, info in zip(keys, infos)}


def _checked_member(
    info: zipfile.ZipInfo, archive: zipfile.ZipFile, shape: tuple[int, ...]
) -> Member:
    """`info`'s header, checked against `shape`, after its declared size."""
    key = info.filename.removesuffix(".npy")
    if not info.filename.endswith(".npy"):
        raise _RefusedError(f"is not a weights file: member {info.filename!r} is not an .npy array")
    largest = MAX_HEADER_BYTES + math.prod(shape) * MAX_ITEM_BYTES
    if info.file_size > largest:
        raise _RefusedError(
            f"is not a weights file: member {info.filename!r} declares {info.file_size} "
            f"bytes, more than an array of shape {shape} takes"
        )
    with archive.open(info) as member:
        found_shape, fortran_order, dtype = _read_header(member, info.filename)
    if dtype.hasobject:
        raise _RefusedError(
            f"is not a weights file: member {info.filename!r} holds Python objects "
            f"(dtype {dtype}), not numbers"
        )
    name = f"state_dict[{key!r}]"
    if dtype.kind not in "iuf":
        raise _RefusedError(
            f"does not fit this model: {name} expects real numbers, got dtype {dtype}"
        )
    if found_shape != shape:
        raise _RefusedError(
            f"does not fit this model: {name} expects shape {shape}, got {found_shape}"
        )
    return Member(info, dtype, found_shape, fortran_order)


def _read_header(member: IO[bytes], filename: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from an .npy header, read with numpy's public API."""
    version = npy.read_magic(member)
    if version == (1, 0):
        return npy.read_array_header_1_0(member, max_header_size=MAX_HEADER_BYTES)
    if version == (2, 0):
        return npy.read_array_header_2_0(member, max_header_size=MAX_HEADER_BYTES)
    raise _RefusedError(f"is not a weights file: member {filename!r} has .npy version {version}")


def _read_numbers(archive: zipfile.ZipFile, member: Member) -> np.ndarray:
    """The numbers of a checked member: exactly the bytes its header promised."""
    size = math.prod(member.shape) * member.dtype.itemsize
    with archive.open(member.info) as file:
        _read_header(file, member.info.filename)
        data = file.read(size)
        trailing = file.read(1)
    if len(data) != size or trailing:
        problem = "is truncated" if len(data) != size else "has bytes after its numbers"
        raise _RefusedError(f"is not a weights file: member {member.info.filename!r} {problem}")
    flat = np.frombuffer(data, dtype=member.dtype)
    if member.fortran_order:
        return flat.reshape(member.shape[::-1]).T
    return flat.reshape(member.shape)
