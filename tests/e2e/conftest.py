"""Browser fixtures: one demo server (SQLite, 40 people) per test module, Debian's Chromium, and signing in."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import uvicorn

from idiograph.app import create_app
from idiograph.config import Settings
from idiograph.db import Database, make_engine
from idiograph.migrate import upgrade
from idiograph.synth import params as synth_params
from idiograph.synth.load import DEMO_PASSWORD, load_demo

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, people: int = 40, seed: int = 11, name: str = "e2e"
) -> Iterator[tuple[str, Database]]:
    """A demo service of ``people`` (SQLite) served on a free port: (its address, its database)."""
    url = f"sqlite:///{tmp_path_factory.mktemp(name) / f'{name}.db'}"
    engine = make_engine(url)
    upgrade(engine)
    port = _free_port()
    settings = Settings(
        database_url=url,
        secret_key="e2e-secret",
        audit_key="e2e-audit-key-0123456789abcdef0123",
        audit_head_file=tmp_path_factory.mktemp("heads") / "heads.log",
        public_base_url=f"http://127.0.0.1:{port}",
    )
    database = Database(engine, audit_key=settings.audit_key)
    with database.session() as s:
        load_demo(s, people, seed, synth_params.load(), date.today())
    app = create_app(settings, engine)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", database
    finally:
        srv.should_exit = True
        thread.join(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_server(tmp_path_factory) as (address, _):
        yield address


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: make test installs it (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo server's SQLite file (every module's demo is the same 40 people, seed 11; the newest is ours)."""
    files = sorted(tmp_path_factory.getbasetemp().glob("e2e*/e2e.db"), key=lambda p: p.stat().st_mtime)
    assert files, "the demo server's database was not found"
    return files[-1]


def sign_in(page, server: str, username: str, lands: str = "**/today") -> None:  # type: ignore[no-untyped-def]
    """Sign in on the login page as a demo account and wait for the landing page."""
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lands)
