"""The UK publishers' body quirks, written into the JSON text of chosen releases.

- Mojibake (Contracts Finder): every non-ASCII character of every string is written as its UTF-8 bytes read as
  Windows-1252 (bytes cp1252 leaves undefined read as Latin-1), e.g. U+2019 -> `â€™`, `£` -> `Â£`, U+202F -> `â€¯`.
  The body stays valid UTF-8 JSON; only the text is wrong.
- Number literals (Find a Tender): `tender.value.amount` written as `1e9999` (the real value is lost) and a zero
  `awards[].value.amount` written as `000`; strict JSON parsers reject both (`000`) or overflow (`1e9999`).

A release is chosen when the CRC-32 of its id (with a per-quirk salt) falls in the knob's share: the same releases
for the same share, on every page and every endpoint.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

INFINITE = "\u0000quirk:1e9999"
ZERO_PADDED = "\u0000quirk:000"
_LITERALS = {json.dumps(INFINITE): "1e9999", json.dumps(ZERO_PADDED): "000"}


def chosen(release_id: str, share: float, salt: str) -> bool:
    return zlib.crc32(f"{salt}:{release_id}".encode()) % 1000 < round(share * 1000)


def garbled(text: str) -> str:
    if text.isascii():
        return text
    out = []
    for character in text:
        if ord(character) < 128:
            out.append(character)
            continue
        for byte in character.encode("utf-8"):
            try:
                out.append(bytes([byte]).decode("cp1252"))
            except UnicodeDecodeError:
                out.append(chr(byte))
    return "".join(out)


def with_mojibake(node: Any) -> Any:
    if isinstance(node, str):
        return garbled(node)
    if isinstance(node, Mapping):
        return {key: with_mojibake(value) for key, value in node.items()}
    if isinstance(node, list):
        return [with_mojibake(item) for item in node]
    return node


def has_number_quirk(release: Mapping[str, Any]) -> bool:
    """Whether the release has a field the number quirk rewrites."""
    tender_value = release.get("tender", {}).get("value")
    zero_award = any(award.get("value", {}).get("amount") == 0 for award in release.get("awards", []))
    return tender_value is not None or zero_award


def _with_number_sentinels(release: Mapping[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(release))
    tender_value = copy.get("tender", {}).get("value")
    if tender_value is not None:
        tender_value["amount"] = INFINITE
    for award in copy.get("awards", []):
        if award.get("value", {}).get("amount") == 0:
            award["value"]["amount"] = ZERO_PADDED
    return copy


def release_text(release: Mapping[str, Any], *, mojibake: bool = False, number_literals: bool = False) -> str:
    """The release as JSON text (UTF-8 characters unescaped, as the publishers send them), quirks applied."""
    document: Any = release
    if number_literals:
        document = _with_number_sentinels(document)
    if mojibake:
        document = with_mojibake(document)
    text = json.dumps(document, ensure_ascii=False)
    if number_literals:
        for sentinel, literal in _LITERALS.items():
            text = text.replace(sentinel, literal)
    return text


def json_text(document: Mapping[str, Any], raw: Mapping[str, str]) -> str:
    """`document` as JSON text with the members named in `raw` written as the given JSON text (keeping the order
    of `document`, where those members hold any placeholder value)."""
    placeholders = {key: f"\u0000raw:{key}" for key in raw}
    text = json.dumps({key: placeholders.get(key, value) for key, value in document.items()}, ensure_ascii=False)
    for key, member in raw.items():
        text = text.replace(json.dumps(placeholders[key]), member, 1)
    return text


def json_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"
