"""Reaching a Dask cluster and waiting on it, for ``distributed`` and its sweep.

Dask is an optional extra; nothing here imports it before it is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cdcviewer._version import __version__
from cdcviewer.analysis.workspace import default_workers
from cdcviewer.base.errors import CdcError
from cdcviewer.base.progress import TaskState

if TYPE_CHECKING:
    from distributed import Client, Future

LOCAL = "local"  # the address meaning "start a LocalCluster here"
POLL_SECONDS = 0.5  # how often a waiting client looks at cancellation
WORKER_WAIT_SECONDS = 120.0
INSTALL_HINT = "install cdcviewer[dask] (pip install 'cdcviewer[dask]')"


class DaskUnavailable(CdcError):
    """The Dask path was asked for but dask/distributed are not installed."""


def require_dask() -> None:
    """Raise ``DaskUnavailable`` naming the extra when dask or distributed is missing."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as error:
        raise DaskUnavailable(
            f"--dask needs dask and distributed ({error}): {INSTALL_HINT}"
        ) from None


@contextmanager
def open_client(
    address: str | None = None, workers: int | None = None, **cluster_options: object
) -> Iterator[Client]:
    """A client of the scheduler at ``address``, or of a new local cluster of processes.

    ``address`` None or ``"local"`` starts ``workers`` single-threaded worker processes
    (default: one per core, up to 8) for the life of the block; ``cluster_options`` go to
    ``LocalCluster`` (e.g. ``memory_limit``).
    """
    require_dask()
    from distributed import Client, LocalCluster

    if address in (None, LOCAL):
        options: dict[str, object] = {
            "n_workers": workers or default_workers(),
            "threads_per_worker": 1,  # hashing is per task; processes scale past the GIL
            "processes": True,
            "dashboard_address": None,
            # The scheduler still serves health checks over HTTP, by default on 8787, which
            # another cluster may hold: a free local port instead.
            "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
            # The scheduler runs in this process: keep its routine warnings (p2p shuffle
            # bookkeeping) off the terminal; failures reach the user as failures.
            "silence_logs": logging.ERROR,
        }
        options.update(cluster_options)
        with LocalCluster(**options) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError) as error:
        raise CdcError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    with client:
        yield client


def compute_all(
    client: Client,
    wanted: list[object],
    state: TaskState,
    progress: Callable[[int, int], None] | None = None,
) -> list[object]:
    """The results of the dask collections ``wanted``, computed together on the cluster.

    Cancellation is looked at while they run, and ``progress(done, total)`` told as each
    one finishes; on cancellation or any error the computation is cancelled.
    """
    futures = client.compute(wanted)
    try:
        pending = set(futures)
        while pending:
            _, pending = wait_some(pending, state)
            if progress is not None:
                progress(len(futures) - len(pending), len(futures))
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


def wait_some(pending: set[Future], state: TaskState) -> tuple[set[Future], set[Future]]:
    """(done, still pending) once one of ``pending`` is done; cancellation is looked at
    every ``POLL_SECONDS`` meanwhile."""
    from distributed import wait

    while True:
        state.check()
        try:
            done, not_done = wait(
                list(pending), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED"
            )
        except TimeoutError:
            continue
        return set(done), set(not_done)


def check_workers(client: Client) -> None:
    """Fail early and clearly when no worker joins or workers run another cdcviewer."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError:
        raise CdcError(
            f"no Dask worker joined the scheduler within {WORKER_WAIT_SECONDS:.0f} s"
        ) from None
    try:
        versions = client.run(worker_version)
    except Exception as error:  # an unpickling error names the module workers lack
        raise CdcError(f"the Dask workers cannot run cdcviewer ({error}): {INSTALL_HINT}") from None
    other = sorted({v for v in versions.values() if v != __version__})
    if other:
        raise CdcError(
            f"the Dask workers run cdcviewer {', '.join(other)}, this is {__version__}: "
            "figures may differ, install the same version on both"
        )


def worker_version() -> str:
    return __version__


# --------------------------------------------------------------------------- client side
