"""The settings model: variables derived from the fields and the upstream specs; unknown, removed and renamed ones."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.settings import (
    ALIASES,
    REMOVED,
    CredentialSettings,
    Settings,
    SettingsError,
    UpstreamSettings,
    default_credentials,
    default_upstreams,
    setting_variables,
)
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import CredentialSpec, RecordKind, UpstreamSpec

REPO_ROOT = Path(__file__).resolve().parents[2]

# A fourth upstream that exists only in this test, registered from its spec.
TENDERFEED = UpstreamSpec(
    name="tenderfeed",
    title="Tender feed",
    description="A test-only tender feed",
    docs_url="https://tenderfeed.invalid/docs",
    licence="test data",
    attribution="test data",
    client="tests.unit.test_settings:NoClient",
    kinds=frozenset({RecordKind.TENDER}),
    criteria={RecordKind.TENDER: frozenset({"keywords"})},
    default_ttl_s={RecordKind.TENDER: 120},
    credential=CredentialSpec(name="feedkey", sent_as="header", parameter="X-Feed-Key", default_daily_quota=50),
)
WITH_TENDERFEED = (*SPECS, TENDERFEED)


def refusal(environ: dict[str, str], specs: tuple[UpstreamSpec, ...] = SPECS) -> str:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ, specs=specs)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_the_variables_are_derived_from_the_fields_and_the_specs() -> None:
    variables = setting_variables()
    assert {"GATEWAY_PROFILE", "GATEWAY_PORT", "GATEWAY_REDIS_URL", "GATEWAY_TIERS"} <= set(variables)
    assert {
        "GATEWAY_ITA_URL",
        "GATEWAY_ITA_TTL_LEAD_S",
        "GATEWAY_CANADA_URL",
        "GATEWAY_CANADA_TTL_TENDER_S",
        "GATEWAY_CANADA_TTL_CONTRACT_S",
        "GATEWAY_SAM_URL",
        "GATEWAY_SAM_TTL_CONTRACT_S",
        "GATEWAY_SAM_TTL_AWARD_FAMILY_S",
        "GATEWAY_ITA_API_KEY",
        "GATEWAY_ITA_DAILY_QUOTA",
        "GATEWAY_SAM_API_KEY",
        "GATEWAY_SAM_DAILY_QUOTA",
    } <= set(variables)
    assert not {"GATEWAY_SPECS", "GATEWAY_UPSTREAMS", "GATEWAY_CREDENTIALS", "GATEWAY_CANADA_API_KEY"} & set(variables)
    assert len(variables) == len(set(variables))


def test_every_variable_is_accepted_and_read() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_PROFILE": "dev",
            "GATEWAY_PORT": "9001",
            "GATEWAY_UPSTREAM_TIMEOUT_S": "3.5",
            "GATEWAY_ANONYMOUS_TIER_ENABLED": "off",
            "GATEWAY_SAM_URL": "https://api.sam.gov/",
            "GATEWAY_SAM_TTL_AWARD_FAMILY_S": "60",
            "GATEWAY_SAM_API_KEY": "sam-secret",
            "GATEWAY_SAM_DAILY_QUOTA": "10",
            "GATEWAY_ITA_DAILY_QUOTA": "3",
            "PATH": "/usr/bin",  # outside the prefix: none of the gateway's business
        }
    )
    assert (settings.profile, settings.port, settings.upstream_timeout_s) == ("dev", 9001, 3.5)
    assert not settings.anonymous_tier_enabled
    assert settings.upstream("sam") == UpstreamSettings(
        "https://api.sam.gov/", {RecordKind.CONTRACT: 3600, RecordKind.AWARD_FAMILY: 60}
    )
    assert settings.credential("sam") == CredentialSettings("sam-secret", daily_quota=10)
    assert settings.daily_quotas() == {"ita": 3, "sam": 10}


def test_an_unknown_variable_is_refused_naming_the_closest_valid_one() -> None:
    assert (
        refusal({"GATEWAY_SAM_APIKEY": "k"}) == "unknown setting GATEWAY_SAM_APIKEY (did you mean GATEWAY_SAM_API_KEY?)"
    )
    assert "did you mean GATEWAY_REQUEST_DEADLINE_S?" in refusal({"GATEWAY_REQUEST_DEADLINE": "5"})
    assert "did you mean GATEWAY_CANADA_URL?" in refusal({"GATEWAY_CANDA_URL": "http://x/"})
    both = refusal({"GATEWAY_PORTT": "1", "GATEWAY_HOTS": "x"})
    assert "GATEWAY_PORTT (did you mean GATEWAY_PORT?)" in both
    assert "GATEWAY_HOTS (did you mean GATEWAY_HOST?)" in both
    # A secret set under a misspelt name never shows in the refusal.
    assert "s3cret" not in refusal({"GATEWAY_SAM_API_KEYS": "s3cret"})


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("GATEWAY_MAX_PAGE_SIZE", "GATEWAY_MAX_PAGE_SIZE is removed: `first` is always 1..100"),
        ("GATEWAY_CANADA_DAILY_QUOTA", "GATEWAY_CANADA_DAILY_QUOTA is removed: the canada upstream uses no key"),
        ("GATEWAY_SAMPLES_DIR", "GATEWAY_SAMPLES_DIR is removed, use UPSTREAM_SAMPLES_DIR"),
        ("GATEWAY_TEST_REDIS_URL", "GATEWAY_TEST_REDIS_URL is removed, use TEST_REDIS_URL"),
    ],
)
def test_a_removed_setting_says_why_or_what_to_use(variable: str, message: str) -> None:
    assert refusal({variable: "1"}).startswith(message)


def test_the_removed_table_is_every_removed_setting() -> None:
    assert set(REMOVED) == {
        "GATEWAY_MAX_PAGE_SIZE",
        "GATEWAY_CANADA_DAILY_QUOTA",
        "GATEWAY_SAMPLES_DIR",
        "GATEWAY_TEST_REDIS_URL",
    }
    assert not set(REMOVED) & set(setting_variables())


@pytest.mark.parametrize(
    ("alias", "upstream", "kind"),
    [
        ("GATEWAY_CACHE_TTL_LEADS_S", "ita", RecordKind.LEAD),
        ("GATEWAY_CACHE_TTL_TENDERS_S", "canada", RecordKind.TENDER),
        ("GATEWAY_CACHE_TTL_CONTRACTS_S", "sam", RecordKind.CONTRACT),
        ("GATEWAY_CACHE_TTL_CONTRACTS_S", "canada", RecordKind.CONTRACT),
        ("GATEWAY_CACHE_TTL_AWARD_FAMILIES_S", "sam", RecordKind.AWARD_FAMILY),
    ],
)
def test_a_deprecated_ttl_name_still_works_and_is_logged_with_the_new_name(
    alias: str, upstream: str, kind: RecordKind, caplog: pytest.LogCaptureFixture
) -> None:
    new_name = f"GATEWAY_{upstream.upper()}_TTL_{kind.value.upper()}_S"
    with caplog.at_level(logging.WARNING, logger="gateway.settings"):
        settings = Settings.from_env({alias: "42"})
    assert settings.upstream(upstream).ttl_s[kind] == 42
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert alias in warnings[0].getMessage()
    assert new_name in warnings[0].getMessage()
    assert "deprecated" in warnings[0].getMessage()


def test_the_new_name_wins_over_its_deprecated_alias(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.settings"):
        settings = Settings.from_env({"GATEWAY_CACHE_TTL_CONTRACTS_S": "5", "GATEWAY_SAM_TTL_CONTRACT_S": "7"})
    assert settings.upstream("sam").ttl_s[RecordKind.CONTRACT] == 7
    assert settings.upstream("canada").ttl_s[RecordKind.CONTRACT] == 5
    assert "GATEWAY_SAM_TTL_CONTRACT_S also set: the new name wins" in caplog.text


def test_every_alias_names_valid_settings() -> None:
    variables = set(setting_variables())
    assert all(set(targets) <= variables for targets in ALIASES.values())
    assert not set(ALIASES) & variables


def test_a_bad_value_under_an_alias_is_named_as_given() -> None:
    assert refusal({"GATEWAY_CACHE_TTL_TENDERS_S": "soon"}) == "GATEWAY_CACHE_TTL_TENDERS_S must be a whole number"


def test_an_upstream_without_a_url_is_not_configured_in_every_profile() -> None:
    for profile in ("dev", "prod"):
        settings = Settings.from_env({"GATEWAY_PROFILE": profile, "GATEWAY_ITA_URL": "http://127.0.0.1:8100/"})
        assert settings.upstream("ita").configured
        assert not settings.upstream("canada").configured
        assert not settings.upstream("sam").configured
        assert settings.upstream("canada").ttl_s == {RecordKind.TENDER: 900, RecordKind.CONTRACT: 3600}
    assert not any(upstream.configured for upstream in Settings().upstreams.values())
    assert not Settings.from_env({"GATEWAY_SAM_URL": "  "}).upstream("sam").configured


def test_a_test_only_spec_gets_its_own_variables() -> None:
    environ = {
        "GATEWAY_TENDERFEED_URL": "http://127.0.0.1:9999/feed/",
        "GATEWAY_TENDERFEED_TTL_TENDER_S": "30",
        "GATEWAY_FEEDKEY_API_KEY": "feed-secret",
        "GATEWAY_FEEDKEY_DAILY_QUOTA": "7",
    }
    settings = Settings.from_env(environ, specs=WITH_TENDERFEED)
    assert settings.specs == WITH_TENDERFEED
    assert settings.upstream("tenderfeed") == UpstreamSettings("http://127.0.0.1:9999/feed/", {RecordKind.TENDER: 30})
    assert settings.credential("feedkey") == CredentialSettings("feed-secret", daily_quota=7)
    assert settings.daily_quotas()["feedkey"] == 7
    defaults = Settings.from_env({}, specs=WITH_TENDERFEED)
    assert not defaults.upstream("tenderfeed").configured
    assert defaults.upstream("tenderfeed").ttl_s == {RecordKind.TENDER: 120}
    assert defaults.credential("feedkey").daily_quota == 50
    # Without the spec, its variables are unknown.
    assert "unknown setting GATEWAY_TENDERFEED_URL" in refusal({"GATEWAY_TENDERFEED_URL": "http://x/"})
    # A spec only serves its own kinds.
    assert "unknown setting GATEWAY_TENDERFEED_TTL_LEAD_S" in refusal(
        {"GATEWAY_TENDERFEED_TTL_LEAD_S": "1"}, WITH_TENDERFEED
    )


def test_an_upstream_named_like_a_field_prefix_is_refused() -> None:
    # GATEWAY_REDIS_URL is a field already: an upstream named "redis" would share it.
    clash = replace(TENDERFEED, name="redis", credential=None)
    assert "GATEWAY_REDIS_URL" in refusal({}, (*SPECS, clash))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GATEWAY_SAM_URL", "api.sam.gov/", "GATEWAY_SAM_URL must be an http(s) URL"),
        ("GATEWAY_SAM_URL", "https://api.sam.gov", "GATEWAY_SAM_URL must be an http(s) URL"),
        ("GATEWAY_ITA_URL", "ftp://example.org/", "GATEWAY_ITA_URL must be an http(s) URL"),
        ("GATEWAY_CANADA_URL", "http:///", "GATEWAY_CANADA_URL must be an http(s) URL"),
        ("GATEWAY_ITA_TTL_LEAD_S", "-1", "GATEWAY_ITA_TTL_LEAD_S must be >= 0"),
        ("GATEWAY_CANADA_TTL_TENDER_S", "15m", "GATEWAY_CANADA_TTL_TENDER_S must be a whole number"),
        ("GATEWAY_SAM_DAILY_QUOTA", "-5", "GATEWAY_SAM_DAILY_QUOTA must be >= 0"),
        ("GATEWAY_ITA_DAILY_QUOTA", "lots", "GATEWAY_ITA_DAILY_QUOTA must be a whole number"),
        ("GATEWAY_PORT", "eighty", "GATEWAY_PORT must be a number"),
        ("GATEWAY_ANONYMOUS_TIER_ENABLED", "ture", "GATEWAY_ANONYMOUS_TIER_ENABLED must be true or false"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str, message: str) -> None:
    refused = refusal({variable: value})
    assert refused.startswith(message)


def test_settings_built_in_code_are_validated_the_same_way() -> None:
    def refused(settings: Settings) -> str:
        with pytest.raises(SettingsError) as error:
            settings.validate()
        return str(error.value)

    upstreams = default_upstreams(SPECS, "http://127.0.0.1:8100/")
    upstreams["canada"] = UpstreamSettings("http://127.0.0.1:8100/", {RecordKind.TENDER: -1, RecordKind.CONTRACT: 5})
    assert "GATEWAY_CANADA_TTL_TENDER_S must be >= 0" in refused(Settings(upstreams=upstreams))
    quotas = {**default_credentials(), "sam": CredentialSettings(daily_quota=-1)}
    assert "GATEWAY_SAM_DAILY_QUOTA must be >= 0" in refused(Settings(credentials=quotas))
    assert "no spec declares" in refused(Settings(upstreams={"nowhere": UpstreamSettings()}))
    assert "no spec declares" in refused(Settings(credentials={"nowhere": CredentialSettings()}))
    Settings(upstreams=default_upstreams(SPECS, "http://127.0.0.1:8100/")).validate()
    Settings(specs=(), upstreams={}, credentials={}).validate()


def test_secrets_never_appear_in_the_settings_repr() -> None:
    secrets = {
        "GATEWAY_SAM_API_KEY": "sam-secret-1",
        "GATEWAY_ITA_API_KEY": "ita-secret-2",
        "GATEWAY_FEEDKEY_API_KEY": "feed-secret-3",
        "GATEWAY_KEYS_PEPPER": "pepper-secret-4",
        "GATEWAY_REDIS_URL": "redis://:redis-secret-5@127.0.0.1:6379/0",
        "GATEWAY_KEYS_REDIS_URL": "redis://:keys-secret-6@127.0.0.1:6379/0",
    }
    settings = Settings.from_env(secrets, specs=WITH_TENDERFEED)
    assert settings.credential("feedkey").api_key == "feed-secret-3"
    shown = repr(settings) + str(settings) + repr(settings.credentials) + repr(settings.credential("sam"))
    for number, secret in enumerate(secrets.values(), start=1):
        assert f"secret-{number}" in secret
        assert f"secret-{number}" not in shown


def test_python_m_gateway_prints_a_settings_error_as_one_line_and_exits_non_zero() -> None:
    environ = {"PATH": "/usr/bin:/bin", "GATEWAY_MAX_PAGE_SIZE": "50", "GATEWAY_SAM_APIKEY": "s3cret"}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "GATEWAY_MAX_PAGE_SIZE is removed" in lines[0]
    assert "did you mean GATEWAY_SAM_API_KEY?" in lines[0]
    assert "s3cret" not in result.stderr + result.stdout
