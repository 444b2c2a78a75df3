"""What every CLI command prints with: the error console, a one-line failure, one JSON value a line.

Here rather than in `kizuki.cli`, which imports the command modules before it could define them."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
