"""The KPI document as CSV rows (pure): the totals (exact, service level), every breakdown's cells as published
(disclosure-controlled) and the experience-of-choice questions, one row each. The Reports page's CSV and
``idiograph report kpis --format csv`` both write these, so the two files are the same for the same document."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

CSV_COLUMNS = (
    "teams",
    "breakdown",
    "group",
    "reference_group",
    "kpi",
    "numerator",
    "denominator",
    "rate_percent",
    "ci95_low",
    "ci95_high",
    "gap_points",
    "gap_ci95_low",
    "gap_ci95_high",
    "suppressed",
    "question",
)


def csv_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The totals (exact, service level) and every breakdown's cells as published (disclosure-controlled)."""
    rows: list[dict[str, Any]] = []
    for teams, key in (("talking_therapies", "kpis"), ("community", "community")):
        for name, k in doc[key].items():
            rows.append(
                {
                    "teams": teams,
                    "breakdown": "total",
                    "group": "all",
                    "reference_group": "",
                    "kpi": name,
                    "numerator": k["numerator"],
                    "denominator": k["denominator"],
                    "rate_percent": k["rate"],
                    "suppressed": False,
                }
            )
    for teams, key in (("talking_therapies", "by"), ("community", "community_by")):
        for b, cells in doc.get(key, {}).items():
            ref = next((c["group"] for c in cells if c.get("reference")), "")
            for cell in cells:
                for name, e in cell["kpis"].items():
                    ci = e.get("ci95") or (None, None)
                    gci = e.get("gap_ci95") or (None, None)
                    rows.append(
                        {
                            "teams": teams,
                            "breakdown": b,
                            "group": cell["group"],
                            "reference_group": ref,
                            "kpi": name,
                            "numerator": e["numerator"],
                            "denominator": e["denominator"],
                            "rate_percent": e.get("rate"),
                            "ci95_low": ci[0],
                            "ci95_high": ci[1],
                            "gap_points": e.get("gap"),
                            "gap_ci95_low": gci[0],
                            "gap_ci95_high": gci[1],
                            "suppressed": bool(e.get("suppressed")),
                        }
                    )
    for q in doc.get("experience", {}).get("questions", []):  # service level, counts as published
        rows.append(
            {
                "teams": "all",
                "breakdown": f"experience {q['form']}",
                "group": "all",
                "reference_group": "",
                "kpi": f"{q['label']} ({q['code']})",
                "numerator": q["numerator"],
                "denominator": q["denominator"],
                "rate_percent": q["rate"],
                "ci95_low": (q["ci"] or (None, None))[0],
                "ci95_high": (q["ci"] or (None, None))[1],
                "suppressed": bool(q["suppressed"]),
                "question": f"{q['question']} [counted: {q['counted']}]",
            }
        )
    co = doc.get("community_outcomes", {})
    for key in ("dialog", "gbo") if co.get("dialog") else ():  # community teams, service level, as published
        m = co[key]
        cov = m.get("coverage") or {}
        rows.append(
            {
                "teams": "community",
                "breakdown": "community outcomes",
                "group": "all",
                "reference_group": "",
                "kpi": f"{key}_paired_scores",
                "numerator": m["paired"],
                "denominator": m["ended"],
                "rate_percent": cov.get("rate"),
                "ci95_low": (cov.get("ci") or (None, None))[0],
                "ci95_high": (cov.get("ci") or (None, None))[1],
                "suppressed": bool(m["suppressed"]),
                "question": m["title"],
            }
        )
        if key == "gbo":
            ri = m["reliably_improved"]
            rows.append(
                {
                    "teams": "community",
                    "breakdown": "community outcomes",
                    "group": "all",
                    "reference_group": "",
                    "kpi": "gbo_reliably_improved",
                    "numerator": ri["numerator"],
                    "denominator": ri["denominator"],
                    "rate_percent": ri["rate"],
                    "ci95_low": (ri["ci"] or (None, None))[0],
                    "ci95_high": (ri["ci"] or (None, None))[1],
                    "suppressed": bool(ri["suppressed"]),
                    "question": ri["meaning"],
                }
            )
    ip = doc.get("inpatient", {})
    for key in ("follow_up_72_hours", "readmission_30_days") if ip.get("available") else ():  # service totals
        m = ip[key]
        rows.append(
            {
                "teams": "all",
                "breakdown": "total",
                "group": "all",
                "reference_group": "",
                "kpi": key,
                "numerator": m["numerator"],
                "denominator": m["denominator"],
                "rate_percent": m["rate"],
                "ci95_low": (m["ci"] or (None, None))[0],
                "ci95_high": (m["ci"] or (None, None))[1],
                "suppressed": False,
                "question": f"inpatient discharges in the period; {m['window_still_open']} not yet judged",
            }
        )
    return rows


def csv_text(doc: Mapping[str, Any]) -> str:
    """``csv_rows`` written under ``CSV_COLUMNS`` (a value that is None is an empty cell), as the page writes it."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in csv_rows(doc):
        w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    return buf.getvalue()
