"""Language codes as people name them, and when two codes are the same language."""

from hypothesis import given
from hypothesis import strategies as st

from idiograph import languages


def test_names_and_regions() -> None:
    assert (
        languages.name("pl") == "Polish"
        and languages.name("pl-PL") == "Polish"
        and languages.name("en_GB") == "English"
    )
    assert languages.name("xx") == "xx" and languages.name(None) == ""
    assert languages.is_english(None) and languages.is_english("en-GB") and not languages.is_english("cy")
    assert (
        languages.speaks(["en", "pl"], "pl-PL")
        and not languages.speaks(["en"], "pl")
        and not languages.speaks(None, "pl")
    )


@given(st.sampled_from(sorted(set(languages.LANGUAGES) - {"sgn"})), st.sampled_from(["", "-GB", "_PL", "-Latn"]))
def test_a_region_never_changes_the_language(code: str, region: str) -> None:
    """Except where it names another language (a sign language's country; below)."""
    assert languages.speaks([code], code + region) and languages.speaks([code + region], code)
    assert languages.name(code + region) == languages.name(code)


def test_where_the_region_names_another_language() -> None:
    """Found by review: dropping every region made American and British Sign Language one language, and Chinese as
    recorded in Hong Kong (usually Cantonese) the same as Mandarin."""
    assert not languages.speaks(["sgn-US"], "sgn-GB") and languages.speaks(["bfi"], "sgn-GB")
    assert languages.speaks(["yue"], "zh-HK") and not languages.speaks(["zh"], "zh-HK")
    assert languages.name("sgn-GB") == "British Sign Language" and languages.name("zh-HK") == "Cantonese"


def test_an_interpreter_in_words() -> None:
    assert languages.interpreter("pl") == "a Polish interpreter"
    assert languages.interpreter("ar") == "an Arabic interpreter"
    assert languages.interpreter(None) == "an interpreter"
