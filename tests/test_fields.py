"""Author-written YAML: lines of keys and items, and the field table's check."""

from __future__ import annotations

import pytest

from newsdesk.errors import NewsdeskError, NewsdeskErrors, raise_all
from newsdesk.fields import (
    Field,
    Invalid,
    check,
    compose_yaml,
    item_lines,
    key_lines,
    load_yaml,
    node_line,
)

TEXT = "- name: a\n  size: 1\n\n- name: b\n  size: [2]\n"


def test_load_yaml_keeps_the_line_of_every_item_and_key() -> None:
    document = load_yaml(TEXT, "f.yml", first_line=3)
    assert document.data == [{"name": "a", "size": 1}, {"name": "b", "size": [2]}]
    assert item_lines(document.node, 3) == [3, 6]
    second = document.node.value[1]
    assert node_line(second, 3) == 6
    assert key_lines(second, 3) == {"name": 6, "size": 7}
    # Not a mapping, not a list: no lines, and the first line without a node.
    assert key_lines(document.node) == {} and item_lines(second) == []
    assert node_line(None, 4) == 4


def test_load_yaml_names_file_and_line_of_a_syntax_error() -> None:
    with pytest.raises(NewsdeskError) as info:
        load_yaml("a: 1\nb: [unclosed\nc: 2\n", "f.yml", first_line=2, problem="bad front")
    assert info.value.path == "f.yml"
    assert info.value.line in (3, 4)
    assert info.value.message.startswith("bad front: ")


def test_dates_stay_text_only_when_asked() -> None:
    assert load_yaml("d: 2026-01-01\n", "f").data["d"].isoformat() == "2026-01-01"
    assert load_yaml("d: 2026-13-01\n", "f", dates_as_text=True).data == {"d": "2026-13-01"}
    assert load_yaml("", "f") == (None, None)


def test_compose_yaml_gives_lines_even_for_tags_the_safe_loader_lacks() -> None:
    node = compose_yaml("a: 1\nb: !ENV [HOME, x]\nc: !!python/name:os.path\n")
    assert key_lines(node) == {"a": 1, "b": 2, "c": 3}
    assert compose_yaml("a: [1\n") is None
    assert compose_yaml("") is None


def _size(value: object) -> int:
    if not isinstance(value, int):
        raise Invalid(f"'size' must be a number, not {value!r}")
    return value


TABLE = (
    Field("name", str.upper, required=True, missing="{where} has no 'name'"),
    Field("size", _size, required=True),
    Field("kind", _size, required=True),
    Field("colour", default="red"),
)


def test_check_returns_every_error_with_file_and_line() -> None:
    document = load_yaml("size: big\nextra: 1\n", "f.yml", first_line=10)
    lines = key_lines(document.node, 10)
    checked = check(
        document.data, TABLE, source="f.yml", line=9, lines=lines, where="row 1", known=()
    )
    assert [str(e) for e in checked.errors] == [
        "f.yml:9: row 1: missing field(s) kind",
        "f.yml:9: row 1 has no 'name'",
        "f.yml:10: row 1: 'size' must be a number, not 'big'",
    ]
    assert checked.unknown == ["extra"]
    assert checked.values == {"colour": "red"}  # failed fields are left out
    with pytest.raises(NewsdeskErrors) as info:
        checked.raise_errors()
    assert len(info.value.errors) == 3


def test_check_converts_and_knows_extra_keys() -> None:
    data = {"name": "a", "size": 2, "kind": 3, "title": "x"}
    checked = check(data, TABLE, source="f", line=1, lines={}, known=("title",))
    assert checked.values == {"name": "A", "size": 2, "kind": 3, "colour": "red"}
    assert checked.errors == [] and checked.unknown == []


def test_a_blank_required_value_is_missing() -> None:
    table = (Field("title", required=True, missing="no title", blank=lambda v: not v),)
    checked = check({"title": ""}, table, source="f", line=1, lines={"title": 2})
    assert [str(e) for e in checked.errors] == ["f:1: no title"]


def test_raise_all() -> None:
    raise_all([])
    one = NewsdeskError("one", "f", 1)
    with pytest.raises(NewsdeskError) as info:
        raise_all([one])
    assert info.value is one
    with pytest.raises(NewsdeskErrors) as many:
        raise_all([one, NewsdeskError("two", "f", 2)])
    assert str(many.value) == "f:1: one\nf:2: two"
