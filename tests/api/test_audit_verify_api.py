"""GET /v1/audit/verify: the admin's view of `kizuki audit verify`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import delete, select

from kizuki.core import audit
from kizuki.runtime import Runtime
from tests.core.audit_tamper import switch_off_append_only


def test_verify_reports_tampering_to_admins(
    runtime: Runtime, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    runtime.settings.audit_key = SecretStr("キー: a key for the audit log")
    audit.configure(runtime.db.engine, runtime.settings)
    try:
        with runtime.db.session() as s:
            audit.record(s, actor="agent:hana", action="draft.create", subject="draft:1", after={"text": "返信"})
            audit.record(s, actor="agent:hana", action="draft.approve", subject="draft:1")
        res = client.get("/v1/audit/verify")
        assert res.status_code == 200
        body = res.json()
        assert body["ok"] and body["signed"] and body["problems"] == []
        assert body["last_checkpoint"]["count"] == body["entries"]
        assert client_as("agent").get("/v1/audit/verify").status_code == 403
        with runtime.db.session() as s:
            switch_off_append_only(s)
            last = s.scalars(select(audit.AuditEntry.id).order_by(audit.AuditEntry.id.desc()).limit(1)).one()
            s.execute(delete(audit.AuditEntry).where(audit.AuditEntry.id == last))
        body = client.get("/v1/audit/verify").json()
        assert not body["ok"]
        assert body["problems"][0]["problem"].startswith(f"truncated: entries after #{last - 1} were deleted")
    finally:
        audit.unconfigure(runtime.db.engine)


def test_verify_without_a_key_says_so(client: TestClient) -> None:
    body = client.get("/v1/audit/verify").json()
    assert body["ok"] and not body["signed"]
    assert any("detects accidental changes only" in w for w in body["warnings"])
