"""The known quirks of OCDS publishers' bodies, repaired before a body is read as JSON.

- Mojibake (Contracts Finder): UTF-8 text decoded as Windows-1252 and encoded again, so that U+202F arrives as `â€¯`,
  U+2019 as `â€™`, `£` as `Â£`. Every run of characters that, written back in Windows-1252, is one well-formed UTF-8
  sequence is replaced by the character it encodes. A body that is not valid UTF-8 at all is read as Windows-1252
  first, and repaired the same way (its UTF-8 parts come back whole).
- Number literals strict JSON refuses (Find a Tender): `1e9999` (no finite number: becomes `null`) and numbers with
  leading zeros such as `000` or `0012` (read as `0`, `12`). Only tokens outside strings are touched, and only when
  the body does not parse as it is.
"""

from __future__ import annotations

import math
import re

# Characters a Windows-1252 decoder makes of the bytes 0x80-0xBF (a UTF-8 continuation byte), the five bytes it leaves
# undefined included (as the C1 control characters some decoders make of them).
_WINDOWS_1252 = tuple(bytes([byte]).decode("cp1252", errors="ignore") or chr(byte) for byte in range(256))
_CONTINUATION = {_WINDOWS_1252[byte]: byte for byte in range(0x80, 0xC0)}
_FROM_LATIN_1 = {byte: _WINDOWS_1252[byte] for byte in range(0x80, 0xA0)}  # where the two decoders differ
_CLASS = "".join(re.escape(character) for character in _CONTINUATION)
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df][{_CLASS}]|[\u00e0-\u00ef][{_CLASS}]{{2}}|[\u00f0-\u00f4][{_CLASS}]{{3}}",
)

# A JSON string, or a number token (with the leading zeros and exponents strict JSON refuses).
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')


def _repaired(found: re.Match[str]) -> str:
    text = found.group(0)
    try:
        return bytes([ord(text[0]), *(_CONTINUATION[character] for character in text[1:])]).decode("utf-8")
    except UnicodeDecodeError:  # not one well-formed sequence (an overlong or surrogate form): left as it is
        return text


def repair_mojibake(text: str) -> str:
    """`text` with every mojibake sequence replaced by the character it stands for."""
    return _MOJIBAKE.sub(_repaired, text)


def decode_body(body: bytes, *, mojibake: bool) -> str:
    """The body as text: UTF-8 (a BOM dropped); with `mojibake`, Windows-1252 when it is not UTF-8, and repaired."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        if not mojibake:
            raise
        text = body.decode("latin-1").translate(_FROM_LATIN_1)
    return repair_mojibake(text) if mojibake else text


def _number(found: re.Match[bytes]) -> bytes:
    token = found.group(0)
    if token.startswith(b'"'):
        return token
    if not math.isfinite(float(token)):
        return b"null"
    sign = b"-" if token.startswith(b"-") else b""
    digits = token.lstrip(b"-")
    whole = digits.split(b".")[0].split(b"e")[0].split(b"E")[0]
    if len(whole) > 1 and whole.startswith(b"0"):
        digits = (whole.lstrip(b"0") or b"0") + digits[len(whole) :]
    return sign + digits


def patch_numbers(body: bytes) -> bytes:
    """`body` with number literals strict JSON refuses rewritten (`1e9999` -> null, `000` -> 0), strings untouched."""
    return _TOKEN.sub(_number, body)
