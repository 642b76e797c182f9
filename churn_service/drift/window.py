"""The drift window shared by every worker: the last DRIFT_WINDOW scored records over the whole service.

Where it lives: each worker appends to a ring of its own, a small memory-mapped file
`<dir>/<model version>-<pid>.ring` (a header holding when it was made, then fixed-size rows of a timestamp,
one bin index per column and the record's probability, which the estimated AUC needs unbinned). A worker
never waits for another: its write is a `pack_into` on its own mapping, no lock on the request path. Whoever
answers `/drift` (or `/metrics`) maps every ring of its model version, skips rows not yet stamped, and keeps
the newest `capacity` rows over all of them.
A worker that swaps its model deletes the rings of the version it leaves and starts a fresh one, so the
window restarts with the model; rings of workers that died stay readable until then.

A ring may be short or garbled (a worker killed between creating and sizing it, a full disk, a person's
editor): the reader skips a ring whose header is not a believable time and every row not stamped between
that time and now, and a writer that finds its own file cut short, overwritten or removed rebuilds it before
writing (a write past the end of a mapping would kill the worker with SIGBUS).
"""
from __future__ import annotations

import logging
import mmap
import os
import struct
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

HEADER = struct.Struct("<8sd")  # a mark no noise matches, and when the ring was made: no row of it is older
MARK = b"churnrg2"  # rg1 rows had no probability: a ring of that layout left in DRIFT_DIR is skipped
SLACK_S = 3600.0  # clock steps a stamp may take and still be believed
log = logging.getLogger(__name__)


class RingWriter:
    """One worker's ring for one model version."""

    def __init__(self, folder: Path, version: str, width: int, capacity: int):
        self.version, self.width, self.capacity = version, width, capacity
        self.row = struct.Struct(f"<d{width}Bd")
        self.path = folder / f"{version}-{os.getpid()}.ring"
        self.size = HEADER.size + capacity * self.row.size
        self._open()

    def _open(self) -> None:
        """A fresh ring file, mapped; the previous file's descriptor (a rebuild) is closed once replaced."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(fd, self.size)
        self.map = mmap.mmap(fd, self.size)
        self.rows = np.frombuffer(self.map, dtype=_dtype(self.width), offset=HEADER.size, count=self.capacity)
        self.made = time.time()
        HEADER.pack_into(self.map, 0, MARK, self.made)
        previous, self.fd = getattr(self, "fd", None), fd
        if previous is not None:
            os.close(previous)

    def _intact(self) -> None:
        """Rebuild the file if it was cut short (the mapping's pages past its end would fault), overwritten (its
        header is not ours: no row can be trusted) or removed (the readers could no longer see this worker's
        rows). One fstat per write: nothing next to the scoring."""
        try:
            stat = os.fstat(self.fd)
            if (stat.st_nlink == 0 or stat.st_size < self.size
                    or HEADER.unpack_from(self.map) != (MARK, self.made)):  # read only once the size is known whole
                self._open()
        except OSError:  # another thread rebuilt it meanwhile (or the disk is full): the rows still go somewhere
            log.warning("could not rebuild drift ring %s", self.path, exc_info=True)

    def add(self, slot: int, bins: tuple[int, ...], probability: float) -> None:
        """Write row number `slot` (from a counter shared by the worker's threads, so no two take the same)."""
        self._intact()
        offset = HEADER.size + (slot % self.capacity) * self.row.size
        self.row.pack_into(self.map, offset, time.time(), *bins, probability)

    def add_many(self, first_slot: int, bins: np.ndarray, probabilities: np.ndarray) -> None:
        """Rows `first_slot`, `first_slot + 1`, ... for a batch, written as whole blocks of the ring."""
        self._intact()
        stamp, n = time.time(), len(bins)
        for start in range(0, n, self.capacity):  # a batch larger than the ring keeps its newest rows
            part, scores = bins[start:start + self.capacity], probabilities[start:start + self.capacity]
            at = (first_slot + start) % self.capacity
            head = min(len(part), self.capacity - at)
            for into, rows, values in ((at, part[:head], scores[:head]), (0, part[head:], scores[head:])):
                if len(rows):
                    self.rows["bins"][into:into + len(rows)] = rows
                    self.rows["probability"][into:into + len(rows)] = values
                    self.rows["stamp"][into:into + len(rows)] = stamp

    def close(self) -> None:
        del self.rows  # the mapping cannot close while a numpy view holds it
        self.map.close()
        os.close(self.fd)


def _dtype(width: int) -> np.dtype:
    return np.dtype([("stamp", "<f8"), ("bins", "u1", (width,)), ("probability", "<f8")])


class Window(NamedTuple):
    bins: np.ndarray  # one row of bin indices per record
    probabilities: np.ndarray  # each record's probability, in the same order
    since: float | None  # the oldest stamp


def read_window(folder: Path, version: str, width: int, capacity: int) -> Window:
    """The newest `capacity` rows of every ring of `version`."""
    dtype, parts = _dtype(width), []
    latest = time.time() + SLACK_S  # a stamp past this (or NaN, or 0: never written) is not a row
    for path in folder.glob(f"{version}-*.ring"):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # its worker swapped models meanwhile
            continue
        whole_rows = max(len(data) - HEADER.size, 0) // dtype.itemsize
        if not whole_rows:
            continue  # shorter than its header and one row: a ring cut short
        mark, made = HEADER.unpack_from(data)
        if mark != MARK or not 0 < made <= latest:  # NaN fails too
            continue  # not a header this module wrote: garbage
        rows = np.frombuffer(data, dtype=dtype, offset=HEADER.size, count=whole_rows)
        parts.append(rows[(rows["stamp"] >= made - SLACK_S) & (rows["stamp"] <= latest)])
    if not parts:
        return Window(np.zeros((0, width), dtype=np.uint8), np.zeros(0), None)
    rows = np.concatenate(parts)
    if len(rows) > capacity:
        rows = rows[np.argpartition(rows["stamp"], len(rows) - capacity)[len(rows) - capacity:]]
    since = float(rows["stamp"].min()) if len(rows) else None
    return Window(rows["bins"], rows["probability"], since)


def drop_version(folder: Path, version: str) -> None:
    """The window restarts with the model: every ring of the version being left goes."""
    for path in folder.glob(f"{version}-*.ring"):
        path.unlink(missing_ok=True)
