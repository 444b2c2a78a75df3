"""An editor changes the organisation's rules file while Kizuki runs: the next check uses the new rules."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from agent.checks import RulesError
from agent.drafting.service import default_checker
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime


def _write(path: Path, text: str, tick: int) -> None:
    """Write the file and give it a distinct modification time (coarse file-system clocks)."""
    path.write_text(text, encoding="utf-8")
    stamp = 1_800_000_000 + tick
    os.utime(path, (stamp, stamp))


def test_an_edited_rules_file_takes_effect_without_a_restart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    rt = Runtime(Settings(home=home, database_url=f"sqlite:///{tmp_path / 'k.db'}"))
    try:
        assert "ng_word" not in rt.checker.check("このポンコツ、使えない").categories  # shipped defaults only

        rules = home / "rules.yaml"
        _write(rules, 'ng_words: ["ポンコツ"]\n', 1)  # the file appears
        assert "ng_word" in rt.checker.check("このポンコツ、使えない").categories
        assert "ng_word" in default_checker(rt.settings).check("このポンコツ、使えない").categories

        _write(rules, 'ng_words: ["ガラクタ"]\nchannel_limits: {instagram: 50}\n', 2)  # edited
        checker = rt.checker
        assert "ng_word" not in checker.check("このポンコツ、使えない").categories
        assert "ng_word" in checker.check("とんだガラクタです").categories
        assert checker.rules.channel_limits["instagram"] == 50
        assert rt.checker is checker  # unchanged file: the compiled checker is reused

        with caplog.at_level(logging.ERROR, logger="kizuki.runtime"):
            _write(rules, "ng_words: [unclosed\n", 3)  # a broken edit keeps the rules in force, loudly
            assert "ng_word" in rt.checker.check("とんだガラクタです").categories
        assert "does not load" in caplog.text
        with pytest.raises(RulesError):
            default_checker(rt.settings)  # a one-shot command says what is wrong

        _write(rules, 'ng_words: ["ポンコツ"]\n', 4)  # fixed again
        assert "ng_word" in rt.checker.check("このポンコツ、使えない").categories
    finally:
        rt.close()


def test_a_rules_file_that_does_not_load_at_start_is_an_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "rules.yaml").write_text("ng_words: [unclosed\n", encoding="utf-8")
    rt = Runtime(Settings(home=home, database_url=f"sqlite:///{tmp_path / 'k.db'}"))
    try:
        with pytest.raises(RulesError):
            rt.checker  # noqa: B018 - the property builds the checker
    finally:
        rt.close()
