"""Evaluation suites: YAML cases, evaluators, runner and reports."""
