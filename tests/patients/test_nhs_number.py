from hypothesis import given
from hypothesis import strategies as st

from idiograph.patients import nhs_number


def test_published_examples() -> None:
    # 943 476 5919 is NHS Digital's worked example: weights 10..2 give 299; 11 - 299 % 11 = 9.
    assert nhs_number.is_valid("943 476 5919")
    assert nhs_number.validate("943-476-5919") == "9434765919"
    assert nhs_number.is_valid("4010232137")  # 92 % 11 = 4 -> 7


def test_rejections_say_why() -> None:
    assert not nhs_number.is_valid("9434765918")
    for bad, reason in [
        ("943476591", "10 digits"),
        ("94347659199", "10 digits"),
        ("9434765918", "check digit"),
        ("abcdefghij", "10 digits"),
    ]:
        try:
            nhs_number.validate(bad)
        except ValueError as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def test_remainder_ten_is_never_valid() -> None:
    # 000000001: total 2 -> 11 - 2 = 9; 000000010: total 3 -> 8; find one whose check would be 10.
    nine = next(
        f"{n:09d}"
        for n in range(10_000)
        if (11 - sum(int(d) * w for d, w in zip(f"{n:09d}", range(10, 1, -1), strict=True)) % 11) == 10
    )
    assert nhs_number.check_digit(nine) is None
    assert not any(nhs_number.is_valid(nine + str(d)) for d in range(10))


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_or_none(nine: str) -> None:
    valid = [d for d in range(10) if nhs_number.is_valid(nine + str(d))]
    expected = nhs_number.check_digit(nine)
    assert valid == ([] if expected is None else [expected])


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 8), st.integers(1, 9))
def test_any_single_digit_error_is_caught(nine: str, pos: int, delta: int) -> None:
    digit = nhs_number.check_digit(nine)
    if digit is None:
        return
    good = nine + str(digit)
    wrong = good[:pos] + str((int(good[pos]) + delta) % 10) + good[pos + 1 :]
    assert not nhs_number.is_valid(wrong)
