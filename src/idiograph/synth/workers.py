"""Worker processes that end with the process that started them.

A generator worker waits on its job queue; when its parent is killed outright (``kill -9``, the OOM killer) the
queue never closes for it (a forked worker holds the queue's other end too), so it waited for ever, an orphan
holding memory (found: ``kill -9`` of ``idiograph demo``). Each worker asks Linux to send it SIGTERM when its
parent dies (``PR_SET_PDEATHSIG``) and, everywhere, watches its parent's pid and exits when it changes."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 1.0


def _watch(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def die_with_parent() -> None:
    """The initializer of every worker: end when the process that started it does (this process's parent: the
    caller under "fork" and "spawn", the fork server under "forkserver", which itself ends with the caller)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except OSError:
            pass  # the watcher below still ends it within a second
    if os.getppid() != parent or parent == 1:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watch").start()


def pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers end with this process."""
    return ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent)
