"""Gatus-style conditions parse as the catalogue writes them and evaluate against observations."""

from __future__ import annotations

import pytest

from dvcops.conditions import ConditionSyntaxError, parse_condition

OBS = {"STATUS": 200, "RESPONSE_TIME": 350.0, "BODY": '{"data": [{"id": 7}], "ten": "Dịch vụ công"}',
       "CONNECTED": True, "CERTIFICATE_EXPIRATION": 11 * 86400.0, "IP": "127.0.10.1"}


@pytest.mark.parametrize(("text", "holds"), [
    ("[STATUS] == 200", True),
    ("[STATUS] != 200", False),
    ("[STATUS] == any(200, 301)", True),
    ("[STATUS] == any(301, 302)", False),
    ("[RESPONSE_TIME] < 2000", True),
    ("[RESPONSE_TIME] < 300", False),
    ("[BODY] == pat(*Dịch vụ công*)", True),
    ("[BODY] == pat(*Hà Giang*)", False),
    ("[BODY].data[0].id == 7", True),
    ("len([BODY].data) == 1", True),
    ("has([BODY].missing) == false", True),
    ("[CONNECTED] == true", True),
    ("[CERTIFICATE_EXPIRATION] > 240h", True),
    ("[CERTIFICATE_EXPIRATION] > 720h", False),
    ("[IP] == 127.0.10.1", True),
])
def test_conditions_evaluate(text: str, holds: bool) -> None:
    assert parse_condition(text).evaluate(OBS) is holds


def test_missing_observation_fails_the_condition() -> None:
    assert parse_condition("[STATUS] == 200").evaluate({"CONNECTED": False}) is False


@pytest.mark.parametrize("text", ["[STATUS] 200", "[COLOUR] == red", "[STATUS] < any(1, 2)",
                                  "[CERTIFICATE_EXPIRATION] > soon", "STATUS == 200"])
def test_bad_conditions_say_what_is_expected(text: str) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert repr(text) in str(info.value)
