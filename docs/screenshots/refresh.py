"""Refresh the user guide's screenshots: a demo service (SQLite, 300 people, seed 7) served on loopback, each main
page opened in Debian's Chromium as the role that uses it, saved as PNG beside this script.

    .venv/bin/python docs/screenshots/refresh.py            # needs the test extra (Playwright) and /usr/bin/chromium
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright
from rich.console import Console
from sqlalchemy import Engine, select

from idiograph.app import create_app
from idiograph.care.model import CrisisPlan
from idiograph.config import Settings
from idiograph.db import Database, make_engine
from idiograph.migrate import upgrade
from idiograph.patients.model import Person
from idiograph.synth import params as synth_params
from idiograph.synth.load import DEMO_PASSWORD, load_demo

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
console = Console()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sign_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _shot(page: Page, base: str, path: str, name: str, full: bool = True) -> None:
    page.goto(f"{base}{path}")
    page.wait_for_load_state("networkidle")
    out = HERE / f"{name}.png"
    page.screenshot(path=str(out), full_page=full)
    console.print(f"{name}.png  ({path})")


def _nhs_number_with_plan(engine: Engine) -> str:
    """An NHS number of someone with a current crisis plan (the demo writes one for everyone at high risk)."""
    with engine.connect() as c:
        nhs = c.scalar(
            select(Person.nhs_number)
            .join(CrisisPlan, CrisisPlan.person_id == Person.id)
            .where(Person.nhs_number.is_not(None))
            .order_by(Person.family_name, Person.given_name)
            .limit(1)
        )
    if nhs is None:
        sys.exit("the demo wrote no crisis plan for anyone with an NHS number")
    return str(nhs)


def main() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit("needs Chromium at /usr/bin/chromium (make chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'shots.db'}"
        engine = make_engine(url)
        upgrade(engine)
        port = _port()
        settings = Settings(
            database_url=url,
            secret_key="screenshots-secret-key-0123456789abcdef",
            audit_key="screenshots-audit-key-0123456789abcdef0123",
            audit_head_file=Path(tmp) / "heads.log",
            public_base_url=f"http://127.0.0.1:{port}",
        )
        with console.status("loading the demo service"), Database(engine, audit_key=settings.audit_key).session() as s:
            load_demo(s, 300, 7, synth_params.load(), date.today())
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            _sign_in(page, base, "clin.north")
            _shot(page, base, "/today", "today")
            _shot(page, base, "/caseload", "caseload")
            first = page.locator("#caseload tbody tr a").first.get_attribute("href")
            _shot(page, base, str(first), "person")
            _shot(page, base, f"{first}/care", "care")
            page.goto(f"{base}{first}/care")
            page.get_by_role("button", name="Make a link to the person's own page").click()
            own_url = page.locator("#plan-url").inner_text().strip()
            nhs = _nhs_number_with_plan(engine)
            _sign_in(page, base, "senior")
            _shot(page, base, "/today?scope=team", "today-senior")
            _shot(page, base, "/governance", "governance")
            _shot(page, base, "/governance/reviews", "governance-review")
            _sign_in(page, base, "crisis")
            _shot(page, base, "/crisis", "crisis-lookup")
            page.fill("input[name=nhs_number]", nhs)
            page.fill("input[name=reason]", "Called by the person's GP out of hours")
            page.get_by_role("button", name="Find").click()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(HERE / "crisis-plan.png"), full_page=True)
            console.print("crisis-plan.png  (a lookup by NHS number)")
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            me = phone.new_page()
            me.goto(own_url)
            me.wait_for_load_state("networkidle")
            me.screenshot(path=str(HERE / "own-page.png"), full_page=False)  # the first screen on a phone
            console.print("own-page.png  (the person's own page on a phone)")
            phone.close()
            _sign_in(page, base, "admin")
            _shot(page, base, "/audit", "audit", full=False)
            _shot(page, base, "/admin/users", "accounts")
            _sign_in(page, base, "commissioner")
            _shot(page, base, "/summary", "summary")
            browser.close()
        server.should_exit = True
        thread.join(5)


if __name__ == "__main__":
    main()
