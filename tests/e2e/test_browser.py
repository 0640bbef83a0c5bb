"""A real browser (Debian's Chromium via Playwright): sign in, open a person, see the chart."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn

from idiograph.app import create_app
from idiograph.config import Settings
from idiograph.db import make_engine, make_sessionmaker
from idiograph.migrate import upgrade
from idiograph.synth import params as synth_params
from idiograph.synth.load import DEMO_PASSWORD, load_demo

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_demo(s, 40, 11, synth_params.load(), date.today())
    port = _free_port()
    app = create_app(Settings(database_url=url, secret_key="e2e-secret"), engine)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


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


def test_sign_in_open_a_person_and_see_the_chart(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(f"{server}/caseload")
    assert "/login" in page.url
    page.fill("input[name=username]", "clin.north")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/caseload")
    rows = page.locator("#caseload tbody tr")
    assert rows.count() > 0
    page.click("th >> text=Latest measure")
    page.wait_for_url("**sort=latest**")
    page.locator("#caseload tbody tr").first.locator("a").click()
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15_000)
    assert page.locator(".js-plotly-plot").count() >= 2  # PHQ-9 and GAD-7 at least
    assert page.locator("text=PHQ-9 total score").count() >= 1
    page.screenshot(path=str(tmp_path / "person.png"), full_page=True)
    page.close()


def test_commissioner_cannot_open_a_record(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "commissioner")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/summary")
    assert page.locator("text=Service summary").count() >= 1
    response = page.goto(f"{server}/caseload")
    assert response is not None and response.status == 403
    page.close()
