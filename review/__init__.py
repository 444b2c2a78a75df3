"""The review queue: drafts waiting for a person, and the decisions on them."""
