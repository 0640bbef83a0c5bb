"""The priority rule: the written order of clinical urgency, and reasons in words (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from idiograph.worklist.priority import Facts, OpenAlert, Tier, assess, words

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _alert(kind: str, days: int = 0, title: str | None = None) -> OpenAlert:
    return OpenAlert(kind, title or f"{kind} alert", T0 + timedelta(days=days))


def test_the_written_order_of_urgency() -> None:
    cases = [
        (Facts(alerts=[_alert("safety")]), Tier.SAFETY),
        (Facts(risk="high"), Tier.SAFETY),
        (Facts(alerts=[_alert("relapse")]), Tier.RELAPSE),
        (Facts(alerts=[_alert("safety-unanswered")]), Tier.RELAPSE),
        (Facts(alerts=[_alert("not-on-track")]), Tier.NOT_ON_TRACK),
        (Facts(alerts=[_alert("deviation")]), Tier.DEVIATION),
        (Facts(reviews_overdue=[date(2026, 11, 1)]), Tier.REVIEW_OVERDUE),
        (Facts(reviews_due=[date(2026, 12, 8)]), Tier.REVIEW_DUE),
        (Facts(escalations=1), Tier.ESCALATION),
        (Facts(tasks=["Asked to move appointments to Fridays"]), Tier.REQUEST),
        (Facts(risk="medium"), Tier.NONE),
        (Facts(risk="low"), Tier.NONE),
        (Facts(), Tier.NONE),
    ]
    for facts, tier in cases:
        assert assess(facts).tier == tier, facts


def test_a_safety_answer_outranks_everything_else_and_reasons_come_most_urgent_first() -> None:
    p = assess(
        Facts(
            alerts=[_alert("deviation", 0, "Steps outside usual range"), _alert("not-on-track", 1, "Not on track")],
            reviews_due=[date(2026, 12, 8)],
            risk="high",
            risk_at=T0,
        )
    )
    assert p.tier == Tier.SAFETY
    assert words(p) == [
        "Current risk assessed as high",
        "Not on track",
        "Steps outside usual range",
        "Review due by 08 Dec 2026",
    ]
    assert [r.tier for r in p.reasons] == sorted(r.tier for r in p.reasons)


def test_reviews_are_one_line_each_for_overdue_and_due() -> None:
    p = assess(Facts(reviews_overdue=[date(2026, 10, 12), date(2026, 9, 14)], reviews_due=[date(2026, 12, 8)]))
    assert words(p) == ["2 reviews overdue (the first was due 14 Sep 2026)", "Review due by 08 Dec 2026"]


def test_open_alerts_of_one_kind_are_one_line_named_by_the_newest_with_a_count() -> None:
    p = assess(Facts(alerts=[_alert("safety", 0, "older"), _alert("safety", 3, "newest"), _alert("safety", 1, "mid")]))
    assert words(p) == ["newest (and 2 other open alerts)"]
    assert p.reasons[0].count == 3 and p.reasons[0].since == T0


def test_within_a_tier_more_items_then_the_longest_waiting_come_first() -> None:
    one_old = assess(Facts(alerts=[_alert("safety", 0)]))
    one_new = assess(Facts(alerts=[_alert("safety", 5)]))
    two_new = assess(Facts(alerts=[_alert("safety", 5), _alert("safety", 6)]))
    high_risk_only = assess(Facts(risk="high", risk_at=T0 + timedelta(days=9)))
    order = sorted([one_new, high_risk_only, two_new, one_old], key=lambda p: p.sort_key())
    assert order == [two_new, one_old, one_new, high_risk_only]


KINDS = st.sampled_from(["safety", "safety-unanswered", "relapse", "not-on-track", "deviation"])
FACTS = st.builds(
    Facts,
    alerts=st.lists(st.builds(_alert, KINDS, st.integers(0, 60)), max_size=6),
    risk=st.sampled_from([None, "low", "medium", "high"]),
    reviews_overdue=st.lists(st.dates(date(2026, 1, 1), date(2026, 12, 1)), max_size=2),
    reviews_due=st.lists(st.dates(date(2026, 12, 1), date(2027, 1, 1)), max_size=2),
    escalations=st.integers(0, 3),
    tasks=st.lists(st.text(min_size=3, max_size=20), max_size=2),
)


@given(FACTS, FACTS)
def test_a_safety_reason_always_sorts_before_anyone_without_one(a: Facts, b: Facts) -> None:
    pa, pb = assess(a), assess(b)
    if pa.tier == Tier.SAFETY and pb.tier != Tier.SAFETY:
        assert pa.sort_key() < pb.sort_key()


@given(FACTS)
def test_the_tier_is_the_most_urgent_reason_and_nothing_is_lost(f: Facts) -> None:
    p = assess(f)
    if p.reasons:
        assert p.tier == min(r.tier for r in p.reasons)
    else:
        assert p.tier == Tier.NONE
    from_alerts = sum(r.count for r in p.reasons if r.tier <= Tier.DEVIATION) - (f.risk == "high")
    assert from_alerts == len(f.alerts)
    reviews = sum(r.count for r in p.reasons if r.tier in (Tier.REVIEW_OVERDUE, Tier.REVIEW_DUE))
    assert reviews == len(f.reviews_overdue) + len(f.reviews_due)
    assert sum(1 for r in p.reasons if r.tier == Tier.REQUEST) == len(f.tasks)


def test_a_new_safety_answer_comes_before_a_standing_high_risk_rating() -> None:
    """Found by a new user's trial: a positive item 9 given minutes earlier sat behind about a hundred people whose
    only safety reason was an older high-risk rating (same count, older first), on the second page of Today."""
    answered_now = assess(Facts(alerts=[_alert("safety", 30)]))
    rated_long_ago = assess(Facts(risk="high", risk_at=T0 - timedelta(days=200)))
    assert answered_now.sort_key() < rated_long_ago.sort_key()
    both = assess(Facts(alerts=[_alert("safety", 30)], risk="high", risk_at=T0))
    assert both.sort_key() < answered_now.sort_key()  # an answer and a high rating: more items first, as written
