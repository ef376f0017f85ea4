"""Secrets masked where they stand as values, the rest of a message left readable."""

from __future__ import annotations

import pytest

from lbtoolkit.config import MASK, mask_secrets


def test_the_mask_does_not_tell_the_length() -> None:
    assert MASK == "******"


@pytest.mark.parametrize(
    ("text", "secrets", "masked"),
    [
        (
            "password p rejected by parameter p",
            ("p",),
            "password ****** rejected by parameter ******",
        ),
        ("auth 'hunter2' failed", ("hunter2",), "auth '******' failed"),
        ("hunter2x is not hunter2", ("hunter2",), "hunter2x is not ******"),
        ("p@ss and p%40ss", ("p@ss",), "****** and ******"),
        ("longer secret-pw, secret", ("secret", "secret-pw"), "longer ******, ******"),
        ("nothing to hide", ("", None), "nothing to hide"),
    ],
)
def test_known_secrets_are_masked_as_whole_tokens(
    text: str, secrets: tuple[str | None, ...], masked: str
) -> None:
    assert mask_secrets(text, secrets) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://app:pw@db/shop", "postgres://app:******@db/shop"),
        ("redis://:pw@cache:6379/0", "redis://:******@cache:6379/0"),
        ("amqp://guest@mq/", "amqp://guest@mq/"),
        (
            "postgresql://db/x?user=u&password=pw&sslmode=require",
            "postgresql://db/x?user=u&password=******&sslmode=require",
        ),
    ],
)
def test_url_credentials_are_masked_by_their_place(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_a_password_with_a_raw_at_sign_is_masked_whole_when_known() -> None:
    assert mask_secrets("postgres://u:p@ss@db/x", ("p@ss",)) == "postgres://u:******@db/x"
