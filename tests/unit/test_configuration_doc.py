"""docs/configuration.md is generated from the settings model: it must match it and give every variable a meaning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.__main__ import main as gateway_main
from gateway.settings import ALIASES, REMOVED, setting_variables, url_variable
from gateway.settings_reference import (
    REGENERATE,
    CommentBlock,
    FieldComments,
    SettingDoc,
    configuration_markdown,
    setting_groups,
    undocumented,
)
from gateway.upstreams.catalog import SPECS
from tests.fourth_upstream import FOURTH

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = REPO_ROOT / "docs" / "configuration.md"


def test_the_committed_reference_is_what_the_settings_model_generates() -> None:
    generated = configuration_markdown()
    committed = CONFIGURATION.read_text(encoding="utf-8")
    assert committed == generated, f"docs/configuration.md differs from the settings model: run `{REGENERATE}`"


def test_every_variable_the_settings_read_is_in_the_reference_with_a_meaning() -> None:
    read = configuration_markdown().split("## Deprecated names")[0]
    documented = set(re.findall(r"^\| `(GATEWAY_[A-Z0-9_]+)` \|", read, flags=re.MULTILINE))
    assert documented == set(setting_variables())
    assert undocumented(setting_groups()) == [], "add a trailing comment to these fields in gateway/settings.py"


def test_renamed_and_removed_names_are_listed() -> None:
    text = configuration_markdown()
    for old in ALIASES:
        assert f"| `{old}` |" in text
    for name, reason in REMOVED.items():
        assert f"| `{name}` |" in text
        assert reason.split(":")[0] in text


def test_an_upstream_added_to_the_catalog_appears_without_any_other_change() -> None:
    text = configuration_markdown((*SPECS, FOURTH))
    assert f"| `{url_variable('fourth')}` | URL |" in text
    assert "| `GATEWAY_FOURTH_TTL_TENDER_S` | integer |" in text
    assert (
        "| `GATEWAY_FOURTH_API_KEY` | string | (empty) | the key for `fourth`, sent as the header `X-Fourth-Key`"
        in text
    )


def test_types_defaults_and_secrets_come_from_the_fields() -> None:
    rows = {
        entry.variable: entry for group in setting_groups() for entry in group.entries if isinstance(entry, SettingDoc)
    }
    assert rows["GATEWAY_PORT"].type == "integer"
    assert rows["GATEWAY_PORT"].default == "`8000`"
    assert rows["GATEWAY_PROFILE"].type == "one of `dev`, `prod`"
    assert rows["GATEWAY_ANONYMOUS_TIER_ENABLED"].type == "boolean"
    assert rows["GATEWAY_CACHE_MAX_BYTES"].default == "`268435456` (256 MiB)"
    assert rows["GATEWAY_REDIS_URL"].secret
    assert rows["GATEWAY_KEYS_PEPPER"].secret
    assert not rows["GATEWAY_PORT"].secret


SOURCE = """
class Example:
    first: int = 1  # the first one

    # Group heading: what follows.
    second: str = "a # not a comment"  # the second one
    # A note on the fields below it.
    third: float = 0.5
    fourth: bool = field(
        default=False,
    )  # the fourth one

    def method(self) -> None:
        pass  # not a field
"""


def test_comments_are_read_as_trailing_meanings_group_headings_and_notes() -> None:
    comments = FieldComments.of(SOURCE, "Example")
    assert comments.trailing == {"first": "the first one", "second": "the second one", "fourth": "the fourth one"}
    assert comments.above == {
        "second": CommentBlock("Group heading: what follows.", starts_group=True),
        "third": CommentBlock("A note on the fields below it.", starts_group=False),
    }


def test_a_field_without_a_meaning_stops_the_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    original = FieldComments.of

    def without_port_comment(source: str, class_name: str) -> FieldComments:
        comments = original(source, class_name)
        return FieldComments({k: v for k, v in comments.trailing.items() if k != "port"}, comments.above)

    monkeypatch.setattr(FieldComments, "of", staticmethod(without_port_comment))
    with pytest.raises(ValueError, match="GATEWAY_PORT: no meaning; add a trailing comment"):
        configuration_markdown()


def test_the_settings_command_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert gateway_main(["settings"]) == 0
    assert capsys.readouterr().out == configuration_markdown()
