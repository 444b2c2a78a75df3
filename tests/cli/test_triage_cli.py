"""`kizuki triage`: one JSON result per input line, in order; bad lines reported in place; nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuki.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUKI_HOME", str(tmp_path / "home"))


def _lines(*items: object) -> str:
    return "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in items) + "\n"


def test_jsonl_gives_one_result_per_line_in_order_with_errors_in_place(tmp_path: Path) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        _lines(
            {"id": "a", "text": "ミナト電機マジでクソ…金返せ。二度と買わねえ",
             "author": {"handle": "k", "followers": 15400}, "metrics": {"reposts": 48}},
            {"text": "my kindle fire won't start"},
            "not json",
            {"text": ""},
            {"text": "RT @minato_fan: ミナト電機の新しい掃除機よさそう"},
            "",
            {"text": "Bonjour, ma commande n'est jamais arrivée. Que dois-je faire ?", "lang": None},
            ["a list"],
            {"text": "【PR】ミナト電機のナミR2 https://amzn.to/3abc"},
        ),
        encoding="utf-8",
    )  # fmt: skip
    res = runner.invoke(app, ["triage", "--jsonl", str(posts)])
    assert res.exit_code == 1  # bad lines: reported in place, non-zero at the end
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 7, 8, 9]  # the blank line 6 is skipped
    flame, kindle, bad_json, empty, retweet, french, a_list, ad = rows
    assert flame["id"] == "a" and flame["flame_risk"] > 70 and flame["language"] == "ja"
    assert {p["name"] for p in flame["flame_parts"]} >= {"negativity", "hostility", "reach", "velocity", "sensitivity"}
    assert flame["noise"] is None
    assert kindle["sensitive"] == [] and kindle["urgency"] == "normal" and kindle["intent"] == "bug_report"
    assert "error" in bad_json and "error" in empty and "text" in empty["error"]
    assert "error" in a_list
    assert retweet["noise"]["kind"] == "repost"
    assert french["language"] == "fr"
    assert ad["noise"]["kind"] == "ad"
    assert set(kindle) >= {"language", "sentiment", "intent", "urgency", "flame_risk", "flame_parts", "noise"}


def test_a_text_seen_twice_in_a_file_is_a_repost_the_second_time(tmp_path: Path) -> None:
    text = "ミナト電機の炊飯器、買って三日で壊れた。ひどすぎる"
    posts = tmp_path / "p.jsonl"
    posts.write_text(_lines({"text": text, "author": "a"}, {"text": text, "author": "b"}), encoding="utf-8")
    res = runner.invoke(app, ["triage", "--jsonl", str(posts)])
    assert res.exit_code == 0
    first, second = (json.loads(x) for x in res.stdout.splitlines())
    assert first["noise"] is None
    assert second["noise"] == {"kind": "repost", "reason": "repeats the text of line 1"}


def test_one_text_as_json_and_as_text() -> None:
    res = runner.invoke(app, ["triage", "感じ悪かったです。", "--json"])
    assert res.exit_code == 0
    result = json.loads(res.stdout)
    assert result["sentiment"] == "negative" and result["language"] == "ja"
    res = runner.invoke(app, ["triage", "kudos to Reina … What a great example of solid customer service"])
    assert res.exit_code == 0
    assert "intent praise" in res.stdout and "sentiment positive" in res.stdout
    assert "hostility" in res.stdout  # the flame-risk parts are listed


def test_nothing_is_stored_and_the_help_teaches(tmp_path: Path) -> None:
    res = runner.invoke(app, ["triage", "ミナト電機最高"])
    assert res.exit_code == 0
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.db"))
    res = runner.invoke(app, ["triage", "--help"])
    assert res.exit_code == 0
    for word in ("--jsonl", "flame_parts", "noise", "exits 1", "Examples"):
        assert word in res.stdout


def test_no_input_and_an_unreadable_file_are_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["triage"])
    assert res.exit_code == 2 and "give a TEXT" in res.stderr
    res = runner.invoke(app, ["triage", "--jsonl", str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 2 and "cannot read" in res.stderr


def test_a_profile_names_the_products_and_a_bad_profile_is_an_error(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("name: ミナト電機\nproducts:\n  - name: Nami R2\n    aliases: [ナミ]\n", encoding="utf-8")
    res = runner.invoke(app, ["triage", "ナミが動かない", "--profile", str(profile), "--json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["topics"][0] == "Nami R2"
    res = runner.invoke(app, ["triage", "x", "--profile", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "missing.yaml" in res.stderr
