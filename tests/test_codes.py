import re

import pytest

from triage.service.codes import ALPHABET, InvalidCode, check_symbol, new_code, normalize_code


def test_code_format_is_three_groups_of_five_readable_symbols():
    code = new_code()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", code)
    assert not set("ILOU") & set(code)


def test_codes_carry_at_least_60_bits_and_do_not_repeat():
    assert 14 * 5 >= 60  # 14 random symbols of a 32-symbol alphabet
    codes = {new_code() for _ in range(5000)}
    assert len(codes) == 5000


def test_lookup_is_case_and_separator_insensitive_and_forgives_lookalikes():
    code = new_code()
    typed = code.lower().replace("-", " ")
    assert normalize_code(typed) == code
    zeros = code.replace("0", "o")
    assert normalize_code(zeros) == code


def test_every_single_substitution_is_caught():
    raw = new_code().replace("-", "")
    for i, original in enumerate(raw):
        for ch in ALPHABET:
            if ch != original:
                with pytest.raises(InvalidCode, match="check character"):
                    normalize_code(raw[:i] + ch + raw[i + 1 :])


def test_every_adjacent_swap_is_caught():
    for _ in range(50):
        raw = new_code().replace("-", "")
        for i in range(len(raw) - 1):
            if raw[i] != raw[i + 1]:
                with pytest.raises(InvalidCode):
                    normalize_code(raw[:i] + raw[i + 1] + raw[i] + raw[i + 2 :])


@pytest.mark.parametrize("text", ["", "ABC", "A" * 16, "7KQ2M-XR4TB-9HC0#"])
def test_malformed_codes_are_refused(text):
    with pytest.raises(InvalidCode):
        normalize_code(text)


def test_check_symbol_completes_the_body():
    body = "7KQ2MXR4TB9HC0"
    symbol = check_symbol(body)
    assert normalize_code(body + symbol) == f"7KQ2M-XR4TB-9HC0{symbol}"
