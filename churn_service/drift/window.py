"""The drift window shared by every worker: the last DRIFT_WINDOW scored records over the whole service.

Where it lives: each worker appends to a ring of its own, a small memory-mapped file
`<dir>/<model version>-<pid>.ring` (a small header, then fixed-size rows of a timestamp and one bin index
per column). A worker never waits for another: its write is a `pack_into`
on its own mapping, no lock on the request path. Whoever answers `/drift` (or `/metrics`) maps every ring
of its model version, skips rows not yet stamped, and keeps the newest `capacity` rows over all of them.
A worker that swaps its model deletes the rings of the version it leaves and starts a fresh one, so the
window restarts with the model; rings of workers that died stay readable until then.
"""
from __future__ import annotations

import mmap
import os
import struct
import time
from pathlib import Path

import numpy as np

HEADER = struct.Struct("<Q")  # reserved (format version)


class RingWriter:
    """One worker's ring for one model version."""

    def __init__(self, folder: Path, version: str, width: int, capacity: int):
        self.version, self.width, self.capacity = version, width, capacity
        self.row = struct.Struct(f"<d{width}B")
        self.path = folder / f"{version}-{os.getpid()}.ring"
        size = HEADER.size + capacity * self.row.size
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, size)
            self.map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self.rows = np.frombuffer(self.map, dtype=_dtype(width), offset=HEADER.size, count=capacity)

    def add(self, slot: int, bins: tuple[int, ...]) -> None:
        """Write row number `slot` (from a counter shared by the worker's threads, so no two take the same)."""
        offset = HEADER.size + (slot % self.capacity) * self.row.size
        self.row.pack_into(self.map, offset, time.time(), *bins)

    def add_many(self, first_slot: int, bins: np.ndarray) -> None:
        """Rows `first_slot`, `first_slot + 1`, ... for a batch, written as whole blocks of the ring."""
        stamp, n = time.time(), len(bins)
        for start in range(0, n, self.capacity):  # a batch larger than the ring keeps its newest rows
            part = bins[start:start + self.capacity]
            at = (first_slot + start) % self.capacity
            head = min(len(part), self.capacity - at)
            for into, rows in ((at, part[:head]), (0, part[head:])):
                if len(rows):
                    self.rows["bins"][into:into + len(rows)] = rows
                    self.rows["stamp"][into:into + len(rows)] = stamp

    def close(self) -> None:
        del self.rows  # the mapping cannot close while a numpy view holds it
        self.map.close()


def _dtype(width: int) -> np.dtype:
    return np.dtype([("stamp", "<f8"), ("bins", "u1", (width,))])


def read_window(folder: Path, version: str, width: int, capacity: int) -> tuple[np.ndarray, float | None]:
    """The newest `capacity` rows of every ring of `version`: (bin indices, one row per record; oldest stamp)."""
    dtype, parts = _dtype(width), []
    for path in folder.glob(f"{version}-*.ring"):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # its worker swapped models meanwhile
            continue
        rows = np.frombuffer(data, dtype=dtype, offset=HEADER.size, count=(len(data) - HEADER.size) // dtype.itemsize)
        parts.append(rows[rows["stamp"] > 0])
    if not parts:
        return np.zeros((0, width), dtype=np.uint8), None
    rows = np.concatenate(parts)
    if len(rows) > capacity:
        rows = rows[np.argpartition(rows["stamp"], len(rows) - capacity)[len(rows) - capacity:]]
    since = float(rows["stamp"].min()) if len(rows) else None
    return rows["bins"], since


def drop_version(folder: Path, version: str) -> None:
    """The window restarts with the model: every ring of the version being left goes."""
    for path in folder.glob(f"{version}-*.ring"):
        path.unlink(missing_ok=True)
