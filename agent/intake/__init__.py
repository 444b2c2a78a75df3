"""Intake: text normalisation, language detection, watch rules, do-not-engage list and triage."""
