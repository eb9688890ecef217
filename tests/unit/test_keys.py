from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.errors import Unauthenticated
from gateway.limits.keys import (
    RECHECK_S,
    ApiKeyRecord,
    ApiKeys,
    FileKeyStore,
    MalformedCredentials,
    extract_api_key,
)


class ExplodingStore:
    """A store that must not be reached."""

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        raise AssertionError("storage touched")

    async def add(self, record: ApiKeyRecord) -> None:
        raise AssertionError("storage touched")

    async def revoke(self, key_id: str, at: datetime) -> ApiKeyRecord | None:
        raise AssertionError("storage touched")

    async def all(self) -> list[ApiKeyRecord]:
        raise AssertionError("storage touched")

    async def aclose(self) -> None:
        return None


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "keys.json"


async def test_issued_key_authenticates_and_is_stored_hashed(keys_file: Path) -> None:
    api_keys = ApiKeys(FileKeyStore(keys_file))
    issued = await api_keys.create(tier="free", owner="acme")
    assert issued.plaintext.startswith(f"pgw_{issued.record.key_id}_")
    record = await api_keys.authenticate(issued.plaintext)
    assert record is not None
    assert (record.key_id, record.tier, record.owner) == (issued.record.key_id, "free", "acme")
    secret = issued.plaintext.rsplit("_", 1)[-1]
    stored = await asyncio.to_thread(keys_file.read_text)
    assert issued.plaintext not in stored
    assert secret not in stored
    assert '"secret_hash": "sha256:' in stored
    assert (await asyncio.to_thread(keys_file.stat)).st_mode & 0o077 == 0
    assert issued.plaintext not in repr(issued)
    assert record.secret_hash not in repr(record)


async def test_wrong_secret_unknown_id_and_revoked_key_are_refused(keys_file: Path) -> None:
    api_keys = ApiKeys(FileKeyStore(keys_file))
    issued = await api_keys.create(tier="free", owner="acme")
    key_id = issued.record.key_id
    assert await api_keys.authenticate(issued.plaintext[:-1] + ("A" if issued.plaintext[-1] != "A" else "B")) is None
    assert await api_keys.authenticate(issued.plaintext.replace(key_id, "0" * 12)) is None
    revoked = await api_keys.revoke(key_id)
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert await api_keys.authenticate(issued.plaintext) is None
    assert await api_keys.revoke("ffffffffffff") is None


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_revocation_by_another_store_on_the_same_file_is_seen_within_the_recheck_interval(
    keys_file: Path,
) -> None:
    clock = FakeMonotonic()
    replica = ApiKeys(FileKeyStore(keys_file, monotonic=clock))
    admin = ApiKeys(FileKeyStore(keys_file))
    issued = await admin.create(tier="standard", owner="acme")
    assert await replica.authenticate(issued.plaintext) is not None
    await admin.revoke(issued.record.key_id)
    clock.now += RECHECK_S / 2  # the file is not looked at again yet
    assert await replica.authenticate(issued.plaintext) is not None
    clock.now += RECHECK_S / 2
    assert await replica.authenticate(issued.plaintext) is None


async def test_a_change_made_through_the_store_itself_is_seen_at_once(keys_file: Path) -> None:
    api_keys = ApiKeys(FileKeyStore(keys_file, monotonic=FakeMonotonic()))  # the clock never moves
    issued = await api_keys.create(tier="free", owner="acme")
    assert await api_keys.authenticate(issued.plaintext) is not None
    await api_keys.revoke(issued.record.key_id)
    assert await api_keys.authenticate(issued.plaintext) is None


async def test_pepper_turns_the_hash_into_hmac(keys_file: Path) -> None:
    peppered = ApiKeys(FileKeyStore(keys_file), pepper="server-side-pepper")
    issued = await peppered.create(tier="free", owner="acme")
    assert '"secret_hash": "hmac-sha256:' in await asyncio.to_thread(keys_file.read_text)
    assert await peppered.authenticate(issued.plaintext) is not None
    assert await ApiKeys(FileKeyStore(keys_file)).authenticate(issued.plaintext) is None
    assert await ApiKeys(FileKeyStore(keys_file), pepper="other").authenticate(issued.plaintext) is None


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "sk_live_0123456789abcdef",
        "pgw_",
        "pgw_0123456789ab_short",
        "pgw_0123456789AB_" + "a" * 43,
        "pgw_0123456789ab_" + "a" * 300,
        "pgw_0123456789ab_" + "é" * 43,
        "pgw_0123456789ab_" + "a" * 20 + "\n" + "a" * 20,
    ],
)
async def test_malformed_keys_are_refused_without_touching_storage(presented: str) -> None:
    assert await ApiKeys(ExplodingStore()).authenticate(presented) is None


async def test_list_keys_is_ordered_and_carries_no_secret(keys_file: Path) -> None:
    api_keys = ApiKeys(FileKeyStore(keys_file))
    first = await api_keys.create(tier="free", owner="a", now=datetime(2026, 1, 1, tzinfo=UTC))
    second = await api_keys.create(tier="partner", owner="b")
    listed = await api_keys.list_keys()
    assert [record.key_id for record in listed] == [first.record.key_id, second.record.key_id]
    assert all(first.plaintext not in repr(record) for record in listed)


def test_concurrent_processes_never_lose_a_key(keys_file: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from gateway.limits.keys import ApiKeys, FileKeyStore\n"
        "async def main():\n"
        "    api_keys = ApiKeys(FileKeyStore(Path(sys.argv[1])))\n"
        "    for n in range(50):\n"
        "        await api_keys.create(tier='free', owner=f'{sys.argv[2]}-{n}')\n"
        "asyncio.run(main())\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(keys_file), name], cwd=Path(__file__).parents[2])
        for name in ("left", "right")
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    records = FileKeyStore(keys_file)._read()
    assert len(records) == 100
    assert {record.owner for record in records.values()} == {
        f"{side}-{n}" for side in ("left", "right") for n in range(50)
    }
    assert not list(keys_file.parent.glob("*.tmp"))


class TestExtractApiKey:
    KEY = "pgw_0123456789ab_" + "a" * 43

    def test_bearer_and_x_api_key(self) -> None:
        assert extract_api_key({"authorization": f"Bearer {self.KEY}"}) == self.KEY
        assert extract_api_key({"authorization": f"bearer   {self.KEY} "}) == self.KEY
        assert extract_api_key({"x-api-key": self.KEY}) == self.KEY
        assert extract_api_key({"authorization": f"Bearer {self.KEY}", "x-api-key": self.KEY}) == self.KEY

    def test_no_credentials(self) -> None:
        assert extract_api_key({}) is None
        assert extract_api_key({"content-type": "application/json"}) is None

    def test_other_scheme_is_unauthenticated(self) -> None:
        with pytest.raises(Unauthenticated) as caught:
            extract_api_key({"authorization": "Basic dXNlcjpwYXNz"})
        assert caught.value.code == "UNAUTHENTICATED"
        assert "dXNlcjpwYXNz" not in caught.value.message

    @pytest.mark.parametrize(
        "headers",
        [
            {"authorization": "Bearer"},
            {"authorization": "Bearer    "},
            {"x-api-key": ""},
            {"x-api-key": "pgw_" + "a" * 250},
            {"authorization": "Bearer " + "a" * 5000},
            {"x-api-key": "pgw_abc\x00def"},
            {"x-api-key": "pgw_abc def"},
            {"x-api-key": "pgw_abc\tdef"},
            {"x-api-key": "pgw_abc\x1fdef"},  # whitespace to str.isspace, as are \x1c-\x1e
            {"x-api-key": "pgw_clé"},
            {"authorization": f"Bearer {KEY}", "x-api-key": KEY[:-1] + "b"},
        ],
    )
    def test_malformed_headers_are_bad_requests(self, headers: dict[str, str]) -> None:
        with pytest.raises(MalformedCredentials) as caught:
            extract_api_key(headers)
        assert caught.value.code == "BAD_REQUEST"
        assert caught.value.as_extensions() == {"code": "BAD_REQUEST"}
        assert self.KEY not in caught.value.message


async def test_a_key_issued_by_another_process_is_served_on_its_first_request(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    replica = ApiKeys(FileKeyStore(keys_file, monotonic=FakeMonotonic()))  # the clock never moves: no recheck due
    first = await ApiKeys(FileKeyStore(keys_file)).create(tier="free", owner="acme")
    assert await replica.authenticate(first.plaintext) is not None
    issued = await ApiKeys(FileKeyStore(keys_file)).create(tier="free", owner="acme")  # the CLI, meanwhile
    assert await replica.authenticate(issued.plaintext) is not None
