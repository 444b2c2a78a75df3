"""CLI command groups that live outside `kizuki.cli`: each module has `register(app)`, called by `kizuki.cli`."""
