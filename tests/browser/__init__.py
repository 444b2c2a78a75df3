"""Browser tests of the reviewer console (a package, so its browser ends with its last test)."""
