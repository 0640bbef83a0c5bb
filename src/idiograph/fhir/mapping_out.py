"""idiograph's records to FHIR R4 resources as JSON dicts (pure: plain values in, dicts out)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from idiograph.fhir import vocab
from idiograph.fhir.intake_mapping import derived_id
from idiograph.fhir.mapping_in import unit_qualified_origin
from idiograph.instruments.definitions import Instrument
from idiograph.patients.demographics import ETHNIC_CATEGORIES


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {})}


def patient(person: Any) -> dict[str, Any]:
    ext: list[dict[str, Any]] = []
    if person.ethnicity:
        ext.append(
            {
                "url": vocab.ETHNIC_EXT,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": vocab.ETHNIC_SYSTEM,
                            "code": person.ethnicity,
                            "display": ETHNIC_CATEGORIES[person.ethnicity][1],
                        }
                    ]
                },
            }
        )
    if person.deprivation_decile is not None:
        ext.append({"url": vocab.DEPRIVATION_EXT, "valueInteger": person.deprivation_decile})
    if person.gender_identity:
        ext.append({"url": vocab.GENDER_IDENTITY_EXT, "valueCodeableConcept": {"text": person.gender_identity}})
    idents = [{"system": i.system, "value": i.value} for i in person.identifiers]
    comm = (
        [{"language": {"coding": [{"system": vocab.BCP47, "code": person.preferred_language}]}, "preferred": True}]
        if person.preferred_language
        else []
    )
    return _clean(
        {
            "resourceType": "Patient",
            "id": str(person.id),
            "extension": ext,
            "identifier": idents,
            "name": [{"use": "official", "family": person.family_name, "given": [person.given_name]}],
            "gender": person.sex,
            "birthDate": _d(person.birth_date),
            "communication": comm,
        }
    )


def _observation_code(system: str, code: str, display: str | None) -> dict[str, Any]:
    """The stored code; a value kept in a unit idiograph could not convert also carries the code it was sent
    under, so a receiving system still recognises the test (``mapping_in.unit_qualified_origin``)."""
    coding = [_clean({"system": system, "code": code, "display": display})]
    origin = unit_qualified_origin(system, code)
    if origin is None:
        return {"coding": coding}
    o_system, o_code, unit = origin
    coding.append({"system": o_system, "code": o_code})
    return {"coding": coding, "text": f"{display or o_code} (sent in {unit}; kept in that unit, not converted)"}


def observation(o: Any, display: str | None, category: tuple[str, str] | None = None) -> dict[str, Any]:
    """One stored value; its category from the kind of measure, and a questionnaire's items and total point back
    to the response they came from."""
    cat = (
        [{"coding": [{"system": vocab.OBSERVATION_CATEGORY, "code": category[0], "display": category[1]}]}]
        if category
        else None
    )
    return _clean(
        {
            "resourceType": "Observation",
            "id": str(o.id),
            "meta": {"lastUpdated": _dt(o.recorded_at)} if getattr(o, "recorded_at", None) else None,
            "status": "final",
            "identifier": [{"system": f"urn:idiograph:source:{o.source}", "value": o.source_id}],
            "category": cat,
            "code": _observation_code(o.system, o.code, display),
            "subject": {"reference": f"Patient/{o.person_id}"},
            "effectiveDateTime": _dt(o.effective_at),
            "valueQuantity": {"value": o.value, "unit": o.unit, "system": vocab.UCUM, "code": o.unit},
            "derivedFrom": [{"reference": f"QuestionnaireResponse/{g}"}]
            if (g := getattr(o, "group_id", None))
            else None,
        }
    )


def condition(c: Any) -> dict[str, Any]:
    status = (
        {"coding": [{"system": vocab.CONDITION_CLINICAL, "code": c.clinical_status}]} if c.clinical_status else None
    )
    return _clean(
        {
            "resourceType": "Condition",
            "id": str(c.id),
            "clinicalStatus": status,
            "code": {"coding": [{"system": c.system, "code": c.code, "display": c.display}], "text": c.display},
            "subject": {"reference": f"Patient/{c.person_id}"},
            "onsetDateTime": _dt(c.onset),
            "abatementDateTime": _dt(c.abatement),
        }
    )


def encounter(e: Any) -> dict[str, Any]:
    typ = (
        [{"coding": [_clean({"system": e.type_system, "code": e.type_code, "display": e.type_display})]}]
        if e.type_code
        else []
    )
    return _clean(
        {
            "resourceType": "Encounter",
            "id": str(e.id),
            "status": e.status,
            "class": {"system": vocab.ACT_CODE, "code": e.class_code or "AMB"},
            "type": typ,
            "subject": {"reference": f"Patient/{e.person_id}"},
            "period": _clean({"start": _dt(e.start), "end": _dt(e.end)}),
        }
    )


def episode_of_care(ep: Any) -> dict[str, Any]:
    ext = [
        {"url": vocab.REFERRAL_SOURCE_EXT, "valueCode": ep.referral_source},
        {"url": vocab.PRESENTING_PROBLEM_EXT, "valueCode": ep.presenting_problem},
    ]
    if ep.discharge_reason:
        ext.append({"url": vocab.DISCHARGE_REASON_EXT, "valueCode": ep.discharge_reason})
    return _clean(
        {
            "resourceType": "EpisodeOfCare",
            "id": str(ep.id),
            "extension": ext,
            "status": "finished" if ep.discharge_date else "active",
            "type": [{"coding": [{"system": vocab.PATHWAY_SYSTEM, "code": ep.pathway}], "text": ep.pathway}],
            "patient": {"reference": f"Patient/{ep.person_id}"},
            "period": _clean({"start": _d(ep.referral_date), "end": _d(ep.discharge_date)}),
        }
    )


def questionnaire_response(rec: Any, instrument: Instrument, item_values: dict[str, float]) -> dict[str, Any]:
    items = []
    for it in instrument.items:
        if it.code in item_values:
            a = {o.value: o for o in instrument.options(it)}[int(item_values[it.code])]
            coding = {"system": instrument.answer_system, "code": a.code, "display": a.display}
            items.append({"linkId": it.code, "text": it.text, "answer": [{"valueCoding": coding}]})
    return _clean(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(rec.id),
            "identifier": {"system": f"urn:idiograph:source:{rec.source}", "value": rec.source_id}
            if getattr(rec, "source", None)
            else None,
            "questionnaire": instrument.url,
            "status": rec.status,
            "subject": {"reference": f"Patient/{rec.person_id}"},
            "authored": _dt(rec.authored_at),
            # an estimate-only adaptive form changes what the response means (its answers are not a whole form: a
            # receiver must not prorate them into a total), so it is a modifier extension, which a receiver may not
            # ignore; a form that asked every question is a full form and its marker is a plain extension
            "extension": _adaptive(rec) if getattr(rec, "adaptive", False) and rec.total is not None else None,
            "modifierExtension": _adaptive(rec) if getattr(rec, "adaptive", False) and rec.total is None else None,
            "item": items,
        }
    )


def _adaptive(rec: Any) -> list[dict[str, Any]]:
    """An adaptive short form's estimate as an extension: marked adaptive, never carried as a total (H-105)."""
    parts: list[dict[str, Any]] = [
        {"url": "adaptive", "valueBoolean": True},
        *({"url": "asked", "valueString": code} for code in rec.adaptive_asked or []),
    ]
    if rec.total is not None:
        parts.append({"url": "complete", "valueBoolean": True})
    if rec.estimate is not None and rec.status == "completed":  # an unfinished form has decided nothing yet
        parts += [
            {"url": "estimate", "valueDecimal": round(float(rec.estimate), 2)},
            {"url": "lower", "valueDecimal": round(float(rec.estimate_lower), 2)},
            {"url": "upper", "valueDecimal": round(float(rec.estimate_upper), 2)},
            {"url": "cut", "valueInteger": rec.adaptive_cut},
            {"url": "decision", "valueCode": rec.decision},
        ]
    if rec.stop_reason:
        parts.append({"url": "stopped", "valueString": rec.stop_reason})
    if rec.bank_version:
        parts.append({"url": "bankVersion", "valueString": rec.bank_version})
    note = (
        "Adaptive short form: an estimate of the full-form total from the items asked, not a total score; "
        "not for reliable change, recovery or NHS Talking Therapies outcome measures."
        if rec.total is None
        else "Adaptive short form that asked every question: its total is a full-form total."
    )
    parts.append({"url": "note", "valueString": note})
    return [{"url": vocab.ADAPTIVE_EXT, "extension": parts}]


def bundle_entry(resource: dict[str, Any], method: str | None = None, mode: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
    if method:
        entry["request"] = {"method": method, "url": f"{resource['resourceType']}/{resource['id']}"}
    if mode:
        entry["search"] = {"mode": mode}
    return entry


def operation_outcome(issues: list[tuple[str, str, str, str | None]]) -> dict[str, Any]:
    """(severity, code, diagnostics, expression) -> OperationOutcome."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            _clean({"severity": s, "code": c, "diagnostics": d, "expression": [e] if e else None})
            for s, c, d, e in issues
        ],
    }


def _flag_code(kind: str, text: str) -> dict[str, Any]:
    display = vocab.ALERT_KINDS.get(kind)
    coding = [{"system": vocab.ALERT_KIND_SYSTEM, "code": kind, "display": display}] if display else []
    return _clean({"coding": coding, "text": text})


def _flag_category(safety: bool) -> list[dict[str, Any]]:
    code, display = ("safety", "Safety") if safety else ("clinical", "Clinical")
    return [{"coding": [{"system": vocab.FLAG_CATEGORY, "code": code, "display": display}]}]


def flag(alert: Any) -> dict[str, Any]:
    """An alert as a FHIR Flag: active until closed, coded by its kind, with why in words."""
    return _clean(
        {
            "resourceType": "Flag",
            "id": str(alert.id),
            "status": "inactive" if alert.status == "closed" else "active",
            "category": _flag_category(alert.kind == "safety"),
            "code": _flag_code(alert.kind, f"{alert.title}. {alert.reason}"),
            "subject": {"reference": f"Patient/{alert.person_id}"},
            "period": _clean({"start": _dt(alert.raised_at), "end": _dt(alert.closed_at)}),
        }
    )


def risk_flag(r: Any, current: bool) -> dict[str, Any]:
    """A high-risk assessment as a safety Flag, active while it is the person's latest assessment."""
    return _clean(
        {
            "resourceType": "Flag",
            "id": str(r.id),
            "status": "active" if current else "inactive",
            "category": _flag_category(True),
            "code": _flag_code(vocab.HIGH_RISK_CODE, f"Risk assessed as high by {r.author}: {r.summary}"),
            "subject": {"reference": f"Patient/{r.person_id}"},
            "period": {"start": _dt(r.assessed_at)},
            "author": {"display": r.author},
        }
    )


RISK_LEVEL = {
    "low": ("low", "Low likelihood"),
    "medium": ("moderate", "Moderate likelihood"),
    "high": ("high", "High likelihood"),
}


def risk_assessment(r: Any) -> dict[str, Any]:
    """A clinician's risk assessment as FHIR RiskAssessment: the level as qualitative risk, the summary as a note."""
    code, display = RISK_LEVEL.get(r.level, (r.level, r.level))
    return {
        "resourceType": "RiskAssessment",
        "id": str(r.id),
        "status": "final",
        "subject": {"reference": f"Patient/{r.person_id}"},
        "occurrenceDateTime": _dt(r.assessed_at),
        "performer": {"display": r.author},
        "prediction": [
            {
                "outcome": {"text": "Harm to self or others"},
                "qualitativeRisk": {"coding": [{"system": vocab.RISK_PROBABILITY, "code": code, "display": display}]},
            }
        ],
        "note": [{"text": r.summary}],
    }


def questionnaire(instrument: Instrument) -> dict[str, Any]:
    """A FHIR R4 Questionnaire generated from the instrument file: items, answer options with their scores
    (ordinalValue extension), the scoring rule and the safety items in plain words."""
    items = []
    for it in instrument.items:
        options = []
        for a in instrument.options(it):
            options.append(
                {
                    "extension": [{"url": vocab.ORDINAL_VALUE_EXT, "valueDecimal": instrument.scored(it, a.value)}],
                    "valueCoding": {"system": instrument.answer_system, "code": a.code, "display": a.display},
                }
            )
        item: dict[str, Any] = {
            "linkId": it.code,
            "code": [{"system": instrument.item_system, "code": it.code}],
            "text": it.text,
            "type": "choice",
            "required": True,
            "answerOption": options,
        }
        if it.safety:
            item["extension"] = [{"url": vocab.SAFETY_ITEM_EXT, "valueBoolean": True}]
        items.append(item)
    rule = instrument.missing_rule
    missing = (
        f"with up to {rule.max_missing} item(s) missing the total is prorated; with more it is missing"
        if rule.method == "prorate"
        else "with any item missing the total is missing"
    )
    bands = "; ".join(f"{b.min}-{b.max} {b.label}" for b in instrument.bands)
    scoring = (
        f"Total {instrument.min_total}-{instrument.max_total} ({instrument.total.system}|{instrument.total.code}); "
        f"{missing}. Bands: {bands}."
    )
    if instrument.scoring == "mean":  # a mean is never described as a total
        codes = [i.code for i in instrument.items]
        means = [(instrument.total, instrument.mean_items), *((s.code, s.items) for s in instrument.subscales)]
        scoring = "Scored as means, not totals: " + "; ".join(
            f"{c.display or c.code} ({c.system}|{c.code}) = mean of items "
            f"{', '.join(str(codes.index(i) + 1) for i in items)} (range {instrument.mean_range(items)[0]}-"
            f"{instrument.mean_range(items)[1]})"
            for c, items in means
        )
        scoring += f"; {'higher' if instrument.higher_is_better else 'lower'} is better; with any item of a mean "
        scoring += (
            "missing that mean is missing."
            if rule.method == "none"
            else f"missing, up to {rule.max_missing}, it is the mean of those answered; with more it is missing."
        )
    return {
        "resourceType": "Questionnaire",
        "id": instrument.id,
        "url": instrument.url,
        "name": instrument.id.replace("-", "").upper(),
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "code": [{"system": instrument.panel.system, "code": instrument.panel.code}],
        "copyright": instrument.licence,
        "description": (f"{instrument.preamble} {scoring} Source: {instrument.citation}"),
        "item": [{"linkId": "preamble", "type": "display", "text": instrument.preamble}, *items],
    }


APPOINTMENT_STATUS = {
    "booked": "booked",
    "attended": "fulfilled",
    "did_not_attend": "noshow",
    "cancelled_by_person": "cancelled",
    "cancelled_by_service": "cancelled",
}
# HL7 v3 ParticipationMode-like service types are not standard for place; the place and format are carried
# as appointmentType text and serviceType codes of our own system.
IDIOGRAPH_CODES = vocab.IDIOGRAPH_CODES


def appointment(a: Any) -> dict[str, Any]:
    """An appointment as FHIR R4 Appointment: status mapped (did not attend = noshow), place and format coded."""
    start = a.start
    end = start + timedelta(minutes=a.minutes)
    cancel = None
    if a.status.startswith("cancelled_by_"):
        who = "pat" if a.status == "cancelled_by_person" else "prov"
        cancel = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason", "code": who}]
        }
    return _clean(
        {
            "resourceType": "Appointment",
            "id": str(a.id),
            "status": APPOINTMENT_STATUS[a.status],
            "cancelationReason": cancel,
            "serviceType": [
                {"coding": [{"system": f"{IDIOGRAPH_CODES}/appointment-place", "code": a.place}]},
                {"coding": [{"system": f"{IDIOGRAPH_CODES}/appointment-format", "code": a.format}]},
            ],
            "appointmentType": {"text": f"{a.format.replace('_', ' ')} at {a.place}"},
            "start": _dt(start),
            "end": _dt(end),
            "minutesDuration": a.minutes,
            "participant": [
                {"actor": {"reference": f"Patient/{a.person_id}"}, "status": "accepted"},
                *([{"actor": {"display": a.with_whom}, "status": "accepted"}] if a.with_whom else []),
            ],
        }
    )


def crisis_care_plan(plan: Any) -> dict[str, Any]:
    """The current crisis plan as FHIR R4 CarePlan, marked by its category so any system can find it."""
    c = plan.content
    sections = [
        ("Triggers", c.get("triggers")),
        ("Early warning signs", c.get("warning_signs")),
        ("What helps", c.get("what_helps")),
        ("What does not help", c.get("what_does_not_help")),
        ("People and services to contact", c.get("contacts")),
        ("Copies held by", c.get("copies_held_by")),
    ]
    text = [f"{title}: {'; '.join(items)}" for title, items in sections if items]
    for title, key in (
        ("Preferences about crisis care", "crisis_care_preferences"),
        ("Advance statement", "advance_statement"),
    ):
        if c.get(key):
            text.append(f"{title}: {c[key]}")
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": str(plan.id),
            "meta": {"versionId": str(plan.version), "lastUpdated": _dt(plan.updated_at)},
            "status": "active" if plan.current else "revoked",
            "intent": "plan",
            "category": [{"coding": [{"system": IDIOGRAPH_CODES, "code": "crisis-plan", "display": "Crisis plan"}]}],
            "title": "Crisis plan",
            "description": " | ".join(text) or None,
            "subject": {"reference": f"Patient/{plan.person_id}"},
            "author": {"display": plan.updated_by},
            "note": [{"text": t} for t in text],
        }
    )


# the appointment plan's frequency steps as a FHIR Timing.repeat (how many sessions per period)
_REPEAT = {
    "twice_weekly": {"frequency": 2, "period": 1, "periodUnit": "wk"},
    "weekly": {"frequency": 1, "period": 1, "periodUnit": "wk"},
    "fortnightly": {"frequency": 1, "period": 2, "periodUnit": "wk"},
    "monthly": {"frequency": 1, "period": 1, "periodUnit": "mo"},
    "six_weekly": {"frequency": 1, "period": 6, "periodUnit": "wk"},
}


def _words(value: Any) -> str | None:
    return str(value).replace("_", " ") if value else None


def _therapy_sessions(c: dict[str, Any]) -> dict[str, Any]:
    i, t, first = c.get("intervention") or {}, c.get("therapist") or {}, c.get("first") or {}
    how = ", ".join(w for w in (_words(c.get("format")), _words(c.get("place")), _words(c.get("frequency"))) if w)
    repeat = _REPEAT.get(str(c.get("frequency")))
    timing = {"repeat": repeat} if repeat else None
    start = first.get("start") if first.get("booked") else None
    return {
        "detail": _clean(
            {
                "kind": "Appointment",
                "code": {
                    "coding": [
                        {"system": f"{IDIOGRAPH_CODES}/intervention", "code": i.get("id"), "display": i.get("label")}
                    ]
                },
                "status": "scheduled" if start else "not-started",
                "scheduledTiming": timing,
                "scheduledPeriod": {"start": start} if start and not timing else None,
                "location": {"display": _words(c.get("place"))} if c.get("place") else None,
                "performer": [{"display": t["name"]}] if t.get("name") else [],
                "description": f"{i.get('label', 'Therapy')} sessions" + (f" ({how})" if how else ""),
            }
        )
    }


def _therapy_review(r: dict[str, Any]) -> dict[str, Any]:
    when = f"around {r['around']}" if r.get("around") else "after the first session"
    return {
        "detail": _clean(
            {
                "kind": "Appointment",
                "code": {"text": f"Review at week {r['week']}"},
                "status": "not-started",
                "scheduledString": f"week {r['week']} of treatment ({when})",
                "description": f"Formal review of progress at week {r['week']}",
            }
        )
    }


def therapy_care_plan(plan: Any) -> dict[str, Any]:
    """A therapy plan (matching.model.TherapyPlan) as a FHIR R4 CarePlan of category 'therapy-plan': the sessions and
    the review points as activities, the intake goals as Goal references (the ids the intake export gives them, with
    the person's words as display), what to expect and the person's answer as notes. Only the current version is
    active; earlier ones are revoked."""
    c: dict[str, Any] = plan.content or {}
    i, t = c.get("intervention") or {}, c.get("therapist") or {}
    goals = c.get("goals") or {}
    rec = goals.get("intake_record_id")
    goal_refs = [
        _clean({"reference": f"Goal/{derived_id(rec, f'goal:{n}')}" if rec else None, "display": g})
        for n, g in enumerate(goals.get("items") or [], start=1)
    ]
    notes = [{"text": line} for line in c.get("expect") or []]
    answer = {
        "accepted": "The person accepted this plan",
        "change_requested": "The person asked for a change",
    }.get(plan.status)
    if answer:
        said = f": {plan.answer_note}" if plan.answer_note else ""
        notes.append(_clean({"text": f"{answer}{said}", "time": _dt(plan.answered_at)}))
    who = ", ".join(w for w in (t.get("name"), t.get("profession_label") or _words(t.get("profession"))) if w)
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": str(plan.id),
            "meta": {"versionId": str(plan.version), "lastUpdated": _dt(plan.answered_at or plan.created_at)},
            "status": "active" if plan.current else "revoked",
            "intent": "plan",
            "category": [{"coding": [{"system": IDIOGRAPH_CODES, "code": "therapy-plan", "display": "Therapy plan"}]}],
            "title": f"Therapy plan: {i.get('label', 'therapy')}",
            "description": f"{i.get('label', 'Therapy')}" + (f" with {who}" if who else ""),
            "subject": {"reference": f"Patient/{plan.person_id}"},
            "period": {"start": (c.get("first") or {}).get("start")} if (c.get("first") or {}).get("booked") else None,
            "created": _dt(plan.created_at),
            "author": {"display": plan.created_by},
            "contributor": [{"display": who}] if who else [],
            "goal": goal_refs,
            "activity": [_therapy_sessions(c), *(_therapy_review(r) for r in c.get("reviews") or [])],
            "note": notes,
        }
    )


def appointment_care_plan(plan: Any) -> dict[str, Any]:
    """The appointment plan (how often, where and how) as a FHIR R4 CarePlan of category 'appointment-plan'."""
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": f"appointments-{plan.person_id}",
            "status": "active",
            "intent": "plan",
            "category": [
                {"coding": [{"system": IDIOGRAPH_CODES, "code": "appointment-plan", "display": "Appointment plan"}]}
            ],
            "title": "Appointment plan",
            "description": f"{plan.frequency.replace('_', ' ')} ({plan.format.replace('_', ' ')}, {plan.place}); "
            f"pathway default {plan.default_frequency.replace('_', ' ')}",
            "subject": {"reference": f"Patient/{plan.person_id}"},
            "period": {"start": _dt(plan.updated_at)},
        }
    )


MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
KPI_SYSTEM = f"{vocab.BASE}/CodeSystem/kpi"
BREAKDOWN_SYSTEM = f"{vocab.BASE}/CodeSystem/kpi-breakdown"
SUPPRESSED_EXT = f"{vocab.BASE}/StructureDefinition/suppressed"
INTERVAL_EXT = f"{vocab.BASE}/StructureDefinition/confidence-interval-95"
REFERENCE_GROUP_EXT = f"{vocab.BASE}/StructureDefinition/reference-group"
GAP_EXT = f"{vocab.BASE}/StructureDefinition/gap-to-reference"
DISCLOSURE_EXT = f"{vocab.BASE}/StructureDefinition/disclosure-control"
MEASURE_REPORT_TEAMS = {"talking_therapies": ("kpis", "by"), "community": ("community", "community_by")}


def _percent(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "%", "system": vocab.UCUM, "code": "%"}


def _range(pair: Any) -> dict[str, Any] | None:
    if not pair or pair[0] is None or pair[1] is None:
        return None
    return {"low": _percent(pair[0]), "high": _percent(pair[1])}


def _populations(numerator: Any, denominator: Any, is_rate: bool) -> list[dict[str, Any]]:
    def pop(code: str, count: Any) -> dict[str, Any]:
        return {"code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]}, "count": count}

    if not is_rate:
        return [pop("initial-population", numerator)]
    return [pop("numerator", numerator), pop("denominator", denominator)]


def _score(entry: Any, is_rate: bool) -> dict[str, Any] | None:
    if is_rate:
        return _percent(entry["rate"]) if entry.get("rate") is not None else None
    return {"value": entry["numerator"], "unit": "count", "system": vocab.UCUM, "code": "1"}


def _stratum(group: Any, entry: Any, is_rate: bool) -> dict[str, Any]:
    ext: list[dict[str, Any]] = []
    if group.get("reference"):
        ext.append({"url": REFERENCE_GROUP_EXT, "valueBoolean": True})
    value = {"text": str(group["group"])}
    if entry.get("suppressed"):  # nothing of a suppressed cell: no counts, no rate
        return {"extension": [*ext, {"url": SUPPRESSED_EXT, "valueBoolean": True}], "value": value}
    interval = _range(entry.get("ci95"))
    if interval:
        ext.append({"url": INTERVAL_EXT, "valueRange": interval})
    if entry.get("gap") is not None:
        gap: dict[str, Any] = {"url": GAP_EXT, "extension": [{"url": "points", "valueDecimal": entry["gap"]}]}
        g = _range(entry.get("gap_ci95"))
        if g:
            gap["extension"].append({"url": "interval", "valueRange": g})
        ext.append(gap)
    return _clean(
        {
            "extension": ext,
            "value": value,
            "population": _populations(entry["numerator"], entry["denominator"], is_rate),
            "measureScore": _score(entry, is_rate),
        }
    )


def strata_withheld(doc: dict[str, Any]) -> dict[str, Any]:
    """The OperationOutcome of a MeasureReport search whose period is not one complete period of the publication
    grid (``doc["publication"]``, hazard H-108): the totals are given, the strata are not, and why."""
    pub = doc["publication"]
    period = doc["period"]
    ask = "; ".join(f"{g['name']}: period-start={g['from']}&period-end={g['to']}" for g in pub["overlapping"])
    text = (
        f"Strata (breakdowns by group) are withheld: {period['from']} to {period['to']} is not one complete period of "
        f"the publication grid ({pub['grid_words']}). Group figures of overlapping or nested periods could be "
        "subtracted from each other to recover a suppressed count, so they are published for whole grid periods "
        "only. " + (f"Ask for {ask}." if ask else "No grid period overlapping it has ended yet.")
    )
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "warning",
                "code": "suppressed",
                "details": {"text": text},
                "expression": ["MeasureReport.group.stratifier"],
            }
        ],
    }


def measure_report(
    doc: dict[str, Any], teams: str, created: datetime, words: dict[str, str] | None = None
) -> dict[str, Any]:
    """One FHIR R4 ``MeasureReport`` (type summary) of a KPI document (``reporting.kpi_report``) for one kind of
    team (``talking_therapies`` or ``community``): a group per KPI with its numerator and denominator (a count
    KPI: its initial population) and its measureScore (percent, or the count); a stratifier per equity breakdown
    whose strata carry the disclosure-controlled counts, the rate's 95% interval and the gap to the reference
    group as extensions, a suppressed stratum only its group and ``suppressed: true`` (no count or rate)."""
    totals_key, by_key = MEASURE_REPORT_TEAMS[teams]
    words = words or {}
    period = doc["period"]
    by = doc.get(by_key) or {}
    groups: list[dict[str, Any]] = []
    for name, k in doc[totals_key].items():
        is_rate = k.get("denominator") is not None
        stratifiers = []
        for breakdown, cells in by.items():
            strata = [_stratum(c, c["kpis"][name], is_rate) for c in cells if name in c["kpis"]]
            if strata:
                stratifiers.append(
                    {
                        "code": [{"coding": [{"system": BREAKDOWN_SYSTEM, "code": breakdown}], "text": breakdown}],
                        "stratum": strata,
                    }
                )
        groups.append(
            _clean(
                {
                    "code": {
                        "coding": [{"system": KPI_SYSTEM, "code": name, "display": words.get(name, name)}],
                        "text": words.get(name, name),
                    },
                    "population": _populations(k["numerator"], k["denominator"], is_rate),
                    "measureScore": _score(k, is_rate),
                    "stratifier": stratifiers,
                }
            )
        )
    pub = doc.get("publication")
    control = (
        "group totals exact; strata: counts 1-7 suppressed, others rounded to the nearest 5, with secondary suppression"
    )
    if pub is not None and pub["on_grid"]:
        control += f"; one period of the publication grid ({pub['name']})"
    elif pub is not None:
        control += f"; strata withheld: the period is not one complete period of the grid ({pub['grid_words']})"
    return {
        "resourceType": "MeasureReport",
        "id": f"kpis-{teams.replace('_', '-')}-{period['from']}-{period['to']}",
        "extension": [{"url": DISCLOSURE_EXT, "valueString": control}],
        "status": "complete",
        "type": "summary",
        "measure": f"{vocab.BASE}/Measure/{teams.replace('_', '-')}-kpis|{doc.get('definitions', '')}",
        "date": created.isoformat(),
        "period": {"start": period["from"], "end": period["to"]},
        "group": groups,
    }
