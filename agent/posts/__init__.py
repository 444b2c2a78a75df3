"""Posts and their drafts: the tables, the draft's lifecycle, the queries, the public shapes."""
