"""Reply checks: NG words, personal data, echo and DM redirection, public-reply policy, channel length.

Pure functions (no web framework, no database). See README.md in this folder for the rules file.
"""

from __future__ import annotations

from .checker import MAX_TEXT_CHARS, Checker, TextTooLong, check, checker_for, checker_with
from .length import CHANNELS, weighted_length
from .models import CATEGORIES, CheckResult, Finding, Severity
from .rules import Rules, RulesError, Term, default_rules, load_rules, rules_signature

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "MAX_TEXT_CHARS",
    "CheckResult",
    "Checker",
    "Finding",
    "Rules",
    "RulesError",
    "Severity",
    "Term",
    "TextTooLong",
    "check",
    "checker_for",
    "checker_with",
    "default_rules",
    "load_rules",
    "rules_signature",
    "weighted_length",
]
