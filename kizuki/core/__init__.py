"""The core every package may import: settings, database, ORM base, errors, jobs and worker, audit, text."""
