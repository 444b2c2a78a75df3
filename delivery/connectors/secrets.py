"""Connector credentials: from `KIZUKI_CONNECTOR_<NAME>_<SECRET>` or the secrets file, never from the database."""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any

import yaml
from pydantic import SecretStr

from delivery.connectors.base import env_name
from kizuki.core.errors import InvalidInput
from kizuki.core.settings import Settings

SECRET_KEY = re.compile(
    r"(token|secret|passw(or)?d|api[_-]?key|bearer|credential|cookie|session|private[_-]?key|access[_-]?key|jwt)",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(r"^(bearer\s+\S+|ey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.\S+)$", re.IGNORECASE)


def secret_fields(data: Any) -> list[str]:
    """Where a connectors document holds something that looks like a credential (a key named like one, or a
    bearer token or JWT as a value): such a document is refused, so secrets never reach the database."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", data)]  # no recursion: a deeply nested document is not a crash
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                here = f"{path}.{key}" if path else str(key)
                if SECRET_KEY.search(str(key)):
                    found.append(here)
                else:
                    stack.append((here, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str) and SECRET_VALUE.match(value.strip()):
            found.append(path or "(value)")
    return sorted(found)


def _file_secrets(settings: Settings, name: str) -> dict[str, SecretStr]:
    path = settings.connector_secrets_file
    if path is None:
        return {}
    try:
        mode = path.stat().st_mode
    except OSError:
        raise InvalidInput(f"KIZUKI_CONNECTOR_SECRETS_FILE {path} cannot be read") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(f"KIZUKI_CONNECTOR_SECRETS_FILE {path} must be private: chmod 600 it")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise InvalidInput(f"KIZUKI_CONNECTOR_SECRETS_FILE {path} is not valid YAML or JSON") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InvalidInput(f"KIZUKI_CONNECTOR_SECRETS_FILE {path} must map connector name -> {{secret: value}}")
    entry = data.get(name) or {}
    return {str(k).lower(): SecretStr(str(v)) for k, v in entry.items() if v is not None}


def connector_secrets(settings: Settings, name: str) -> dict[str, SecretStr]:
    """The secrets of one connector: the file's entry, overridden by `KIZUKI_CONNECTOR_<NAME>_<SECRET>`."""
    secrets = _file_secrets(settings, name)
    prefix = f"KIZUKI_CONNECTOR_{env_name(name)}_"
    for key, value in os.environ.items():
        if key.startswith(prefix) and key != "KIZUKI_CONNECTOR_SECRETS_FILE":
            secrets[key[len(prefix) :].lower()] = SecretStr(value)
    return secrets
