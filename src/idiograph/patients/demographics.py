"""Demographic vocabularies used for equity reporting (NHS Data Dictionary), as pure data."""

from __future__ import annotations

import re
from datetime import date

# NHS Data Dictionary "Ethnic Category" (2001 census categories), code -> (group, label).
ETHNIC_CATEGORIES: dict[str, tuple[str, str]] = {
    "A": ("White", "White - British"),
    "B": ("White", "White - Irish"),
    "C": ("White", "White - Any other White background"),
    "D": ("Mixed", "Mixed - White and Black Caribbean"),
    "E": ("Mixed", "Mixed - White and Black African"),
    "F": ("Mixed", "Mixed - White and Asian"),
    "G": ("Mixed", "Mixed - Any other mixed background"),
    "H": ("Asian or Asian British", "Asian or Asian British - Indian"),
    "J": ("Asian or Asian British", "Asian or Asian British - Pakistani"),
    "K": ("Asian or Asian British", "Asian or Asian British - Bangladeshi"),
    "L": ("Asian or Asian British", "Asian or Asian British - Any other Asian background"),
    "M": ("Black or Black British", "Black or Black British - Caribbean"),
    "N": ("Black or Black British", "Black or Black British - African"),
    "P": ("Black or Black British", "Black or Black British - Any other Black background"),
    "R": ("Other ethnic groups", "Other ethnic groups - Chinese"),
    "S": ("Other ethnic groups", "Other ethnic groups - Any other ethnic group"),
    "Z": ("Not stated", "Not stated"),
    "99": ("Not known", "Not known"),
}

SEXES = ("female", "male", "other", "unknown")  # FHIR administrative gender

# The fields a person record carries, in the order imports and forms list them.
DEMOGRAPHIC_FIELDS = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "gender_identity",
    "ethnicity",
    "deprivation_decile",
    "preferred_language",
    "nhs_number",
)

AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 17, "under 18"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 74, "65-74"),
    (75, None, "75+"),
)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def age_band(birth_date: date | None, on: date) -> str:
    if birth_date is None:
        return "unknown"
    age = age_on(birth_date, on)
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return "unknown"


def ethnic_group(code: str | None) -> str:
    return ETHNIC_CATEGORIES[code][0] if code in ETHNIC_CATEGORIES else "Not known"


def is_language_tag(value: str) -> bool:
    """A BCP 47 language tag of the simple form services use (``en``, ``pl``, ``pa-Guru``)."""
    return bool(_LANGUAGE.match(value))
