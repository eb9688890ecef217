"""One page of an OCDS publisher's API: a release package, read as hostile until checked.

The body is bounded in size, decoded (quirks repaired, see `quirks`), parsed strictly (orjson; the number-literal
patch only when strict parsing fails), bounded in depth, and must be a release package: an object with a `version`
and a list of `releases`, and `links.next` a string when present. Releases without a usable `ocid`, `id`, `date` or
`tag` are dropped one by one (counted); a page of the wrong shape is refused whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.upstreams.ocds.compiler import Release, moment
from gateway.upstreams.ocds.quirks import decode_body, patch_numbers

MAX_DEPTH = 32  # OCDS releases nest about 8 deep
MAX_RELEASES = 1000  # a page asks for 100 at most
MAX_ID_CHARS = 256  # an ocid or release id longer than this is no identifier


class PackageRejected(Exception):
    """A page that is no release package (or too large, too deep, unreadable): the message says why."""


@dataclass(frozen=True)
class ReleasePackage:
    """The usable releases of one page, how many were dropped, and the URL of the next page (None: the last)."""

    releases: tuple[Release, ...]
    dropped: int
    next_url: str | None
    version: str


def read_package(body: bytes, *, max_bytes: int, mojibake: bool) -> ReleasePackage:
    """The release package `body` holds; PackageRejected for anything else."""
    if len(body) > max_bytes:
        raise PackageRejected(f"the page is larger than {max_bytes} bytes")
    try:
        text = decode_body(body, mojibake=mojibake).encode("utf-8")
    except UnicodeDecodeError:
        raise PackageRejected("the page is not UTF-8 text") from None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            data = orjson.loads(patch_numbers(text))
        except orjson.JSONDecodeError as failure:
            raise PackageRejected(f"the page is not JSON ({failure.msg} at character {failure.pos})") from None
    _check_depth(data)
    if not isinstance(data, dict):
        raise PackageRejected("the page is not a JSON object")
    releases, version = data.get("releases"), data.get("version")
    if not isinstance(releases, list):
        raise PackageRejected("the page has no list of `releases`")
    if not isinstance(version, str) or not version.startswith("1."):
        raise PackageRejected("the page names no OCDS `version` 1.x")
    if len(releases) > MAX_RELEASES:
        raise PackageRejected(f"the page holds more than {MAX_RELEASES} releases")
    links = data.get("links")
    if links is not None and not isinstance(links, dict):
        raise PackageRejected("the page's `links` is not an object")
    next_url = links.get("next") if links else None
    if next_url is not None and not isinstance(next_url, str):
        raise PackageRejected("the page's `links.next` is not a URL")
    usable = tuple(release for release in releases if usable_release(release))
    return ReleasePackage(usable, len(releases) - len(usable), next_url or None, version)


def usable_release(release: object) -> bool:
    """A release the store can keep: an object with an `ocid`, an `id`, a `date` and a `tag` list of strings."""
    if not isinstance(release, dict):
        return False
    ocid, release_id, tag = release.get("ocid"), release.get("id"), release.get("tag")
    return (
        _identifier(ocid)
        and _identifier(release_id)
        and moment(release.get("date")) is not None
        and isinstance(tag, list)
        and all(isinstance(name, str) for name in tag)
    )


def _identifier(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= MAX_ID_CHARS and value.isprintable()


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield from value.values()
    elif isinstance(value, list):
        yield from value


def _check_depth(data: Any) -> None:
    level, depth = [data], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise PackageRejected(f"the page nests deeper than {MAX_DEPTH} levels")
        level = [child for value in level for child in _children(value) if isinstance(child, dict | list)]
