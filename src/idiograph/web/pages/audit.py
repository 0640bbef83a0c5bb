"""The audit trail: paged, filtered by person, user, action and date, in names and words (never truncated ids),
with its chain checked. Reading it is itself audited, with the filter used."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.patients import lookup
from idiograph.security import audit
from idiograph.security import service as security_service
from idiograph.security.deps import DB, require
from idiograph.security.model import AuditRecord, User
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import LONDON, london, render

router = APIRouter(include_in_schema=False)

PAGE = 50

ACTION_WORDS = {
    "read": "Opened",
    "list": "Listed",
    "search": "Searched",
    "export": "Exported",
    "import": "Imported",
    "create": "Created",
    "update": "Changed",
    "write": "Recorded",
    "raise": "Raised",
    "closed": "Closed",
    "decide": "Decided",
    "escalate": "Escalated",
    "fit": "Fitted",
    "verify": "Checked",
    "sign-in": "Signed in",
    "sign-out": "Signed out",
    "sign-in-failed": "Failed to sign in",
    "sign-in-refused": "Sign-in refused (locked)",
    "password-change": "Changed their own password",
    "password-reset": "Set a new password",
    "deactivate": "Deactivated",
    "activate": "Reactivated",
    "unlock": "Unlocked",
    "role-change": "Changed role",
    "teams-change": "Changed teams",
    "break-glass": "Opened in an emergency (break glass)",
}

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("-", " ").replace("_", " ").capitalize())


def kind_words(resource_type: str) -> str:
    """``RiskAssessment`` -> ``risk assessment``; ``View`` -> ``page``."""
    if resource_type == "View":
        return "page"
    if resource_type == "AuditTrail":
        return "audit trail"
    return re.sub(r"(?<!^)(?=[A-Z])", " ", resource_type).lower()


@dataclass
class Row:
    seq: int
    when: str
    who: str
    role: str
    action: str
    what: str
    person: lookup.Named | None
    detail: str
    reason: str | None


def _who(actor: str, users: dict[str, User]) -> tuple[str, str]:
    if actor in users:
        u = users[actor]
        return u.display_name, u.role.replace("_", " ")
    if actor.startswith("system:"):
        return "The system", actor.removeprefix("system:").replace("-", " ")
    if actor.startswith("anonymous:"):
        return f"Someone signing in as {actor.removeprefix('anonymous:')}", "not signed in"
    return actor, ""


def _summary(detail: dict[str, Any], people: dict[uuid.UUID, lookup.Named], user_names: dict[str, str]) -> str:
    """The detail in a line: counts of lists, names for ids, the rest as written."""

    def name_of(value: str) -> str | None:
        if not _UUID.match(value):
            return None
        pid = uuid.UUID(value)
        if pid in people:
            return people[pid].name
        return user_names.get(value)

    def words(value: Any) -> str:
        if isinstance(value, str):
            return name_of(value) or ("(id)" if _UUID.match(value) else value[:80])
        if isinstance(value, list):
            named = [n for v in value if isinstance(v, str) and (n := name_of(v))]
            if value and len(named) == len(value) and len(value) <= 3:
                return "; ".join(named)
            if len(value) > 3 or any(isinstance(v, (dict, list)) or _UUID.match(str(v)) for v in value):
                return str(len(value))
            return ", ".join(words(v) for v in value)
        if isinstance(value, dict):
            inner = ", ".join(f"{k.replace('_', ' ')} {words(v)}" for k, v in list(value.items())[:5])
            return inner or "none"
        return str(value)

    parts: list[str] = []
    for key, value in (detail or {}).items():
        label = key.replace("_", " ")
        if key == "showed" and isinstance(value, list):
            shown = []
            for s in value[:6]:
                if not isinstance(s, dict):
                    continue
                what = kind_words(str(s.get("type", "")))
                n = s.get("total", s.get("count"))
                named = name_of(str(s["person"])) if s.get("person") else None
                shown.append(f"{what}{f' ({n})' if n is not None else ''}{f' of {named}' if named else ''}")
            parts.append("showed " + ", ".join(shown))
        elif value is not None:
            parts.append(f"{label}: {words(value)}")
    return "; ".join(parts)


def _ids_in(detail: Any) -> set[uuid.UUID]:
    """Every id a record's detail names (people listed in a view), to look their names up in one query."""
    found: set[uuid.UUID] = set()
    if isinstance(detail, dict):
        for v in detail.values():
            found |= _ids_in(v)
    elif isinstance(detail, list):
        for v in detail[:50]:
            found |= _ids_in(v)
    elif isinstance(detail, str) and _UUID.match(detail):
        found.add(uuid.UUID(detail))
    return found


def rows_in_words(session: Session, records: list[AuditRecord]) -> list[Row]:
    """Each record with the people's and users' names, the action and the kind in words, London time."""
    actors = {r.actor for r in records}
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(actors)))} if actors else {}
    ids: set[uuid.UUID] = set()
    user_ids: set[uuid.UUID] = set()
    for r in records:
        if r.person_id:
            ids.add(r.person_id)
        ids |= _ids_in(r.detail)
        if r.resource_type == "User" and r.resource_id and _UUID.match(r.resource_id):
            user_ids.add(uuid.UUID(r.resource_id))
    people = lookup.names(session, ids)
    targets = (
        {
            str(u.id): f"{u.display_name} ({u.username})"
            for u in session.scalars(select(User).where(User.id.in_(user_ids)))
        }
        if user_ids
        else {}
    )
    out = []
    for r in records:
        who, role = _who(r.actor, users)
        what = kind_words(r.resource_type)
        if r.resource_type == "User" and not r.resource_id:
            what = "accounts"
        if r.resource_type == "User" and r.resource_id in targets:
            what = f"account of {targets[r.resource_id]}"
        out.append(
            Row(
                seq=r.seq,
                when=london(r.at, "%a %d %b %Y, %H:%M:%S"),
                who=who,
                role=role,
                action=action_words(r.action),
                what=what,
                person=people.get(r.person_id) if r.person_id else None,
                detail=_summary(r.detail, people, targets),
                reason=r.reason,
            )
        )
    return out


class BadFilter(ValueError):
    def __init__(self, field: str, label: str, reason: str) -> None:
        super().__init__(f"{label}: {reason}")
        self.field = field


def parse_day(text: str | None, field: str, label: str) -> date | None:
    """A date typed or picked (YYYY-MM-DD, or DD/MM/YYYY), else a message naming the field."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        pass
    raise BadFilter(field, label, f"'{text}' is not a date: give it as day/month/year, e.g. 01/03/2026")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON)


@router.get("/audit")
def audit_page(
    request: Request,
    person: str = Query(default="", max_length=200),
    person_id: uuid.UUID | None = None,
    user: str = Query(default="", max_length=200),
    action: str = Query(default="", max_length=60),
    date_from: str = Query(default="", max_length=40),
    date_to: str = Query(default="", max_length=40),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    p: Principal = Depends(require(Permission.AUDIT_READ)),
) -> HTMLResponse:
    errors: dict[str, str] = {}
    since = until = None
    try:
        day = parse_day(date_from, "date_from", "From date")
        since = _start_of(day) if day else None
    except BadFilter as exc:
        errors[exc.field] = str(exc)
    try:
        day = parse_day(date_to, "date_to", "To date")
        until = _start_of(day + timedelta(days=1)) if day else None  # to the end of that day
    except BadFilter as exc:
        errors[exc.field] = str(exc)
    if since and until and until <= since:
        errors["date_to"] = "To date: must be on or after the from date"

    chosen: lookup.Named | None = None
    choices: list[lookup.Named] = []
    person_ids: tuple[uuid.UUID, ...] | None = None
    if person_id is not None:
        chosen = lookup.names(db, [person_id]).get(person_id)
        person_ids = (person_id,)
    elif person.strip():
        choices = lookup.find(db, person)
        person_ids = tuple(c.id for c in choices)
        if len(choices) == 1:
            chosen = choices[0]
            choices = []
    usernames: tuple[str, ...] | None = None
    if user.strip():
        usernames = security_service.usernames_matching(db, user)
    f = audit.Filter(person_ids, usernames, action or None, since, until)
    total, rows = (0, [])
    if not errors:
        total, records = audit.search(db, p.actor, f, offset, PAGE)
        rows = rows_in_words(db, records)
    # the whole chain is walked on the trail's first page; a filtered or later page stays quick (found: at 15,000
    # records the walk was two thirds of every page's time)
    filtered = bool(person.strip() or person_id or user.strip() or action or date_from or date_to or offset)
    n, head, problems = (None, "", []) if filtered else audit.verify(db)
    kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "offset" and v])
    shown_to = min(offset + PAGE, total)
    return render(
        request,
        "audit.html",
        422 if errors else 200,
        rows=rows,
        total=total,
        records=n,
        head=head,
        problems=problems,
        errors=errors,
        q={"person": person, "user": user, "action": action, "date_from": date_from, "date_to": date_to},
        person_id=person_id,
        chosen=chosen,
        choices=choices,
        no_person=person.strip() != "" and person_ids == (),
        no_user=usernames == (),
        actions=[(a, action_words(a)) for a in sorted(set(audit.actions(db)) | set(ACTION_WORDS), key=action_words)],
        base=f"/audit?{kept}&" if kept else "/audit?",
        first=offset + 1 if total else 0,
        last=shown_to,
        prev_offset=max(0, offset - PAGE) if offset else None,
        next_offset=offset + PAGE if shown_to < total else None,
        page_size=PAGE,
    )
