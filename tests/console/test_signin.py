"""Signing in and out of the console with an API token: cookies, redirects, revoked and expired tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.auth import find_token, revoke_token
from api.models import ApiToken
from kizuki.core.orm import utcnow
from kizuki.runtime import Runtime
from tests.conftest import make_token
from tests.console.conftest import Person, sign_in


def test_signed_out_pages_redirect_to_signin_with_the_page_to_return_to(anon_client: TestClient) -> None:
    res = anon_client.get("/queue?status=approved&q=%E5%A3%8A", follow_redirects=False)
    assert res.status_code == 303
    assert res.headers["location"] == "/signin?next=%2Fqueue%3Fstatus%3Dapproved%26q%3D%25E5%25A3%258A"
    assert anon_client.get("/drafts/1", follow_redirects=False).headers["location"] == "/signin?next=%2Fdrafts%2F1"
    home = anon_client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"].startswith("/signin")


def test_htmx_requests_when_signed_out_get_a_client_redirect(anon_client: TestClient) -> None:
    headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver/queue?language=en"}
    res = anon_client.get("/queue/items?language=en", headers=headers, follow_redirects=False)
    assert res.status_code == 401
    assert res.headers["HX-Redirect"] == "/signin?next=%2Fqueue%3Flanguage%3Den"  # the page, not the partial


def test_good_token_signs_in_with_a_strict_httponly_cookie(runtime: Runtime, anon_client: TestClient) -> None:
    token = make_token(runtime, "agent", "hana")
    res = sign_in(anon_client, token, "/queue")
    assert res.status_code == 303 and res.headers["location"] == "/queue"
    cookie = res.headers["set-cookie"]
    assert cookie.startswith("kizuki_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in the test; https requests get Secure (below)
    assert token not in cookie  # the cookie names the token's id, never the secret
    page = anon_client.get("/queue")
    assert page.status_code == 200
    assert 'data-testid="who">hana' in page.text


def test_cookie_is_secure_over_https(runtime: Runtime, app: FastAPI) -> None:
    token = make_token(runtime, "agent", "hana")
    with TestClient(app, base_url="https://testserver") as client:
        res = sign_in(client, token)
        assert res.status_code == 303
        assert "Secure" in res.headers["set-cookie"]


@pytest.mark.parametrize("token", ["kz_not-a-real-token", "", "   ", "Bearer x"])
def test_bad_token_is_refused_with_a_reason(anon_client: TestClient, token: str) -> None:
    res = sign_in(anon_client, token)
    assert res.status_code == 401
    assert 'data-testid="signin-error"' in res.text
    assert "kizuki_session" not in res.headers.get("set-cookie", "")
    assert anon_client.get("/queue", follow_redirects=False).status_code == 303


def test_revoked_token_cannot_sign_in_and_signs_out_open_sessions(
    runtime: Runtime, person: Callable[..., Person], anon_client: TestClient
) -> None:
    hana = person("agent", "hana")
    assert hana.get("/queue").status_code == 200
    with runtime.db.session() as s:
        revoke_token(s, find_token(s, hana.token), actor="test", allow_last_admin=True)
    res = hana.get("/queue", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/signin")
    assert sign_in(anon_client, hana.token).status_code == 401


def test_expired_token_ends_the_session(runtime: Runtime, person: Callable[..., Person]) -> None:
    ken = person("agent", "ken")
    with runtime.db.session() as s:
        s.execute(update(ApiToken).where(ApiToken.name == "ken").values(expires_at=utcnow() - timedelta(seconds=1)))
    assert ken.get("/queue", follow_redirects=False).status_code == 303


def test_forged_or_tampered_cookie_is_signed_out(person: Callable[..., Person]) -> None:
    hana = person("agent", "hana")
    person("agent", "ken")  # a token id the forged cookie could name
    value = hana.cookies["kizuki_session"]
    _, token_id, issued, nonce, sig = value.split(".")
    forged = f"v1.{int(token_id) + 1}.{issued}.{nonce}.{sig}"
    hana.cookies.delete("kizuki_session")
    hana.cookies.set("kizuki_session", forged)
    assert hana.get("/queue", follow_redirects=False).status_code == 303
    hana.cookies.delete("kizuki_session")
    hana.cookies.set("kizuki_session", value[:-1] + ("0" if value[-1] != "0" else "1"))
    assert hana.get("/queue", follow_redirects=False).status_code == 303
    hana.cookies.delete("kizuki_session")
    hana.cookies.set("kizuki_session", value)  # the genuine cookie, set the same way, still works
    assert hana.get("/queue", follow_redirects=False).status_code == 200


def test_signout_ends_the_session(person: Callable[..., Person]) -> None:
    hana = person("agent", "hana")
    res = hana.post("/signout", data={"csrf_token": hana.csrf}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/signin"
    assert 'kizuki_session=""' in res.headers["set-cookie"] and "Max-Age=0" in res.headers["set-cookie"]
    assert hana.get("/queue", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x", "javascript:alert(1)", "\\\\evil"],
)
def test_open_redirect_is_refused(runtime: Runtime, anon_client: TestClient, target: str) -> None:
    token = make_token(runtime, "agent", "hana")
    res = sign_in(anon_client, token, target)
    assert res.status_code == 303
    assert res.headers["location"] == "/"


def test_signin_form_without_its_csrf_value_is_refused(runtime: Runtime, anon_client: TestClient) -> None:
    token = make_token(runtime, "agent", "hana")
    anon_client.get("/signin")
    res = anon_client.post("/signin", data={"token": token, "csrf_token": "0" * 40}, follow_redirects=False)
    assert res.status_code == 403
    assert "kizuki_session" not in res.headers.get("set-cookie", "")


def test_failed_signins_are_limited_per_address(runtime: Runtime, app: FastAPI, anon_client: TestClient) -> None:
    app.state.auth_limiter.limit = 3
    for _ in range(3):
        assert sign_in(anon_client, "kz_wrong").status_code == 401
    good = make_token(runtime, "agent", "hana")
    res = sign_in(anon_client, good)  # even the right token waits: a guesser must not learn which guess was right
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1


def test_pages_carry_the_console_csp_and_no_store(person: Callable[..., Person]) -> None:
    res = person("agent").get("/queue")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "form-action 'self'" in csp and "unsafe-inline" not in csp
    assert res.headers["cache-control"] == "no-store"
    assert "<script>" not in res.text  # only <script src=...>: the CSP allows no inline script
    assert res.headers["x-frame-options"] == "DENY"


def test_static_files_are_served_from_the_package(anon_client: TestClient) -> None:
    htmx = anon_client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert anon_client.get("/static/console.js").status_code == 200
    assert anon_client.get("/static/console.css").status_code == 200


def test_the_session_key_comes_from_settings(runtime: Runtime, app: FastAPI) -> None:
    """`KIZUKI_SESSION_KEY` signs the cookies; another key (another deployment, or a rotated key) signs them out."""
    import hashlib
    import hmac

    from pydantic import SecretStr

    runtime.settings.session_key = SecretStr("a session key of at least some length")
    token = make_token(runtime, "agent", "hana")
    with TestClient(app) as client:
        assert sign_in(client, token).status_code == 303
        value = client.cookies["kizuki_session"]
        body, _, signature = value.rpartition(".")
        key = hashlib.sha256(b"a session key of at least some length").digest()
        assert hmac.new(key, body.encode(), hashlib.sha256).hexdigest() == signature
        assert client.get("/queue").status_code == 200
        app.state.console_session_key = hashlib.sha256(b"rotated").digest()
        assert client.get("/queue", follow_redirects=False).status_code == 303
