"""Connector configuration: validated entries, secrets refused, versions, schedules; credentials from settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from delivery.connectors import service
from delivery.connectors.secrets import connector_secrets
from kizuki.core import jobs
from kizuki.core.errors import Conflict, InvalidInput
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from tests.connectors.conftest import set_connectors

MASTODON = {
    "name": "masto",
    "kind": "mastodon",
    "base_url": "https://masto.example/",
    "interval_s": 120,
    "options": {"hashtags": ["#kamado", "かまど"]},
}
RSS = {"name": "news", "kind": "rss", "options": {"feeds": ["https://news.example/feed.xml"]}, "enabled": False}


def test_entries_are_validated_and_normalised() -> None:
    masto, news = service.parse_connectors([MASTODON, RSS])
    assert masto.base_url == "https://masto.example"
    assert masto.options == {"hashtags": ["#kamado", "かまど"]}
    assert news.enabled is False and news.interval_s == 300


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({**MASTODON, "kind": "myspace"}, "kind"),
        ({**MASTODON, "name": "Masto Don"}, "name must be"),
        ({**MASTODON, "interval_s": 1}, "interval_s"),
        ({**MASTODON, "options": {"hashtags": ["two words"]}}, "options.hashtags"),
        ({**MASTODON, "options": {"unknown": 1}}, "options.unknown"),
        ({**MASTODON, "base_url": None}, "needs the server"),
        ({**MASTODON, "base_url": "ftp://masto.example"}, "http(s)"),
        ({**MASTODON, "base_url": "https://me:pw@masto.example"}, "credentials"),
        ({**RSS, "options": {"feeds": []}}, "feeds"),
        ({**MASTODON, "colour": "blue"}, "colour"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(entry: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.parse_connectors([entry])
    assert says in caught.value.detail


@pytest.mark.parametrize(
    "entry",
    [
        {**MASTODON, "token": "abc"},
        {**MASTODON, "options": {"hashtags": [], "access_token": "abc"}},
        {**MASTODON, "options": {"app_password": "abcd-efgh"}},
        {**MASTODON, "options": {"search": ["Bearer abcdefghijkl"]}},
        {**MASTODON, "note": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc"},
    ],
)
def test_a_document_with_secrets_is_refused_naming_where(entry: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.parse_connectors([entry])
    assert "secrets never go in the connectors YAML" in caught.value.detail
    assert "KIZUKI_CONNECTOR_" in caught.value.detail


def test_names_are_unique() -> None:
    with pytest.raises(InvalidInput, match="unique: masto"):
        service.parse_connectors([MASTODON, MASTODON])


def test_yaml_lists_and_yaml_errors() -> None:
    configs = service.parse_connectors_yaml("- name: masto\n  kind: mastodon\n  base_url: https://m.example\n")
    assert [c.name for c in configs] == ["masto"]
    with pytest.raises(InvalidInput, match="not valid YAML"):
        service.parse_connectors_yaml("- name: [unclosed\n")
    with pytest.raises(InvalidInput, match="must be a list"):
        service.parse_connectors_yaml("name: masto\n")


def test_each_save_is_a_version_audited_and_schedules_the_enabled(runtime: Runtime) -> None:
    assert set_connectors(runtime, [MASTODON, RSS]) == 1
    with runtime.db.session() as s, pytest.raises(Conflict):
        service.save(s, [MASTODON], edited_version=0, actor="hana")
    with runtime.db.session() as s:
        row = service.save(s, [MASTODON], edited_version=1, actor="hana", note="feeds later")
        assert row.version == 2
    with runtime.db.reading() as s:
        version, configs = service.current(s)
        assert version == 2 and [c.name for c in configs] == ["masto"]
        listen_jobs = s.scalars(select(jobs.Job).where(jobs.Job.kind == jobs.JobKind.LISTEN)).all()
        # one run of the enabled connector per interval slot, however often it is saved
        assert [j.payload for j in listen_jobs] == [{"connector": "masto"}]
        from kizuki.core.audit import AuditEntry

        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.subject == "connectors")).all()
        assert actions == ["connectors.update", "connectors.update"]


def test_secrets_come_from_the_environment_and_a_private_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("masto-jp:\n  token: from-file\n  other: 1\nnews: {}\n", encoding="utf-8")
    os.chmod(path, 0o600)
    settings = Settings(home=tmp_path, connector_secrets_file=path)
    assert connector_secrets(settings, "masto-jp")["token"].get_secret_value() == "from-file"
    monkeypatch.setenv("KIZUKI_CONNECTOR_MASTO_JP_TOKEN", "from-env")
    secrets = connector_secrets(settings, "masto-jp")
    assert secrets["token"].get_secret_value() == "from-env" and secrets["other"].get_secret_value() == "1"
    assert "from-env" not in repr(secrets)  # SecretStr: never printed
    os.chmod(path, 0o644)
    with pytest.raises(InvalidInput, match="chmod 600"):
        connector_secrets(settings, "masto-jp")
