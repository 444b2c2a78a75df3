"""Agent: intake, watch rules, triage, the drafting agent, models and reply checks. Never imports FastAPI."""
