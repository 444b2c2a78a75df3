"""The `kizuki` command line on a real SQLite database: clear errors, machine-readable output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuki.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("KIZUKI_HOME", str(tmp_path / "home"))


def _run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_kb_import_reports_bad_line_and_imports_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "kb.jsonl"
    bad.write_text(
        '{"key": "a", "kind": "faq", "title": "t", "body": "b", "lang": "ja"}\n'
        '{"key": "b", "kind": "faq", "title": "", "body": "b", "lang": "ja"}\n',
        encoding="utf-8",
    )
    code, _, err = _run("kb", "import", str(bad))
    assert code == 2
    assert "line 2" in err
    assert "nothing imported" in err
    code, out, _ = _run("kb", "export", str(tmp_path / "out.jsonl"))
    assert code == 0
    assert "wrote 0 entries" in out


def test_kb_import_export_search(tmp_path: Path) -> None:
    code, out, _ = _run("kb", "import", str(ROOT / "demo" / "knowledge.jsonl"))
    assert code == 0, out
    assert "32 created" in out
    # A long path must not make the summary wrap mid-phrase when output is piped (CI runs the
    # tests from a deeper checkout; rich wraps at 80 columns when it sees no terminal).
    deep = tmp_path / ("a-rather-long-directory-name-" * 3) / "knowledge.jsonl"
    deep.parent.mkdir(parents=True)
    deep.write_bytes((ROOT / "demo" / "knowledge.jsonl").read_bytes())
    code, out, _ = _run("kb", "import", str(deep))
    assert len(str(deep)) > 80
    assert "0 created, 0 updated, 32 unchanged" in out
    code, out, _ = _run("kb", "search", "KAMADO E03", "--json", "-k", "3")
    assert code == 0
    hits = json.loads(out)["hits"]
    assert hits[0]["key"].startswith("kamado-e03")
    code, out, _ = _run("kb", "export", str(tmp_path / "kb.csv"))
    assert "wrote 32 entries" in out
    code, _, err = _run("kb", "search", "x", "--lang", "fr")
    assert code == 2
    assert "lang" in err


def test_check_single_and_jsonl(tmp_path: Path) -> None:
    code, out, _ = _run("check", "お電話は090-1234-5678まで", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["verdict"] == "block"
    assert result["findings"][0]["category"] == "pii"
    lines = tmp_path / "cases.jsonl"
    lines.write_text(
        json.dumps({"id": "a", "text": "ありがとうございます！"}, ensure_ascii=False)
        + "\nnot json\n"
        + json.dumps({"text": "バカ"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    code, out, _ = _run("check", "--jsonl", str(lines))
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r.get("verdict") for r in rows] == ["pass", None, "block"]
    assert rows[0]["id"] == "a"
    assert "error" in rows[1]
    assert code == 1  # a bad line is an error, reported in place


def test_check_uses_the_organisations_rules_file_like_the_pipeline(tmp_path: Path) -> None:
    """An editor adds an NG word to KIZUKI_HOME/rules.yaml; `kizuki check` applies it without --rules."""
    code, out, _ = _run("check", "このポンコツ家電め", "--json")
    assert code == 0 and "ng_word" not in {f["category"] for f in json.loads(out)["findings"]}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "rules.yaml").write_text('ng_words: ["ポンコツ"]\n', encoding="utf-8")
    code, out, _ = _run("check", "このポンコツ家電め", "--json")
    assert code == 0
    assert "ng_word" in {f["category"] for f in json.loads(out)["findings"]}


def test_check_rules_file_error_names_the_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text('ng_words: ["バカ"]\ncompetitors: 12\n', encoding="utf-8")
    code, _, err = _run("check", "hello", "--rules", str(rules))
    assert code == 2
    assert "line 2" in err
    code, _, err = _run("check", "hello", "--channel", "fax")
    assert code == 2
    assert "fax" in err


def test_posts_ingest_json_and_invalid_rows(tmp_path: Path) -> None:
    _run("kb", "import", str(ROOT / "demo" / "knowledge.jsonl"))
    assert _run("watch", "set", str(ROOT / "demo" / "watch_rules.yaml"))[0] == 0
    assert _run("org", "set", str(ROOT / "demo" / "profile.yaml"))[0] == 0
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        json.dumps(
            {"source": "x", "external_id": "1", "author": {"handle": "a"}, "text": "SoraBuds 2が片耳しか鳴らない"},
            ensure_ascii=False,
        )
        + "\n"
        + json.dumps({"source": "x", "external_id": "2", "author": {"handle": "b"}, "text": ""})
        + "\n"
        + json.dumps(
            {"source": "x", "external_id": "3", "author": {"handle": "c"}, "text": "流星群の夜、星空がきれい"},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    code, out, _ = _run("posts", "ingest", str(posts), "--json")
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["outcome"] for r in rows] == ["drafted", "invalid", "dropped"]
    assert rows[0]["external_id"] == "1"
    assert rows[0]["draft"]["model"] == "offline"
    assert rows[0]["draft"]["text"]
    assert rows[1]["line"] == 2
    assert "text" in rows[1]["reason"]
    assert code == 1
    code, out, _ = _run("posts", "ingest", str(posts), "--json")
    assert [json.loads(x)["outcome"] for x in out.splitlines()] == ["duplicate", "invalid", "duplicate"]
    code, out, _ = _run("drafts", "list", "--json")
    assert json.loads(out)["total"] == 1


def test_token_create_and_audit_verify() -> None:
    code, out, _ = _run("token", "create", "--name", "hana", "--role", "agent")
    assert code == 0
    assert out.strip().startswith("kz_")
    code, _, err = _run("token", "create", "--name", "x", "--role", "root")
    assert code == 2
    assert "unknown role" in err
    code, out, _ = _run("audit", "verify")
    assert code == 0
    assert "intact: 1 entries" in out


def test_a_fresh_home_says_to_set_watch_rules_before_ingesting(tmp_path: Path) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        json.dumps({"source": "x", "external_id": "1", "author": {"handle": "a"}, "text": "Where is my order?"}) + "\n",
        encoding="utf-8",
    )
    code, _, err = _run("posts", "ingest", str(posts), "--json")
    assert code == 2
    assert "kizuki watch set" in err
    code, out, _ = _run("watch", "show")
    assert code == 0 and "no watch rules set" in out


def test_org_set_and_show_round_trip_and_errors_name_the_line(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "name: Kaze Cycles\nnames: [風サイクル]\nhandles: {x: kaze_help}\n"
        "products:\n  - {name: Kaze E-Bike, aliases: [e-bike]}\nwarranty_years: 2\n",
        encoding="utf-8",
    )
    code, out, err = _run("org", "set", str(profile))
    assert code == 0, err
    assert "v1" in out
    code, out, _ = _run("org", "show", "--json")
    shown = json.loads(out)
    assert shown["version"] == 1
    assert shown["profile"]["handles"] == {"x": "@kaze_help"}
    assert shown["profile"]["names"] == ["Kaze Cycles", "風サイクル"]
    assert shown["profile"]["warranty_years"] == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Kaze Cycles\nproducts:\n  - {aliases: [x]}\n", encoding="utf-8")
    code, _, err = _run("org", "set", str(bad))
    assert code == 2
    assert "bad.yaml:3" in err and "products.0.name" in err
    code, _, err = _run("org", "set", str(tmp_path / "missing.yaml"))
    assert code == 2 and "cannot read" in err


def test_watch_set_versions_and_reports_a_bad_line(tmp_path: Path) -> None:
    rules = tmp_path / "watch.yaml"
    rules.write_text("brand: [Kaze Cycles, 風サイクル]\nexclude: [風が強い]\n", encoding="utf-8")
    assert _run("watch", "set", str(rules))[0] == 0
    code, out, _ = _run("watch", "set", str(rules), "--note", "again")
    assert code == 0 and "v2" in out
    code, out, _ = _run("watch", "show", "--json")
    assert json.loads(out)["version"] == 2 and json.loads(out)["rules"]["brand"] == ["Kaze Cycles", "風サイクル"]
    rules.write_text("brand: [Kaze]\nrequire: everything\n", encoding="utf-8")
    code, _, err = _run("watch", "set", str(rules))
    assert code == 2 and "watch.yaml:2" in err and "require" in err


def test_do_not_engage_from_the_cli() -> None:
    code, out, err = _run("dne", "add", "@Troll_1", "--reason", "harassment", "--expires", "2030-01-01T00:00:00+09:00")
    assert code == 0, err
    code, out, _ = _run("dne", "list", "--json")
    assert [(i["handle"], i["reason"]) for i in json.loads(out)] == [("troll_1", "harassment")]
    assert _run("dne", "add", "x", "--reason", "r", "--expires", "someday")[0] == 2
    assert _run("dne", "remove", "troll_1")[0] == 0
    assert _run("dne", "remove", "troll_1")[0] == 2


def test_init_writes_a_starter_company_that_loads(tmp_path: Path) -> None:
    code, _, err = _run(
        "init",
        "--name",
        "Kaze Cycles",
        "--handle",
        "@kaze_help",
        "--alias",
        "風サイクル",
        "--product",
        "Kaze E-Bike",
        "--contact",
        "0120-555-777",
        "--out",
        str(tmp_path),
        "--apply",
    )
    assert code == 0, err
    assert {p.name for p in tmp_path.iterdir()} >= {"profile.yaml", "watch_rules.yaml", "rules.yaml"}
    shown = json.loads(_run("org", "show", "--json")[1])
    assert shown["profile"]["handles"] == {"x": "@kaze_help"}
    watch = json.loads(_run("watch", "show", "--json")[1])["rules"]
    assert {"Kaze Cycles", "風サイクル", "Kaze E-Bike", "kaze_help"} <= set(watch["brand"])
    assert "0120-555-777" in (tmp_path / "rules.yaml").read_text(encoding="utf-8")
    code, _, err = _run("init", "--name", "Kaze Cycles", "--out", str(tmp_path))
    assert code == 2 and "--force" in err
