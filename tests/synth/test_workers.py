"""A generator worker ends when the process that started it is killed outright (once: an orphan for ever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = """
import os, sys, time
from idiograph.synth.workers import pool
{make}
with p:
    print(p.submit(os.getpid).result(), flush=True)
    time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting to be reaped by init is gone for our purpose
        return f.read().split()[2] != "Z"


@pytest.mark.parametrize("make", ["p = pool(1)", "from concurrent.futures import ProcessPoolExecutor as E; p = E(1)"])
def test_a_worker_ends_when_its_parent_is_killed(make: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", SCRIPT.format(make=make)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    try:
        assert _alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphaned = _alive(worker)
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
    # ours ends; a plain pool's worker is the orphan this guards against (the test sees the difference)
    assert orphaned == ("ProcessPoolExecutor" in make)
