"""Outages: which errors are a plugin's, and one log line per outage instead of one per call."""

from __future__ import annotations

import logging

import pytest

import lbtoolkit.tools
from lbtoolkit.tools import Outages, PluginOutage
from lbtoolkit.tools._outages import SUMMARY_INTERVAL

LOGGER = "lbtoolkit.outages"


class CacheDownError(Exception):
    """A client library's own "cannot reach the server" error."""


class QueueDownError(Exception):
    """Another library's."""


class StatementError(Exception):
    """A library's error that means an outage only in some states."""

    def __init__(self, *, invalidated: bool) -> None:
        super().__init__(invalidated)
        self.invalidated = invalidated


class Client:
    """A plugin's client: builtin errors count only when raised through it."""

    def get(self) -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 6379)")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def throw(error: BaseException) -> None:
    raise error


def raised(error: BaseException) -> BaseException:
    """``error`` with a traceback, as a transport receives it."""
    try:
        throw(error)
    except BaseException as caught:  # noqa: BLE001 - handed back to the test
        return caught
    raise AssertionError  # pragma: no cover - unreachable


def through(client: Client) -> BaseException:
    try:
        client.get()
    except ConnectionRefusedError as error:
        return error
    raise AssertionError  # pragma: no cover - unreachable


def test_public_names_are_exported() -> None:
    assert {"Outages", "PluginOutage"} <= set(lbtoolkit.tools.__all__)
    assert Outages.retry_after_seconds == 5
    assert SUMMARY_INTERVAL == 10.0


def test_a_registered_library_error_is_the_plugins_outage() -> None:
    outages = Outages()
    cache = outages.register("cache", "redis", (CacheDownError,))
    assert outages.classify(raised(CacheDownError("refused"))) is cache
    assert cache.message == 'plugin "cache" (redis) is unavailable'
    assert cache.label == 'plugin "cache" (redis)'
    assert repr(cache) == '<PluginOutage plugin "cache" (redis)>'


def test_an_unknown_error_is_no_outage() -> None:
    outages = Outages()
    assert outages.classify(raised(RuntimeError("bug"))) is None
    outages.register("cache", "redis", (CacheDownError,))
    assert outages.classify(raised(RuntimeError("bug"))) is None
    assert outages.report(raised(RuntimeError("bug")), "/svc/Get") is None


def test_the_cause_and_the_context_are_followed() -> None:
    outages = Outages()
    cache = outages.register("cache", "redis", (CacheDownError,))
    caused = RuntimeError("query failed")
    caused.__cause__ = CacheDownError("refused")
    assert outages.classify(caused) is cache
    during = RuntimeError("while handling")
    during.__context__ = caused
    assert outages.classify(during) is cache


def test_a_cycle_of_causes_ends() -> None:
    outages = Outages()
    outages.register("cache", "redis", (CacheDownError,))
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__context__, second.__context__ = second, first
    assert outages.classify(first) is None


def test_matches_adds_errors_by_their_state() -> None:
    outages = Outages()
    db = outages.register(
        "db",
        "postgres_gorm",
        (),
        matches=lambda e: isinstance(e, StatementError) and e.invalidated,
    )
    assert outages.classify(raised(StatementError(invalidated=True))) is db
    assert outages.classify(raised(StatementError(invalidated=False))) is None


def test_a_builtin_error_counts_only_through_the_plugins_objects() -> None:
    client = Client()
    outages = Outages()
    cache = outages.register("cache", "redis", (ConnectionError,), owners=lambda: (client,))
    assert outages.classify(through(client)) is cache
    # The same error from anywhere else (another service's HTTP client) is not the cache's.
    assert outages.classify(through(Client())) is None
    assert outages.classify(raised(ConnectionRefusedError(111, "refused"))) is None


def test_the_owner_on_the_traceback_tells_two_plugins_apart() -> None:
    first, second = Client(), Client()
    outages = Outages()
    outages.register("cache", "redis", (ConnectionError,), owners=lambda: (first,))
    sessions = outages.register("sessions", "redis", (ConnectionError,), owners=lambda: (second,))
    assert outages.classify(through(second)) is sessions


def test_a_library_error_two_plugins_claim_goes_to_the_first_registered() -> None:
    outages = Outages()
    cache = outages.register("cache", "redis", (CacheDownError,))
    outages.register("sessions", "redis", (CacheDownError,))
    outages.register("queue", "rabbitmq", (QueueDownError,))
    assert outages.classify(raised(CacheDownError())) is cache
    assert [o.plugin for o in outages.registered()] == ["cache", "sessions", "queue"]


def test_an_outage_logs_once_then_a_summary_at_most_every_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    outages = Outages(clock)
    cache = outages.register(
        "cache", "redis", (CacheDownError,), describe=lambda e: f"{type(e).__name__}!"
    )
    caplog.set_level(logging.INFO, logger=LOGGER)
    wrapped = RuntimeError("query failed")
    wrapped.__cause__ = CacheDownError("refused")
    assert outages.report(wrapped, "/svc/Get") is cache
    for _ in range(40):
        clock.now += 0.125
        assert outages.report(raised(CacheDownError()), "/svc/Get") is cache
    clock.now += SUMMARY_INTERVAL - 5.0
    outages.report(raised(CacheDownError()), "GET /v1/items")
    assert cache.down
    assert cache.failed_calls == 42
    clock.now += 2.5
    cache.available()
    cache.available()  # no outage any more: nothing to say
    assert not cache.down
    began = (
        'plugin "cache" (redis) is unavailable: CacheDownError! (first failed call: /svc/Get); '
        "calls that need it answer UNAVAILABLE (HTTP 503) until its readiness check passes again"
    )
    still = (
        'plugin "cache" (redis) is still unavailable after 10.0s: '
        "41 more failed calls in the last 10.0s"
    )
    ended = (
        'plugin "cache" (redis) is available again after 12.5s; 42 calls failed during the outage'
    )
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER] == [
        ("WARNING", began),
        ("WARNING", still),
        ("INFO", ended),
    ]


def test_a_new_outage_after_recovery_is_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    outages = Outages(Clock())
    cache = outages.register("cache", "redis", (CacheDownError,))
    caplog.set_level(logging.WARNING, logger=LOGGER)
    outages.report(raised(CacheDownError("refused")), "/svc/Get")
    cache.available()
    outages.report(raised(CacheDownError("reset")), "/svc/Put")
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 2
    assert messages[1].startswith(
        'plugin "cache" (redis) is unavailable: CacheDownError: reset (first failed call: /svc/Put)'
    )
    assert cache.failed_calls == 1


def test_a_registration_is_a_plugin_outage() -> None:
    registration = Outages().register("queue", "rabbitmq", (QueueDownError,))
    assert isinstance(registration, PluginOutage)
    assert registration.claims(QueueDownError())
    assert not registration.claims(CacheDownError())
    assert not registration.owns(set())
