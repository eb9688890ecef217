"""API keys: issued once, stored hashed (sha256, or HMAC-SHA256 with a server pepper), a tier per key, file or Redis.

A key reads `pgw_<key id>_<secret>`: the 12-hex-digit key id is public (logs, `keys list`, rate-limit counters), the
secret is never stored or logged. Stores hold `ApiKeyRecord`s; `ApiKeys` issues, authenticates and revokes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gateway.errors import GatewayError, Unauthenticated
from gateway.redis import redis_client
from gateway.settings import Settings

if TYPE_CHECKING:
    import coredis

KEY_PREFIX = "pgw_"
MAX_KEY_CHARS = 200
_KEY_ID_HEX = 12
_KEY_SHAPE = re.compile(r"^pgw_([0-9a-f]{12})_([A-Za-z0-9_-]{20,150})$")
_FILE_FORMAT_VERSION = 1
RECHECK_S = 1.0  # a FileKeyStore looks at its file at most this often: the bound on seeing a revocation


class MalformedCredentials(GatewayError):
    """The credentials headers are not well-formed (HTTP 400); a missing or unknown key is `Unauthenticated` (401)."""

    code = "BAD_REQUEST"


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    tier: str
    owner: str
    created_at: datetime
    revoked_at: datetime | None = None
    secret_hash: str = field(default="", repr=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def public_prefix(self) -> str:
        return f"{KEY_PREFIX}{self.key_id}_"

    def to_json(self) -> dict[str, str | None]:
        return {
            "key_id": self.key_id,
            "tier": self.tier,
            "owner": self.owner,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "secret_hash": self.secret_hash,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiKeyRecord:
        revoked = data.get("revoked_at")
        return cls(
            key_id=str(data["key_id"]),
            tier=str(data["tier"]),
            owner=str(data["owner"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
            revoked_at=datetime.fromisoformat(str(revoked)) if revoked else None,
            secret_hash=str(data["secret_hash"]),
        )


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: `plaintext` is shown to its owner once and exists nowhere else."""

    plaintext: str = field(repr=False)
    record: ApiKeyRecord


class KeyStore(Protocol):
    async def get(self, key_id: str) -> ApiKeyRecord | None: ...

    async def add(self, record: ApiKeyRecord) -> None: ...

    async def revoke(self, key_id: str, at: datetime) -> ApiKeyRecord | None: ...

    async def all(self) -> list[ApiKeyRecord]: ...

    async def aclose(self) -> None: ...


def extract_api_key(headers: Mapping[str, str]) -> str | None:
    """The key a request presents (`Authorization: Bearer <key>` or `X-API-Key: <key>`), None when it presents none.

    `headers` maps lowercased names to values. Raises MalformedCredentials (400) for an unusable header and
    Unauthenticated (401) for an Authorization scheme other than Bearer; the key itself never appears in a message.
    """
    authorization = headers.get("authorization")
    api_key_header = headers.get("x-api-key")
    from_bearer = None if authorization is None else _bearer_token(authorization)
    from_header = None if api_key_header is None else _checked_key_text(api_key_header.strip(), "X-API-Key")
    if from_bearer is not None and from_header is not None and not hmac.compare_digest(from_bearer, from_header):
        raise MalformedCredentials("Authorization and X-API-Key carry different keys; send one")
    return from_bearer if from_bearer is not None else from_header


def _bearer_token(value: str) -> str:
    if len(value) > MAX_KEY_CHARS + 16:
        raise MalformedCredentials(f"the Authorization header is longer than {MAX_KEY_CHARS + 16} characters")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated("use 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    return _checked_key_text(token.strip(), "the bearer token")


def _checked_key_text(value: str, where: str) -> str:
    if not value:
        raise MalformedCredentials(f"{where} is empty")
    if len(value) > MAX_KEY_CHARS:
        raise MalformedCredentials(f"{where} is longer than {MAX_KEY_CHARS} characters")
    # The one ASCII character both printable and whitespace is the space.
    if not value.isascii() or not value.isprintable() or " " in value:
        raise MalformedCredentials(f"{where} holds whitespace, control or non-ASCII characters")
    return value


def new_key_id() -> str:
    return secrets.token_hex(_KEY_ID_HEX // 2)


class ApiKeys:
    """Issues, authenticates and revokes keys over a store; the only place that sees a key in clear."""

    def __init__(self, store: KeyStore, *, pepper: str = "") -> None:
        self.store = store
        self._pepper = pepper.encode()

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeys:
        store: KeyStore
        if settings.keys_store == "redis":
            store = RedisKeyStore.from_url(
                settings.keys_redis(),
                prefix=settings.redis_prefix("apikeys:"),
                timeout_s=settings.redis_timeout_s,
                pool_size=settings.redis_pool_size,
            )
        else:
            store = FileKeyStore(Path(settings.keys_file))
        return cls(store, pepper=settings.keys_pepper)

    def __repr__(self) -> str:
        return f"ApiKeys(store={type(self.store).__name__})"

    async def create(self, *, tier: str, owner: str, now: datetime | None = None) -> IssuedKey:
        key_id, secret = new_key_id(), secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            key_id=key_id,
            tier=tier,
            owner=owner,
            created_at=(now or datetime.now(UTC)).replace(microsecond=0),
            secret_hash=self._hash(secret),
        )
        await self.store.add(record)
        return IssuedKey(plaintext=f"{KEY_PREFIX}{key_id}_{secret}", record=record)

    async def authenticate(self, presented: str) -> ApiKeyRecord | None:
        """The live record for a presented key; None for malformed, unknown, wrong or revoked keys."""
        if len(presented) > MAX_KEY_CHARS or not presented.isascii():
            return None
        match = _KEY_SHAPE.match(presented)
        if match is None:
            return None
        key_id, secret = match.groups()
        record = await self.store.get(key_id)
        expected = record.secret_hash if record is not None else self._hash("no such key")
        if not hmac.compare_digest(self._hash(secret).encode(), expected.encode()):
            return None
        if record is None or record.revoked:
            return None
        return record

    async def revoke(self, key_id: str, *, now: datetime | None = None) -> ApiKeyRecord | None:
        return await self.store.revoke(key_id, (now or datetime.now(UTC)).replace(microsecond=0))

    async def list_keys(self) -> list[ApiKeyRecord]:
        return sorted(await self.store.all(), key=lambda record: (record.created_at, record.key_id))

    async def aclose(self) -> None:
        await self.store.aclose()

    def _hash(self, secret: str) -> str:
        if self._pepper:
            return "hmac-sha256:" + hmac.new(self._pepper, secret.encode(), hashlib.sha256).hexdigest()
        return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


class FileKeyStore:
    """A JSON file, replaced atomically (temp file in the same folder, fsync, os.replace) under an fcntl lock file.

    Writers serialise on `<file>.lock`, so concurrent CLI calls never lose a key; readers never lock: they see the
    old or the new file, reloaded whenever its inode, size or mtime changes. The file is looked at (one `stat`) at most
    once per `recheck_s` (`RECHECK_S` unless given; on the `monotonic` clock) rather than on every lookup: a key
    revoked or added by another process (the keys CLI) is refused or served at most `recheck_s` after the file
    changed; an unknown key id makes it look at once (a key just issued is served on its first request). A change
    made through this store is seen at once.
    """

    def __init__(
        self, path: Path, *, recheck_s: float | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._recheck_s = RECHECK_S if recheck_s is None else recheck_s
        self._monotonic = monotonic
        self._checked_until = -math.inf  # the monotonic time until which the cached records stand unchecked
        self._cache_stamp: tuple[int, int, int] | None = None
        self._cache: dict[str, ApiKeyRecord] = {}

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self.path)!r})"

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        found = (await self._records()).get(key_id)
        if found is None and self._checked_until > -math.inf:  # a key just issued by another process: look again
            self._checked_until = -math.inf
            found = (await self._records()).get(key_id)
        return found

    async def all(self) -> list[ApiKeyRecord]:
        return list((await self._records()).values())

    async def add(self, record: ApiKeyRecord) -> None:
        def add_record(records: dict[str, ApiKeyRecord]) -> None:
            if record.key_id in records:
                raise ValueError("key id already present")
            records[record.key_id] = record

        await asyncio.to_thread(self._update, add_record)

    async def revoke(self, key_id: str, at: datetime) -> ApiKeyRecord | None:
        revoked: list[ApiKeyRecord] = []

        def revoke_record(records: dict[str, ApiKeyRecord]) -> None:
            record = records.get(key_id)
            if record is None:
                return
            if record.revoked_at is None:
                record = records[key_id] = replace(record, revoked_at=at)
            revoked.append(record)

        await asyncio.to_thread(self._update, revoke_record)
        return revoked[0] if revoked else None

    async def aclose(self) -> None:
        return None

    async def _records(self) -> dict[str, ApiKeyRecord]:
        now = self._monotonic()
        if now < self._checked_until:
            return self._cache
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._cache, self._cache_stamp = {}, None
            self._checked_until = now + self._recheck_s
            return self._cache
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if stamp != self._cache_stamp:
            self._cache = await asyncio.to_thread(self._read)
            self._cache_stamp = stamp
        self._checked_until = now + self._recheck_s
        return self._cache

    def _read(self) -> dict[str, ApiKeyRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        data = json.loads(text)
        if data.get("version") != _FILE_FORMAT_VERSION:
            raise ValueError(f"{self.path}: unknown key file version {data.get('version')!r}")
        return {key_id: ApiKeyRecord.from_json(item) for key_id, item in data["keys"].items()}

    def _update(self, change: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            records = self._read()
            change(records)
            self._write(records)
        self._checked_until = -math.inf  # this store's own change: looked at on the next lookup

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, records: dict[str, ApiKeyRecord]) -> None:
        payload = {
            "version": _FILE_FORMAT_VERSION,
            "keys": {key_id: record.to_json() for key_id, record in sorted(records.items())},
        }
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as temp:
                json.dump(payload, temp, indent=1)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class RedisKeyStore:
    """One hash per key (`<prefix>key:<id>`) plus the set of ids (`<prefix>ids`); every lookup reads Redis, no cache,
    so a revocation is refused at once by every replica."""

    def __init__(self, client: coredis.Redis[str], *, prefix: str = "gateway:apikeys:", timeout_s: float = 0.5) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout_s = timeout_s

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "gateway:apikeys:", timeout_s: float = 0.5, pool_size: int = 50
    ) -> RedisKeyStore:
        return cls(redis_client(url, timeout_s=timeout_s, pool_size=pool_size), prefix=prefix, timeout_s=timeout_s)

    def __repr__(self) -> str:
        return f"RedisKeyStore(prefix={self._prefix!r})"

    def _key(self, key_id: str) -> str:
        return f"{self._prefix}key:{key_id}"

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        async with asyncio.timeout(self._timeout_s):
            data = await self._client.hgetall(self._key(key_id))
        return _record_from_hash(data) if data else None

    async def all(self) -> list[ApiKeyRecord]:
        ids = await self._client.smembers(f"{self._prefix}ids")
        records = [await self.get(key_id) for key_id in sorted(ids)]
        return [record for record in records if record is not None]

    async def add(self, record: ApiKeyRecord) -> None:
        fields = {name: value or "" for name, value in record.to_json().items()}
        async with await self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(record.key_id), fields)  # type: ignore[arg-type]
            pipe.sadd(f"{self._prefix}ids", [record.key_id])
            await pipe.execute()

    async def revoke(self, key_id: str, at: datetime) -> ApiKeyRecord | None:
        if not await self._client.exists([self._key(key_id)]):
            return None
        current = await self.get(key_id)
        if current is not None and current.revoked_at is None:
            await self._client.hset(self._key(key_id), {"revoked_at": at.isoformat()})
        return await self.get(key_id)

    async def aclose(self) -> None:
        self._client.connection_pool.disconnect()


def _record_from_hash(data: Mapping[str, str]) -> ApiKeyRecord:
    return ApiKeyRecord.from_json({name: value or None for name, value in data.items()})
