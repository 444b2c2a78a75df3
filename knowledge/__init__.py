"""Knowledge: FAQ and policy entries with revisions, the vector and lexical index, hybrid retrieval."""
