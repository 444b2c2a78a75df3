"""The SMTP sender against a real local server (aiosmtpd): STARTTLS, AUTH, text + HTML, retries, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuki.core.errors import InvalidInput, ServiceUnavailable
from kizuki.core.settings import Settings
from reports.mail import Attachment, Mailer, MailError, MailMessage, SmtpConfig, send_mail
from tests.reports.smtp_server import PASSWORD, USER, free_port, smtp_server


def _settings(tmp_path: Path, port: int, ca: Path, **over: object) -> Settings:
    values: dict[str, object] = {
        "home": tmp_path / "home",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_user": USER,
        "smtp_password": PASSWORD,
        "smtp_from": "Kizuki <alerts@example.com>",
        "smtp_to": ["lead@example.com"],
        "smtp_ca_file": ca,
        "smtp_timeout_s": 5.0,
    }
    values.update(over)
    return Settings(**values)  # type: ignore[arg-type]


def test_sends_text_and_html_over_starttls_with_login(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as (port, ca, inbox):
        settings = _settings(tmp_path, port, ca)
        msg_id = send_mail(
            settings,
            MailMessage(
                subject="日報 2026-12-06 / Daily report",
                text="急増を検知しました。\nA surge was detected.",
                html="<p>急増を検知しました。<b>A surge</b></p>",
                attachments=[Attachment("counts.csv", b"hour,posts\n10,14\n", "text/csv")],
            ),
        )
    assert len(inbox.messages) == 1
    mail_from, rcpts, msg = inbox.messages[0]
    assert mail_from == "alerts@example.com"
    assert rcpts == ["lead@example.com"]
    assert msg["Subject"] == "日報 2026-12-06 / Daily report"
    assert msg["Message-ID"] == msg_id
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and "急増を検知しました。" in plain.get_content()
    assert html is not None and "<b>A surge</b>" in html.get_content()
    atts = list(msg.iter_attachments())
    assert [a.get_filename() for a in atts] == ["counts.csv"]
    assert atts[0].get_content_type() == "text/csv"


def test_explicit_recipients_override_the_default(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as (port, ca, inbox):
        send_mail(
            _settings(tmp_path, port, ca), MailMessage(subject="s", text="t", to=["a@example.com", "b@example.jp"])
        )
    assert inbox.messages[0][1] == ["a@example.com", "b@example.jp"]


def test_wrong_password_is_a_clear_error_without_retrying(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as (port, ca, inbox), pytest.raises(MailError, match="login refused"):
        send_mail(_settings(tmp_path, port, ca, smtp_password="wrong"), MailMessage(subject="s", text="t"))
    assert inbox.messages == []


def test_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    """Without the CA file the self-signed certificate does not verify: no mail goes out in clear or unverified."""
    with smtp_server(tmp_path) as (port, ca, inbox):
        settings = _settings(tmp_path, port, ca, smtp_ca_file=None)
        with pytest.raises(MailError, match="not sent after 1 attempt"):
            Mailer.from_settings(settings, attempts=1).send(MailMessage(subject="s", text="t"))
    assert inbox.messages == []


def test_a_transient_refusal_is_retried(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as (port, ca, inbox):
        inbox.refuse_with, inbox.refusals_left = "451 4.3.0 try again later", 1
        Mailer.from_settings(_settings(tmp_path, port, ca), attempts=3, backoff_s=0.01).send(
            MailMessage(subject="s", text="t")
        )
    assert len(inbox.messages) == 1


def test_a_permanent_refusal_is_not_retried(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as (port, ca, inbox):
        inbox.refuse_with, inbox.refusals_left = "554 5.7.1 rejected", 5
        with pytest.raises(MailError, match="refused the message \\(554\\)"):
            Mailer.from_settings(_settings(tmp_path, port, ca), attempts=3, backoff_s=0.01).send(
                MailMessage(subject="s", text="t")
            )
        assert inbox.refusals_left == 4


def test_no_server_gives_up_after_the_attempts(tmp_path: Path) -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), sender="a@example.com", to=("b@example.com",))
    with pytest.raises(MailError, match="not sent after 2 attempt"):
        Mailer(config, attempts=2, backoff_s=0.01).send(MailMessage(subject="s", text="t"))


def test_bad_input_is_refused_before_connecting(tmp_path: Path) -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), sender="a@example.com")
    mailer = Mailer(config, attempts=1)
    with pytest.raises(InvalidInput, match="no recipients"):
        mailer.send(MailMessage(subject="s", text="t"))
    with pytest.raises(InvalidInput, match="not e-mail addresses"):
        mailer.send(MailMessage(subject="s", text="t", to=["ok@example.com", "nobody"]))
    with pytest.raises(InvalidInput, match="one line"):
        mailer.send(MailMessage(subject="a\r\nBcc: x@example.com", text="t", to=["ok@example.com"]))
    with pytest.raises(ServiceUnavailable, match="KIZUKI_SMTP_HOST"):
        send_mail(Settings(home=tmp_path), MailMessage(subject="s", text="t", to=["ok@example.com"]))
