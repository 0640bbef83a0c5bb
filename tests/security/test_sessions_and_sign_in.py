"""Sign-in throttled per account and per address; server-side sessions that sign-out, a password change and
deactivation end at once; password change, reset and deactivation in the API, CLI and admin pages, audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from typer.testing import CliRunner

from idiograph.security.model import AuditRecord, SignInThrottle, User
from idiograph.security.throttle import lock_after, wait_seconds
from tests.conftest import PASSWORD

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def _token(client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _login(client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf})


def test_the_back_off_by_hand() -> None:
    assert lock_after(4, 5, NOW) is None
    assert lock_after(5, 5, NOW) == NOW + timedelta(minutes=1)
    assert lock_after(7, 5, NOW) == NOW + timedelta(minutes=4)
    assert lock_after(40, 5, NOW) == NOW + timedelta(hours=1)  # capped
    assert lock_after(10**9, 5, NOW) == NOW + timedelta(hours=1)  # a long attack: once overflowed (a 500)
    assert wait_seconds(NOW + timedelta(seconds=30), NOW) == 31 and wait_seconds(NOW, NOW) == 0


def test_wrong_passwords_lock_the_account_even_against_the_right_one(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: 200 wrong passwords in a row, then the right one, signed in."""
    make_staff("clin", "clinician", ("North",))
    for _ in range(5):
        assert _token(client, "clin", "wrong-password-x").status_code == 401
    right = _token(client, "clin")
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
    assert "locked after 5 failed sign-ins" in right.json()["detail"]
    db.expire_all()
    user = db.scalar(select(User).where(User.username == "clin"))
    assert user.failed_signins == 5 and user.locked_until is not None
    # once the lock has passed, the right password works and the count starts again
    db.execute(update(User).where(User.id == user.id).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    assert _token(client, "clin").status_code == 200
    db.expire_all()
    assert db.get(User, user.id).failed_signins == 0
    kinds = db.scalars(select(AuditRecord.action).where(AuditRecord.action.like("sign-in%"))).all()
    assert kinds.count("sign-in-failed") == 5 and "sign-in-refused" in kinds and "sign-in" in kinds


def test_one_address_trying_many_accounts_is_refused(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    for i in range(20):
        assert _token(client, f"nobody{i}", "wrong-password-x").status_code == 401
    r = _token(client, "nobody-else", "wrong-password-x")
    assert r.status_code == 429 and "from this address" in r.json()["detail"]
    db.expire_all()
    assert db.scalar(select(SignInThrottle.failures).where(SignInThrottle.address == "testclient")) == 20


def test_the_sign_in_page_says_the_account_is_locked(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("clin", "clinician", ("North",))
    for _ in range(5):
        assert _login(client, "clin", "wrong-password-x").status_code == 401
    r = _login(client, "clin")
    assert r.status_code == 429 and "This account is locked" in r.text and r.headers["retry-after"]


def test_a_copied_cookie_does_not_survive_sign_out(client, app, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: a cookie copied before sign-out still opened pages for 8 hours."""
    from fastapi.testclient import TestClient

    make_staff("clin", "clinician", ("North",))
    assert _login(client, "clin").status_code == 200
    copied = dict(client.cookies)
    page = client.get("/caseload")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/logout", data={"csrf_token": csrf})
    thief = TestClient(app, cookies=copied)
    r = thief.get("/caseload", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_password_change_ends_every_token_and_session(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: a token survived a password change."""
    clin = make_staff("clin", "clinician", ("North",))
    other = _token(client, "clin").json()["access_token"]
    r = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-password"},
        headers=clin.auth,
    )
    assert r.status_code == 200 and r.json()["sessions_ended"] == 2
    for token in (clin.token, other):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _token(client, "clin").status_code == 401
    assert _token(client, "clin", "a-brand-new-password").status_code == 200
    wrong = client.post(
        "/api/v1/me/password",
        json={"current_password": "not-it-at-all", "new_password": "another-new-password"},
        headers={"Authorization": f"Bearer {_token(client, 'clin', 'a-brand-new-password').json()['access_token']}"},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"


def test_deactivation_and_reset_by_an_administrator(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    assert client.post("/api/v1/users/clin/deactivate", headers=admin.auth).json() == {"sessions_ended": 1}
    assert client.get("/api/v1/me", headers=clin.auth).status_code == 401
    assert _token(client, "clin").status_code == 401
    client.post("/api/v1/users/clin/activate", headers=admin.auth)
    reset = client.post("/api/v1/users/clin/password", json={"password": "set-by-the-admin-1"}, headers=admin.auth)
    assert reset.status_code == 200
    assert _token(client, "clin", "set-by-the-admin-1").status_code == 200
    fresh = {"Authorization": f"Bearer {_token(client, 'clin', 'set-by-the-admin-1').json()['access_token']}"}
    assert client.post("/api/v1/users/clin/deactivate", headers=fresh).status_code == 403  # not an administrator
    assert client.post("/api/v1/users/admin/deactivate", headers=admin.auth).status_code == 403  # not yourself
    actions = db.scalars(select(AuditRecord.action).where(AuditRecord.resource_type == "User")).all()
    assert {"deactivate", "activate", "password-reset"} <= set(actions)


def test_lockouts_are_shown_to_administrators_and_lifted(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    for _ in range(5):
        _token(client, "clin", "wrong-password-x")
    listed = {u["username"]: u for u in client.get("/api/v1/users", headers=admin.auth).json()}
    assert listed["clin"]["failed_signins"] == 5 and listed["clin"]["locked_until"] is not None
    _login(client, "admin")
    page = client.get("/admin/users")
    assert "1 account locked after failed sign-ins: clin" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post("/admin/users/clin/unlock", data={"csrf_token": csrf})
    assert "clin unlocked" in done.text
    client.cookies.clear()
    assert _token(client, "clin").status_code == 200


def test_the_cli_manages_accounts(db, database, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idiograph.cli import app as cli
    from idiograph.cli import common

    monkeypatch.setattr(common, "given", database)
    make_staff("clin", "clinician", ("North",))
    run = CliRunner()
    assert run.invoke(cli, ["users", "deactivate", "--username", "clin"]).exit_code == 0
    db.expire_all()
    assert db.scalar(select(User.active).where(User.username == "clin")) is False
    assert run.invoke(cli, ["users", "activate", "--username", "clin"]).exit_code == 0
    r = run.invoke(cli, ["users", "password", "--username", "clin", "--password-stdin"], input="a-new-long-password\n")
    assert r.exit_code == 0 and "reset" in r.output
    listed = run.invoke(cli, ["users", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "clin" in listed.output
    assert run.invoke(cli, ["users", "unlock", "--username", "nobody"]).exit_code == 2


def test_sign_in_checks_the_password_before_its_transaction(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """argon2 takes about a tenth of a second; inside a SQLite writer's transaction it held the one write lock,
    and a team signing in at once queued every write of the service behind it. The hash is checked before the
    write transaction opens; a password changed in between is checked again inside it."""
    from contextlib import contextmanager

    from idiograph.db import Database
    from idiograph.security import service

    make_staff("clin", "clinician", ("North",))
    writers: list[bool] = []
    seen: list[bool] = []
    real_writer, real_verify = Database.writer, service.verify_password

    @contextmanager
    def writer(self):  # type: ignore[no-untyped-def]
        writers.append(True)
        try:
            with real_writer(self) as s:
                yield s
        finally:
            writers.pop()

    def verify(stored: str, password: str) -> bool:
        seen.append(bool(writers))
        return real_verify(stored, password)

    monkeypatch.setattr(Database, "writer", writer)
    monkeypatch.setattr(service, "verify_password", verify)
    assert _token(client, "clin").status_code == 200
    assert _token(client, "clin", "a-wrong-password").status_code == 401
    assert _token(client, "nobody-at-all").status_code == 401
    assert _login(client, "clin").status_code in (200, 303)
    assert seen == [False, False, False, False]  # each checked once, outside any write transaction
    # the failure still counts towards the lockout: it was recorded in the request's transaction
    db.expire_all()
    assert db.scalar(select(User.failed_signins).where(User.username == "clin")) == 0  # reset by the sign-in
    assert _token(client, "clin", "a-wrong-password").status_code == 401
    db.expire_all()
    assert db.scalar(select(User.failed_signins).where(User.username == "clin")) == 1


def test_a_password_changed_between_the_check_and_the_transaction_is_checked_again(db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.security import service
    from idiograph.security.passwords import hash_password

    make_staff("clin", "clinician", ("North",))
    user = db.scalar(select(User).where(User.username == "clin"))
    assert user is not None
    stale = service.PasswordCheck("clin", user.password_hash, True)  # checked against the old hash
    user.password_hash = hash_password("a-brand-new-password")
    db.flush()
    assert service.sign_in(db, "clin", PASSWORD, "127.0.0.1", stale).user is None
    assert service.sign_in(db, "clin", "a-brand-new-password", "127.0.0.1", stale).user is not None
    db.rollback()


def test_a_hash_made_with_older_parameters_still_signs_in_and_is_made_again(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Hashes are argon2id at OWASP's 19 MiB, 2 iterations, 1 lane; one made with argon2-cffi's defaults (an
    earlier idiograph) still verifies, and is replaced at the next successful sign-in, never at a failed one."""
    from argon2 import PasswordHasher

    from idiograph.security.passwords import hash_password, needs_rehash

    assert "m=19456,t=2,p=1" in hash_password("a-long-password")
    make_staff("clin", "clinician", ("North",))
    old = PasswordHasher().hash(PASSWORD)  # m=65536,t=3,p=4
    db.execute(update(User).where(User.username == "clin").values(password_hash=old))
    db.commit()
    assert _token(client, "clin", "a-wrong-password").status_code == 401
    db.expire_all()
    assert db.scalar(select(User.password_hash).where(User.username == "clin")) == old
    assert _token(client, "clin").status_code == 200
    db.expire_all()
    now = db.scalar(select(User.password_hash).where(User.username == "clin"))
    assert now != old and not needs_rehash(now)
    assert _token(client, "clin").status_code == 200  # the same password, as before


def _csrf(page) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_the_accounts_page_deactivates_reactivates_and_resets(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    make_staff("admin", "admin")
    _login(client, "admin")
    csrf = _csrf(client.get("/admin/users"))
    off = client.post("/admin/users/clin/deactivate", data={"csrf_token": csrf})
    assert off.status_code == 200 and "clin deactivated and signed out" in off.text
    assert client.get("/api/v1/me", headers=clin.auth).status_code == 401  # her token ended at once
    assert "clin reactivated" in client.post("/admin/users/clin/activate", data={"csrf_token": csrf}).text
    short = client.post("/admin/users/clin/password", data={"csrf_token": csrf, "password": "short"})
    assert "at least 10 characters" in short.text
    done = client.post("/admin/users/clin/password", data={"csrf_token": csrf, "password": "set-on-the-page-1"})
    assert "new password set for clin" in done.text
    refused = client.post("/admin/users/admin/deactivate", data={"csrf_token": csrf})
    assert "you cannot deactivate your own account" in refused.text
    db.expire_all()
    assert db.scalar(select(User.active).where(User.username == "admin")) is True  # not yourself
    client.cookies.clear()
    assert _token(client, "clin", "set-on-the-page-1").status_code == 200
    actions = db.scalars(select(AuditRecord.action).where(AuditRecord.actor == "admin")).all()
    assert {"deactivate", "activate", "password-reset"} <= set(actions)


def test_your_account_page_changes_your_password_and_signs_you_out(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    _login(client, "clin")
    page = client.get("/account")
    wrong = client.post(
        "/account/password",
        data={"csrf_token": _csrf(page), "current_password": "not-my-password", "new_password": "a-new-password-9"},
    )
    assert wrong.status_code == 422 and "is not your current password" in wrong.text
    done = client.post(
        "/account/password",
        data={"csrf_token": _csrf(page), "current_password": PASSWORD, "new_password": "a-new-password-9"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert client.get("/caseload", follow_redirects=False).status_code == 303  # this session ended
    assert client.get("/api/v1/me", headers=clin.auth).status_code == 401  # and her token
    assert _token(client, "clin", "a-new-password-9").status_code == 200
    assert db.scalar(select(AuditRecord.action).where(AuditRecord.action == "password-change")) is not None


def test_the_cli_account_commands_are_audited(db, database, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idiograph.cli import app as cli
    from idiograph.cli import common

    monkeypatch.setattr(common, "given", database)
    make_staff("clin", "clinician", ("North",))
    run = CliRunner()
    for args in (["deactivate"], ["activate"], ["unlock"]):
        assert run.invoke(cli, ["users", *args, "--username", "clin"]).exit_code == 0
    r = run.invoke(cli, ["users", "password", "--username", "clin", "--password-stdin"], input="a-new-long-password\n")
    assert r.exit_code == 0
    db.expire_all()
    rows = db.execute(select(AuditRecord.action, AuditRecord.actor).where(AuditRecord.resource_type == "User")).all()
    cli_actions = {action for action, actor in rows if actor.startswith("system:")}
    assert {"deactivate", "activate", "unlock", "password-reset"} <= cli_actions, rows


def test_a_forged_sign_in_form_never_reaches_the_password(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found in review: the password was checked before the form's CSRF token, and the refusal (403) did not
    count as a failed sign-in: an unlimited oracle, by the time taken. Now a forged form costs no hashing."""
    from idiograph.security import service

    make_staff("clin", "clinician", ("North",))
    checked: list[str] = []
    real = service.verify_password
    monkeypatch.setattr(service, "verify_password", lambda h, p: (checked.append(p), real(h, p))[1])
    client.get("/login")
    for token in ("", "not-the-token"):
        r = client.post("/login", data={"username": "clin", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 403 and "session expired" in r.text
    assert checked == []
    assert _login(client, "clin").status_code == 200 and checked == [PASSWORD]


def test_an_unknown_username_costs_what_a_real_accounts_check_costs(db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """While hashes made with older parameters remain, an unknown username is checked against a dummy with the
    parameters of a stored hash: the time taken does not say whether the account exists."""
    from argon2 import PasswordHasher, extract_parameters

    from idiograph.security.service import dummy_like

    old = PasswordHasher().hash("someone's-password")
    assert extract_parameters(dummy_like(old)) == extract_parameters(old)
    assert extract_parameters(dummy_like(None)).memory_cost == 19 * 1024
    assert dummy_like("not a hash") == dummy_like(None)


def test_a_username_with_no_account_locks_like_a_real_one(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found by a new user: only real usernames ever said "locked" after five failures, which told an attacker
    which usernames exist. Both now answer alike, attempt by attempt."""
    make_staff("clin", "clinician", ("North",))

    def answers(username: str) -> list[tuple[int, str]]:
        out = []
        for _ in range(6):
            r = _token(client, username, "wrong-password-x")
            out.append((r.status_code, re.sub(r"\d+ (seconds|minutes)", "N", r.json()["detail"])))
        return out

    real, ghost = answers("clin"), answers("no-such-person")
    assert real == ghost
    assert real[-1][0] == 429 and "this account is locked after 5 failed sign-ins" in real[-1][1]


def test_simultaneous_failed_sign_ins_from_a_new_address_all_count(committed, db) -> None:  # type: ignore[no-untyped-def]
    """Two first failures at the same moment both inserted the address's throttle row; on PostgreSQL one of them
    was a 500. Four at once (below the lockout) now all count, for the address and for the name."""
    import threading

    from idiograph.security import service

    errors: list[str] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            with committed.writer() as s:
                out = service.sign_in(s, "no-such-person", "wrong-password-x", "10.9.9.9")
                assert out.user is None
        except Exception as exc:
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.rollback()
    rows = {address: n for address, n in db.execute(select(SignInThrottle.address, SignInThrottle.failures))}
    assert rows == {"10.9.9.9": 4, "no-account:no-such-person": 4}
