"""The configuration reference (docs/configuration.md), generated from the settings model, never written by hand.

Every variable comes from `gateway.settings`: the fields of `Settings` (type and default from the dataclass), the
variables derived from the upstream specs, `ALIASES` and `REMOVED`. A field's meaning is its trailing comment in
gateway/settings.py; a comment block after a blank line heads a group of fields, one right above a field (no blank
line) is a note on the fields that follow. `make configuration` (`python -m gateway settings`) regenerates the page.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import MISSING, Field, dataclass, fields
from typing import Literal, get_args, get_origin, get_type_hints

from gateway import settings as settings_module
from gateway.settings import (
    ALIASES,
    REMOVED,
    Settings,
    api_key_variable,
    daily_quota_variable,
    field_variable,
    setting_variables,
    ttl_variable,
    url_variable,
)
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind, UpstreamSpec

REGENERATE = "make configuration"  # runs `python -m gateway settings > docs/configuration.md`
_GENERAL = "General"
_KIB = 1024
_BOOLEAN_WORDS = "`true` or `false` (also 1/0, yes/no, on/off)"


@dataclass(frozen=True)
class SettingDoc:
    """One `GATEWAY_*` variable of a field of `Settings`, as the reference shows it."""

    variable: str
    type: str
    default: str
    meaning: str  # empty when the field has no trailing comment (the reference refuses it)
    secret: bool


@dataclass(frozen=True)
class Note:
    """A comment block on the fields that follow it (within a group)."""

    text: str


@dataclass(frozen=True)
class SettingGroup:
    title: str
    intro: str
    entries: tuple[SettingDoc | Note, ...]


class UndocumentedSettings(ValueError):
    """Fields of `Settings` read from the environment without a comment saying what they mean."""


def setting_groups(specs: tuple[UpstreamSpec, ...] = SPECS) -> tuple[SettingGroup, ...]:
    """The fields of `Settings` read from the environment, grouped as gateway/settings.py groups them."""
    read = set(setting_variables(specs))
    comments = FieldComments.of(inspect.getsource(settings_module), Settings.__name__)
    hints = get_type_hints(Settings)
    groups: list[SettingGroup] = []
    title, intro, entries = _GENERAL, "", list[SettingDoc | Note]()
    for setting in fields(Settings):
        if field_variable(setting.name) not in read:
            continue
        above = comments.above.get(setting.name)
        if above is not None and above.starts_group:
            if entries:
                groups.append(SettingGroup(title, intro, tuple(entries)))
            title, intro, entries = _title(above.text), above.text, []
        elif above is not None:
            entries.append(Note(above.text))
        entries.append(_setting_doc(setting, hints[setting.name], comments.trailing.get(setting.name, "")))
    if entries:
        groups.append(SettingGroup(title, intro, tuple(entries)))
    return tuple(groups)


def undocumented(groups: tuple[SettingGroup, ...]) -> list[str]:
    return [
        entry.variable
        for group in groups
        for entry in group.entries
        if isinstance(entry, SettingDoc) and not entry.meaning
    ]


def configuration_markdown(specs: tuple[UpstreamSpec, ...] = SPECS) -> str:
    """The whole reference page. Raises UndocumentedSettings naming every field without a meaning."""
    groups = setting_groups(specs)
    missing = undocumented(groups)
    if missing:
        raise UndocumentedSettings(
            f"{', '.join(missing)}: no meaning; add a trailing comment to the field in gateway/settings.py"
        )
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from gateway/settings.py (its fields and their comments) and the upstream specs by",
        f"     `{REGENERATE}` (`python -m gateway settings`). Do not edit: tests/unit/test_configuration_doc.py",
        "     fails when this page and the settings model differ. -->",
        "",
        "Every setting is an environment variable with the `GATEWAY_` prefix, read once at start-up by",
        "`gateway/settings.py`, the only reader of the environment. Any other `GATEWAY_*` variable stops the start-up",
        "with one line naming the closest valid one; a renamed one is still read (and logged as deprecated), a removed",
        f"one says why. Booleans are {_BOOLEAN_WORDS}; durations are in seconds (`_S`), sizes in bytes (`_BYTES`).",
        f"Secrets are never logged. This page lists {len(setting_variables(specs))} variables.",
        "",
        "## Settings",
    ]
    for group in groups:
        lines += ["", f"### {group.title}", ""]
        if group.intro and group.intro.rstrip(".") != group.title:
            lines += [_escape(group.intro), ""]
        lines += _setting_tables(group.entries)
    lines += _upstream_section(specs)
    lines += _credential_section(specs)
    lines += _renamed_section(specs)
    lines += _removed_section()
    return "\n".join(lines).rstrip("\n") + "\n"


def _setting_tables(entries: tuple[SettingDoc | Note, ...]) -> list[str]:
    lines: list[str] = []
    in_table = False
    for entry in entries:
        if isinstance(entry, Note):
            if in_table:
                lines.append("")
            lines += [_escape(entry.text), ""]
            in_table = False
            continue
        if not in_table:
            lines += ["| variable | type | default | meaning |", "|---|---|---|---|"]
            in_table = True
        meaning = _escape(entry.meaning) + (" (a secret)" if entry.secret else "")
        lines.append(_row(f"`{entry.variable}`", entry.type, entry.default, meaning))
    return lines


def _upstream_section(specs: tuple[UpstreamSpec, ...]) -> list[str]:
    lines = [
        "",
        "## Upstreams",
        "",
        "Derived from each upstream's spec (`gateway/upstreams/catalog.py`). An upstream whose URL is not set is not",
        "configured: it is never asked, and `sources` shows it as not configured.",
        "",
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for spec in specs:
        notes = []
        if spec.retired:
            notes.append("retired: the public service is gone; for any compatible service")
        if spec.mirror is not None:
            notes.append("its files are mirrored into a local index under `GATEWAY_MIRROR_DATA_DIR`")
        if spec.succeeds:
            notes.append("serves what " + " and ".join(f"`{name}`" for name in sorted(spec.succeeds)) + " served")
        lines.append(
            _row(
                f"`{url_variable(spec.name)}`",
                "URL",
                "(empty: not configured)",
                f"base URL of the {_escape(spec.title)}, http(s) and ending in `/`"
                + "".join(f"; {note}" for note in notes),
            )
        )
        for kind in RecordKind:
            if kind in spec.kinds:
                lines.append(
                    _row(
                        f"`{ttl_variable(spec.name, kind)}`",
                        "integer",
                        _default_text(f"{kind.value}_s", spec.default_ttl_s[kind]),
                        f"how long its {kind.value.replace('_', ' ')} records stay fresh in the cache, in seconds",
                    )
                )
    return lines


def _credential_section(specs: tuple[UpstreamSpec, ...]) -> list[str]:
    users: dict[str, list[UpstreamSpec]] = {}
    for spec in specs:
        if spec.credential is not None:
            users.setdefault(spec.credential.name, []).append(spec)
    if not users:
        return []
    lines = [
        "",
        "## Credentials",
        "",
        "The gateway's own keys for the upstreams that need one; upstreams sharing a credential share its key and its",
        "daily quota. A key is sent only to its upstreams, never logged, never in a cache key or an error.",
        "",
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, sharing in users.items():
        credential = sharing[0].credential
        assert credential is not None
        where = "query parameter" if credential.sent_as == "query" else "header"
        upstreams = ", ".join(f"`{spec.name}`" for spec in sharing)
        lines.append(
            _row(
                f"`{api_key_variable(name)}`",
                "string",
                "(empty)",
                f"the key for {upstreams}, sent as the {where} `{credential.parameter}` (a secret)",
            )
        )
        lines.append(
            _row(
                f"`{daily_quota_variable(name)}`",
                "integer",
                f"`{credential.default_daily_quota}`",
                "calls per UTC day the gateway allows itself with that key, counted across replicas (0: no quota)",
            )
        )
    return lines


def _renamed_section(specs: tuple[UpstreamSpec, ...]) -> list[str]:
    known = set(setting_variables(specs))
    renamed = {old: [new for new in targets if new in known] for old, targets in ALIASES.items()}
    renamed = {old: targets for old, targets in renamed.items() if targets and old not in known}
    if not renamed:
        return []
    lines = [
        "",
        "## Deprecated names",
        "",
        "Still read, each logged as deprecated at start-up; when both are set, the new name wins.",
        "",
        "| deprecated variable | read as |",
        "|---|---|",
    ]
    lines += [_row(f"`{old}`", " and ".join(f"`{new}`" for new in new_names)) for old, new_names in renamed.items()]
    return lines


def _removed_section() -> list[str]:
    if not REMOVED:
        return []
    lines = ["", "## Removed names", "", "Setting one stops the start-up with this reason.", ""]
    lines += ["| removed variable | why |", "|---|---|"]
    lines += [_row(f"`{name}`", _escape(reason)) for name, reason in REMOVED.items()]
    return lines


def _row(*cells: str) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _setting_doc(setting: Field[object], hint: object, meaning: str) -> SettingDoc:
    return SettingDoc(
        variable=field_variable(setting.name),
        type=_type_text(hint),
        default=_default_text(setting.name, setting.default),
        meaning=meaning,
        secret=not setting.repr,
    )


def _type_text(hint: object) -> str:
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in get_args(hint))
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if isinstance(hint, type) and hint in names:
        return names[hint]
    return str(getattr(hint, "__name__", hint))


def _default_text(name: str, value: object) -> str:
    if value is MISSING:
        return "(derived)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "(empty)"
    text = f"`{value}`"
    if isinstance(value, int) and name.endswith("_bytes") and value >= _KIB:
        for unit, size in (("GiB", _KIB**3), ("MiB", _KIB**2), ("KiB", _KIB)):
            if value % size == 0:
                return f"{text} ({value // size} {unit})"
    if isinstance(value, int) and name.endswith("_s") and value >= 3600:
        for unit, size in (("days", 86_400), ("h", 3_600)):
            if value % size == 0:
                count = value // size
                return f"{text} ({count} {'day' if unit == 'days' and count == 1 else unit})"
    return text


def _title(heading: str) -> str:
    """The first clause of a group's heading comment: "Cache (TTLs are ...)." -> "Cache"."""
    return re.split(r" \(|[:.;]", heading, maxsplit=1)[0].strip() or _GENERAL


_CODE_SPAN = re.compile(r"(`[^`]*`)")
_QUOTED = re.compile(r'("[^"]*")')


def _escape(text: str) -> str:
    """Comment text as Markdown: field names become their variables, "quoted" text code, `<`, `>` and `*` escaped."""
    variables = {setting.name for setting in fields(Settings) if "_" in setting.name}
    parts: list[str] = []
    for span in _CODE_SPAN.split(text):
        if span.startswith("`"):
            parts.append(span)
            continue
        for piece in _QUOTED.split(span):
            if piece.startswith('"'):
                parts.append(f"`{piece[1:-1]}`")
                continue
            escaped = piece.replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")
            parts.append(
                re.sub(
                    r"\b([a-z][a-z0-9_]*)\b",
                    lambda found: f"`{field_variable(found[1])}`" if found[1] in variables else found[1],
                    escaped,
                )
            )
    return "".join(parts)


@dataclass(frozen=True)
class CommentBlock:
    text: str
    starts_group: bool  # a blank line before it: it heads a group; else it is a note on the fields below


@dataclass(frozen=True)
class FieldComments:
    """The comments of one class's fields: trailing (by field) and the block right above a field (by field)."""

    trailing: dict[str, str]
    above: dict[str, CommentBlock]

    @classmethod
    def of(cls, source: str, class_name: str) -> FieldComments:
        lines = source.splitlines()
        comments = dict(_comment_tokens(source))
        node = next(
            node for node in ast.parse(source).body if isinstance(node, ast.ClassDef) and node.name == class_name
        )
        trailing: dict[str, str] = {}
        above: dict[str, CommentBlock] = {}
        previous_end = node.lineno
        for statement in node.body:
            assert statement.end_lineno is not None
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                name = statement.target.id
                for number in range(statement.lineno, statement.end_lineno + 1):
                    if number in comments and lines[number - 1].strip()[:1] != "#":
                        trailing[name] = comments[number]
                block = _block_between(lines, comments, previous_end, statement.lineno)
                if block is not None:
                    above[name] = block
            previous_end = statement.end_lineno
        return cls(trailing, above)


def _comment_tokens(source: str) -> Iterator[tuple[int, str]]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string.lstrip("#").strip()


def _block_between(lines: list[str], comments: dict[int, str], after: int, before: int) -> CommentBlock | None:
    """The comment lines between line `after` and line `before` (1-based, exclusive), if any."""
    gap = range(after + 1, before)
    texts = [comments[number] for number in gap if number in comments]
    if not texts:
        return None
    blank = any(not lines[number - 1].strip() for number in gap)
    return CommentBlock(" ".join(texts), starts_group=blank)
