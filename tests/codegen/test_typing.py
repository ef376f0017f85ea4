"""The generated modules under ``mypy --strict``, and code using them, right and wrong."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from tests.codegen.support import FIXTURES, MypyResult, run_mypy
from tests.support.mypy_cache import mypy_cache

if TYPE_CHECKING:
    from pathlib import Path

USERS = FIXTURES / "users"


@pytest.fixture(scope="module")
def mypy_result(generated: Path) -> MypyResult:
    # One run over everything: mypy's start-up dominates its time.
    for source in USERS.glob("*.py.in"):
        shutil.copyfile(source, generated / source.name.removesuffix(".in"))
    targets = ["-p", "gen_typed", "-p", "gen_go"]
    targets += [arg for path in generated.glob("gen_guide_*") for arg in ("-p", path.name)]
    users = ["user_service", "wrong_instance", "wrong_plugin", "wrong_server"]
    targets += [arg for name in users for arg in ("-m", name)]
    return run_mypy(generated, targets, mypy_cache("codegen-typing"))


def test_generated_modules_pass_mypy_strict(mypy_result: MypyResult) -> None:
    assert mypy_result.errors_in("_toolkit") == [], mypy_result.output
    assert mypy_result.errors_in("gen_") == [], mypy_result.output


def test_user_module_injecting_the_plugins_passes(mypy_result: MypyResult) -> None:
    assert mypy_result.errors_in("user_service.py") == [], mypy_result.output


def test_sql_plugin_where_the_cache_is_expected_fails(mypy_result: MypyResult) -> None:
    errors = mypy_result.errors_in("wrong_plugin.py")
    assert len(errors) == 1, mypy_result.output
    assert 'incompatible type "PgsqlPlugin"; expected "RedisPlugin"' in errors[0]


def test_one_instance_where_another_of_its_plugin_is_expected_fails(
    mypy_result: MypyResult,
) -> None:
    errors = mypy_result.errors_in("wrong_instance.py")
    assert len(errors) == 1, mypy_result.output
    # Line 14 passes the analytics database; line 13 passes the primary one and type-checks.
    assert "wrong_instance.py:14: error: " in errors[0]
    assert 'incompatible type "AnalyticsDbPlugin"; expected "PrimaryDbPlugin"' in errors[0]
    assert "instance_name: expected \"Literal['primary_db']\", got \"Literal['analytics_db']\"" in (
        mypy_result.output
    )


def test_rpc_server_with_a_wrong_request_type_fails(mypy_result: MypyResult) -> None:
    errors = mypy_result.errors_in("wrong_server.py")
    assert len(errors) == 1, mypy_result.output
    assert 'incompatible type "type[WrongUsers]"' in errors[0]
    assert 'expected "Callable[..., MyServiceRpcServer]"' in errors[0]
