"""Worker processes: spawned (never forked) and bound to the life of the process that made them.

A process forked after OpenMP has run in its parent (tblite, PySCF) hangs in its first OpenMP
region, so every pool here is spawned. A pool worker whose parent is killed (a scheduler's
SIGTERM at the wall-time limit, ``kill``, a closed terminal) would otherwise run on as an orphan:
it keeps its single point's checkpoint lock, so the next run of the same calculation starts
without it, and the orphan's result goes nowhere. On Linux each worker asks the kernel to send
it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``); its SCF checkpoint stays, and the
next run resumes from it.
"""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _bind_to_parent(parent: int, then: Callable[[], None] | None) -> None:
    """A worker's first act: die with ``parent`` (process id), then run ``then``."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took hold
        os._exit(1)
    if then is not None:
        then()


def spawn_pool(workers: int, initializer: Callable[[], None] | None = None
               ) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that end when this process ends; each runs
    ``initializer`` (a module-level function) first."""
    import multiprocessing

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_bind_to_parent, initargs=(os.getpid(), initializer))
