"""The committed SDL against the last released one: every breaking change must be announced in CHANGELOG.md.

The convention: under `## [Unreleased]`, a `### Breaking` list names each breaking change of the schema by its schema
coordinate in backticks: `Type`, `Type.field`, `Input.field`, `Enum.VALUE`, `Type.field(arg:)`, `@directive`,
`@directive(arg:)`. Additions, deprecations and other safe or dangerous changes need no announcement.
Releasing version X: rename `[Unreleased]` to `[X]` and copy schema/schema.graphql to schema/released/X.graphql.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema
from graphql.utilities import BreakingChange, BreakingChangeType, find_breaking_changes, find_dangerous_changes

ROOT = Path(__file__).resolve().parents[2]
CURRENT_SDL = ROOT / "schema" / "schema.graphql"
RELEASED_SDL = ROOT / "schema" / "released"
CHANGELOG = ROOT / "CHANGELOG.md"
VERSION = re.compile(r"\d+\.\d+\.\d+")

_NAME = r"[_A-Za-z][_0-9A-Za-z]*"
_COORDINATE = rf"@?{_NAME}(?:\.{_NAME})?(?:\({_NAME}:\))?"
# Where graphql-core's description of each breaking change names the element that changed (the wording of 3.3).
_COORDINATE_IN: dict[BreakingChangeType, re.Pattern[str]] = {
    kind: re.compile(pattern)
    for kind, pattern in {
        BreakingChangeType.TYPE_REMOVED: rf"^(?:Standard scalar )?({_NAME}) was removed",
        BreakingChangeType.TYPE_CHANGED_KIND: rf"^({_NAME}) changed from ",
        BreakingChangeType.TYPE_REMOVED_FROM_UNION: rf" was removed from union type ({_NAME})\.$",
        BreakingChangeType.VALUE_REMOVED_FROM_ENUM: rf"^Enum value ({_COORDINATE}) was removed",
        BreakingChangeType.REQUIRED_INPUT_FIELD_ADDED: rf"^A required field ({_COORDINATE}) was added",
        BreakingChangeType.IMPLEMENTED_INTERFACE_REMOVED: rf"^({_NAME}) no longer implements ",
        BreakingChangeType.FIELD_REMOVED: rf"^Field ({_COORDINATE}) was removed",
        BreakingChangeType.FIELD_CHANGED_KIND: rf"^Field ({_COORDINATE}) changed type ",
        BreakingChangeType.REQUIRED_ARG_ADDED: rf"^A required argument ({_COORDINATE}) was added",
        BreakingChangeType.ARG_REMOVED: rf"^Argument ({_COORDINATE}) was removed",
        BreakingChangeType.ARG_CHANGED_KIND: rf"^Argument ({_COORDINATE}) has changed type ",
        BreakingChangeType.DIRECTIVE_REMOVED: rf"^Directive ({_COORDINATE}) was removed",
        BreakingChangeType.DIRECTIVE_ARG_REMOVED: rf"^Argument ({_COORDINATE}) was removed",
        BreakingChangeType.REQUIRED_DIRECTIVE_ARG_ADDED: rf"^A required argument ({_COORDINATE}) was added",
        BreakingChangeType.DIRECTIVE_REPEATABLE_REMOVED: rf"^Repeatable flag was removed from ({_COORDINATE})\.$",
        BreakingChangeType.DIRECTIVE_LOCATION_REMOVED: rf" was removed from ({_COORDINATE})\.$",
    }.items()
}


def coordinate_of(change: BreakingChange) -> str:
    """The schema coordinate of what changed; the whole description when graphql-core words it differently."""
    pattern = _COORDINATE_IN.get(change.type)
    found = pattern.search(change.description) if pattern else None
    return found.group(1) if found else change.description


def announced_coordinates(changelog: str) -> set[str]:
    """Everything in backticks in the `### Breaking` list of the `## [Unreleased]` section."""
    announced: set[str] = set()
    section = subsection = ""
    for line in changelog.splitlines():
        if line.startswith("## "):
            section, subsection = line[3:].strip().lower(), ""
        elif line.startswith("### "):
            subsection = line[4:].strip().lower()
        elif section.startswith("[unreleased]") and subsection == "breaking":
            announced.update(re.findall(r"`([^`]+)`", line))
    return announced


def unannounced_breaking_changes(released_sdl: str, current_sdl: str, changelog: str) -> list[str]:
    announced = announced_coordinates(changelog)
    changes = find_breaking_changes(build_schema(released_sdl), build_schema(current_sdl))
    return [
        f"`{coordinate}` ({change.description})"
        for change in changes
        if (coordinate := coordinate_of(change)) not in announced
    ]


def released_versions() -> list[str]:
    names = [path.stem for path in RELEASED_SDL.glob("*.graphql")]
    assert names, f"no released SDL in {RELEASED_SDL}"
    assert all(VERSION.fullmatch(name) for name in names), f"released SDLs are named <major>.<minor>.<patch>: {names}"
    return sorted(names, key=lambda name: tuple(int(part) for part in name.split(".")))


# --- the gate over the committed schema ------------------------------------------------------------------------


def test_every_breaking_change_since_the_last_release_is_announced() -> None:
    last = released_versions()[-1]
    unannounced = unannounced_breaking_changes(
        (RELEASED_SDL / f"{last}.graphql").read_text(encoding="utf-8"),
        CURRENT_SDL.read_text(encoding="utf-8"),
        CHANGELOG.read_text(encoding="utf-8"),
    )
    assert unannounced == [], (
        f"breaking changes since {last} that CHANGELOG.md does not announce (name each coordinate in backticks in "
        "the '### Breaking' list under '## [Unreleased]', or keep the old form, deprecated):\n" + "\n".join(unannounced)
    )


def test_every_released_schema_has_its_changelog_entry() -> None:
    headings = set(re.findall(r"^## \[([^\]]+)\]", CHANGELOG.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert "Unreleased" in headings
    assert set(released_versions()) <= headings


# --- the gate itself, on small schemas -------------------------------------------------------------------------

RELEASED = """
type Query {
  search(text: String!, first: Int = 10): [Result!]!
  lead(id: ID!): Result
}
type Result { id: ID! title: String kind: Kind count: Int }
enum Kind { LEAD TENDER }
input Filter { keywords: String }
"""
SEARCH_REMOVED = """
type Query {
  lead(id: ID!): Result
}
type Result { id: ID! title: String kind: Kind count: Int }
enum Kind { LEAD TENDER }
input Filter { keywords: String }
"""


def changelog(breaking: str, elsewhere: str = "") -> str:
    return f"# Changelog\n\n## [Unreleased]\n\n### Breaking\n\n{breaking}\n\n### Added\n\n{elsewhere}\n\n## [0.1.0]\n"


def test_an_unannounced_removed_field_fails_the_gate_naming_it() -> None:
    unannounced = unannounced_breaking_changes(RELEASED, SEARCH_REMOVED, changelog("- `Result.title`: removed"))
    assert unannounced == ["`Query.search` (Field Query.search was removed.)"]


def test_an_announced_removed_field_passes_the_gate() -> None:
    announced = changelog("- `Query.search`: removed; use `leads(filter: {keywords})`.")
    assert unannounced_breaking_changes(RELEASED, SEARCH_REMOVED, announced) == []


@pytest.mark.parametrize(
    "text",
    [
        changelog("", elsewhere="- `Query.search`: removed"),  # not in the Breaking list
        "# Changelog\n\n## [Unreleased]\n\n## [0.1.0]\n\n### Breaking\n\n- `Query.search`: removed\n",  # released
        changelog("- Query.search: removed"),  # not in backticks
    ],
)
def test_only_the_breaking_list_of_unreleased_announces(text: str) -> None:
    assert len(unannounced_breaking_changes(RELEASED, SEARCH_REMOVED, text)) == 1


def test_additions_and_deprecations_need_no_announcement() -> None:
    grown = """
    type Query {
      search(text: String!, first: Int = 10, kinds: [Kind!]): [Result!]!
      lead(id: ID!): Result
      sources: [String!]!
    }
    type Result { id: ID! title: String @deprecated(reason: "Use `name`.") name: String kind: Kind count: Int }
    enum Kind { LEAD TENDER CONTRACT }
    input Filter { keywords: String gsins: [String!] }
    """
    dangerous = {change.type.name for change in find_dangerous_changes(build_schema(RELEASED), build_schema(grown))}
    assert dangerous == {"VALUE_ADDED_TO_ENUM", "OPTIONAL_ARG_ADDED", "OPTIONAL_INPUT_FIELD_ADDED"}
    assert unannounced_breaking_changes(RELEASED, grown, changelog("")) == []


FIELDS_CHANGED = """
type Query {
  search(text: Int!, first: Int = 10, tier: String!): [Result!]
  lead: Result
}
type Result { id: ID! title: Int count: Int }
enum Kind { LEAD }
input Filter { keywords: String gsins: [String!]! }
"""
TYPES_RELEASED = """
directive @cost(weight: Int, unit: String) repeatable on FIELD_DEFINITION | OBJECT
directive @internal on FIELD_DEFINITION
interface Node { id: ID! }
type Lead implements Node { id: ID! }
type Tender implements Node { id: ID! }
type Award { id: ID! }
union Result = Lead | Tender
input Region { code: String }
type Query { node: Node result: Result }
"""
TYPES_CHANGED = """
directive @cost(weight: Int!, scale: Int!) on FIELD_DEFINITION
interface Node { id: ID! }
type Lead implements Node { id: ID! }
type Tender { id: ID! }
union Result = Lead
enum Region { CODE }
type Query { node: Node result: Result }
"""


def test_each_kind_of_breaking_change_is_named_by_its_coordinate() -> None:
    changes = [
        *find_breaking_changes(build_schema(RELEASED), build_schema(FIELDS_CHANGED)),
        *find_breaking_changes(build_schema(TYPES_RELEASED), build_schema(TYPES_CHANGED)),
    ]
    assert sorted((change.type.name, coordinate_of(change)) for change in changes) == [
        ("ARG_CHANGED_KIND", "@cost(weight:)"),
        ("ARG_CHANGED_KIND", "Query.search(text:)"),
        ("ARG_REMOVED", "Query.lead(id:)"),
        ("DIRECTIVE_ARG_REMOVED", "@cost(unit:)"),
        ("DIRECTIVE_LOCATION_REMOVED", "@cost"),
        ("DIRECTIVE_REMOVED", "@internal"),
        ("DIRECTIVE_REPEATABLE_REMOVED", "@cost"),
        ("FIELD_CHANGED_KIND", "Query.search"),
        ("FIELD_CHANGED_KIND", "Result.title"),
        ("FIELD_REMOVED", "Result.kind"),
        ("IMPLEMENTED_INTERFACE_REMOVED", "Tender"),
        ("REQUIRED_ARG_ADDED", "Query.search(tier:)"),
        ("REQUIRED_DIRECTIVE_ARG_ADDED", "@cost(scale:)"),
        ("REQUIRED_INPUT_FIELD_ADDED", "Filter.gsins"),
        ("TYPE_CHANGED_KIND", "Region"),
        ("TYPE_REMOVED", "Award"),
        ("TYPE_REMOVED_FROM_UNION", "Result"),
        ("VALUE_REMOVED_FROM_ENUM", "Kind.TENDER"),
    ]


def test_every_kind_of_breaking_change_has_its_coordinate_pattern() -> None:
    assert set(_COORDINATE_IN) == set(BreakingChangeType)
