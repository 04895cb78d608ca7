"""Where the ballot batches run: in this process, on local worker processes, or on a
Dask cluster (``distributed`` is imported only when a scheduler is given). A task is
``fn(work, batch)``: one work description shared by every task (a Dask runner sends it
to each worker once) and a batch; the verifier's walk and ``interop/`` use them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

IN_FLIGHT = 4  # tasks in flight per worker (back-pressure: bounded memory)


class InProcess:
    limit = 1
    scale = 1  # ballots per task: BATCH times this

    def submit(self, fn: Callable[..., Any], work: Any, batch: Any) -> Any:
        return fn(work, batch)

    def result(self, handle: Any) -> Any:
        return handle

    def close(self) -> None:
        pass


class Processes:
    """Local worker processes, forked at once while this process is still small."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        self.pool.submit(int)  # starts every worker now
        self.limit = IN_FLIGHT * workers
        self.scale = 1

    def submit(self, fn: Callable[..., Any], work: Any, batch: Any) -> Any:
        return self.pool.submit(fn, work, batch)

    def result(self, handle: Any) -> Any:
        return handle.result()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class Dask:
    """A Dask cluster: the work description scattered to every worker once, one task
    per batch."""

    def __init__(self, scheduler: str) -> None:
        import socket

        import dask.config
        import distributed  # lazily: only with a scheduler
        from distributed.comm.addressing import get_address_host_port

        dd: Any = distributed  # untyped
        # Dask keeps the last 1,000 messages to the scheduler for debugging; ours carry
        # 64 ballot lines each, over 100 MB in all.
        dask.config.set({"distributed.admin.low-level-log-length": 0})
        try:  # a quick probe first: a Client that fails to connect retries till its
            # timeout, then complains again on stderr when it is collected
            socket.create_connection(get_address_host_port(scheduler), timeout=5).close()
            client = dd.Client(scheduler, timeout=10, set_as_default=False)
        except (OSError, ValueError) as exc:
            raise ConnectionError(f"cannot reach scheduler {scheduler!r}: {exc}") from None
        try:
            client.wait_for_workers(1, timeout=60)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise ConnectionError(f"no worker joined scheduler {scheduler!r}") from exc
        self.client = client
        self.limit = IN_FLIGHT * max(1, sum(client.nthreads().values()))
        # A task costs the scheduler, the client and the worker a few milliseconds
        # whatever its size: 512 ballots per task keep that a small share of the work
        # (bench_scale, 10,000 ristretto255 ballots: 0.86 of local-2's throughput,
        # against 0.73 with 64 per task).
        self.scale = 8
        self._scattered: dict[int, tuple[Any, Any]] = {}

    def submit(self, fn: Callable[..., Any], work: Any, batch: Any) -> Any:
        got = self._scattered.get(id(work))
        if got is None:
            got = (work, self.client.scatter(work, broadcast=True, hash=False))
            self._scattered[id(work)] = got
        return self.client.submit(fn, got[1], batch, pure=False)

    def result(self, handle: Any) -> Any:
        out = handle.result()
        handle.release()
        return out

    def close(self) -> None:
        self.client.close()


Runner = InProcess | Processes | Dask
