"""How messages name user code: ``qualified_name``, in full or short."""

from __future__ import annotations

from typing import Annotated

import pytest

from lbtoolkit._names import qualified_name


class Session:
    class Inner:
        pass

    def close(self) -> None:
        pass


class Endpoint:
    async def __call__(self) -> None:
        pass


def test_classes_and_functions_are_named_by_module_and_qualified_name() -> None:
    assert qualified_name(Session) == f"{__name__}.Session"
    assert qualified_name(Session.Inner) == f"{__name__}.Session.Inner"
    assert qualified_name(Session.close) == f"{__name__}.Session.close"
    assert qualified_name(len) == "len"
    assert qualified_name(int) == "int"


@pytest.mark.parametrize(
    ("value", "short"),
    [
        (Session, "Session"),
        (Session.Inner, "Session.Inner"),
        (Session().close, "Session.close"),
        (int, "int"),
    ],
)
def test_the_short_form_leaves_the_module_out(value: object, short: str) -> None:
    assert qualified_name(value, short=True) == short


def test_a_callable_instance_is_named_by_its_class() -> None:
    assert qualified_name(Endpoint()) == f"{__name__}.Endpoint"
    assert qualified_name(Endpoint(), short=True) == "Endpoint"


def test_anything_else_is_named_by_its_repr() -> None:
    assert qualified_name(42) == "42"
    assert qualified_name("db", short=True) == "'db'"


def test_typing_constructs_keep_their_arguments() -> None:
    # Generic aliases forward __qualname__ to their origin, which would drop [Session].
    assert qualified_name(list[Session], short=True) == f"list[{__name__}.Session]"
    annotated = Annotated[Session, "primary"]
    assert qualified_name(annotated) == repr(annotated)
