"""The organisation profile: who "we" are in every reply (names, handles, products, contacts, tone)."""
