"""Decrypting an export in parallel while the next Query pages arrive, in bounded memory.

One thread pages through the Query (I/O) into a short queue; chunks of rows
are decrypted and rendered as output by a pool (processes for the local key,
where decryption is CPU work; threads for KMS, where each row waits on a
Decrypt call); chunks come back in their original order. At most
PREFETCH_PAGES pages and `window` chunks are in flight, so memory stays flat
however many rows there are.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from chalicelib.settings import Settings
from chalicelib.staff.records import staff_view
from chalicelib.staff.sheets import Row
from chalicelib.store.table import from_dynamodb, is_expired

PREFETCH_PAGES = 3
CHUNK_ROWS = 200
KMS_THREADS = 16
_DONE = object()
_worker = threading.local()


def default_workers(settings: Settings) -> int:
    if settings.uses_local_keys:
        # One more than the CPUs: the main process mostly waits on DynamoDB and the disk.
        return max(1, min((os.cpu_count() or 1) + 1, 8))
    return KMS_THREADS


def _start_worker(settings: Settings) -> None:
    _worker.cipher = settings.cipher()
    # Upload records give each attached file's name, size and check state (clients are lazy).
    _worker.table = settings.table()


def _decode_chunk(
    raw_items: list[dict[str, Any]], now_epoch: int, render: Callable[[list[Row]], Any] | None
) -> tuple[int, Any]:
    """Decrypt a chunk and render it where it was decrypted: only output text travels back."""
    rows = []
    for raw in raw_items:
        item = from_dynamodb(raw)
        if not is_expired(item, now_epoch):
            rows.append(staff_view(item, _worker.cipher, _worker.table, now_epoch))
    return len(rows), render(rows) if render else rows


class _Inline(Executor):
    """Decrypt in the calling thread (--workers 1)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def make_pool(settings: Settings, workers: int) -> Executor:
    if workers <= 1:
        _start_worker(settings)
        return _Inline()
    if settings.uses_local_keys:
        # fork: workers share the parent's loaded code instead of importing it again
        # (peak memory). They are all started here, before the Query thread exists,
        # so no lock can be copied mid-use; gc.freeze keeps the collector from
        # touching, and so copying, the shared pages. The cipher is built here
        # first, so the Encryption SDK (imported on first use) is loaded once and
        # shared, not imported again by every worker (some 35 MB over three).
        settings.cipher()
        gc.freeze()
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker, initargs=(settings,),
        )
        pool.submit(int).result()
        gc.unfreeze()  # the workers keep theirs frozen; this process may collect again
        return pool
    return ThreadPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(settings,)
    )


def _prefetched(pages: Iterable[list[dict[str, Any]]], stop: threading.Event) -> Iterator[Any]:
    """The pages, fetched one step ahead by a thread; it gives up once `stop` is set."""
    box: queue.Queue[Any] = queue.Queue(maxsize=PREFETCH_PAGES)

    def hand_over(thing: Any) -> bool:
        while not stop.is_set():
            try:
                box.put(thing, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not hand_over(page):
                    return
            hand_over(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it
            hand_over(error)

    fetcher = threading.Thread(target=fetch, name="query-pages", daemon=True)
    fetcher.start()
    while True:
        page = box.get()
        if page is _DONE:
            return
        if isinstance(page, BaseException):
            raise page
        yield page


def decoded_chunks(
    pages: Iterable[list[dict[str, Any]]], pool: Executor, *, now_epoch: int, window: int,
    render: Callable[[list[Row]], Any] | None = None,
) -> Iterator[tuple[int, Any]]:
    """(row count, rendered rows) for each chunk of the raw pages, in the pages' order.

    `render` must pickle (a sheets renderer); without it, chunks are lists of row dicts.
    """
    pending: deque[Future[tuple[int, Any]]] = deque()
    stop = threading.Event()
    try:
        for page in _prefetched(pages, stop):
            for start in range(0, len(page), CHUNK_ROWS):
                chunk = page[start:start + CHUNK_ROWS]
                pending.append(pool.submit(_decode_chunk, chunk, now_epoch, render))
                while len(pending) >= window:
                    yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        stop.set()
        for future in pending:
            future.cancel()
