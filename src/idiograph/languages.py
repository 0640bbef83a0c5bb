"""Languages as people name them (pure): 'Polish' not pl. ISO 639-1 codes (and a few 639-2/3 where a service
records them): the languages most often recorded in UK services; any other code is shown as it is."""

from __future__ import annotations

from collections.abc import Iterable

LANGUAGES: dict[str, str] = {
    "en": "English",
    "cy": "Welsh",
    "gd": "Scottish Gaelic",
    "ga": "Irish",
    "pl": "Polish",
    "ro": "Romanian",
    "ur": "Urdu",
    "pa": "Punjabi",
    "bn": "Bengali",
    "gu": "Gujarati",
    "hi": "Hindi",
    "ta": "Tamil",
    "ar": "Arabic",
    "fa": "Persian (Farsi)",
    "ps": "Pashto",
    "ku": "Kurdish",
    "so": "Somali",
    "ti": "Tigrinya",
    "am": "Amharic",
    "tr": "Turkish",
    "zh": "Chinese",
    "yue": "Cantonese",
    "pt": "Portuguese",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "de": "German",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "bg": "Bulgarian",
    "hu": "Hungarian",
    "sk": "Slovak",
    "cs": "Czech",
    "uk": "Ukrainian",
    "ru": "Russian",
    "sq": "Albanian",
    "el": "Greek",
    "vi": "Vietnamese",
    "tl": "Tagalog",
    "ne": "Nepali",
    "sgn": "Sign language",
    "bfi": "British Sign Language",
}


# where the region names another language: British and American Sign Language differ; Chinese as recorded in Hong
# Kong or Macau is usually Cantonese
_REGIONAL = {"sgn-gb": "bfi", "sgn-us": "ase", "zh-hk": "yue", "zh-mo": "yue"}


def base(value: str | None) -> str:
    """The language without its region, lower case: 'en' for en-GB and en_gb; '' for nothing. A sign language keeps
    its region (sgn-GB is not sgn-US) and zh-HK is Cantonese."""
    tag = (value or "").strip().replace("_", "-").lower()
    parts = tag.split("-")
    if len(parts) > 1 and f"{parts[0]}-{parts[1]}" in _REGIONAL:
        return _REGIONAL[f"{parts[0]}-{parts[1]}"]
    if parts[0] == "sgn" and len(parts) > 1:
        return f"sgn-{parts[1]}"
    return parts[0]


def interpreter(value: str | None) -> str:
    """'a Polish interpreter', 'an Arabic interpreter'; 'an interpreter' when no language is recorded."""
    language = name(value)
    if not language:
        return "an interpreter"
    return f"{'an' if language[:1].lower() in 'aeiou' else 'a'} {language} interpreter"


def is_english(value: str | None) -> bool:
    """Nothing recorded counts as English (the service's working language)."""
    return base(value) in ("", "en")


def speaks(languages: Iterable[str] | None, value: str | None) -> bool:
    """Whether someone who works in ``languages`` works in ``value`` (regions ignored: pl-PL is Polish)."""
    return base(value) in {base(x) for x in languages or []}


def name(value: str | None) -> str:
    """'English' for en (and en-GB); an unknown code as it is; nothing for nothing."""
    if not value:
        return ""
    tag = value.strip().replace("_", "-")
    return LANGUAGES.get(tag.lower(), LANGUAGES.get(base(tag), value))
