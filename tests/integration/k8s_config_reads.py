"""What a service really reads from its environment, for checking the pods' env against it: a recording
environment run through the service's own config parsing and its gunicorn settings, and the image's uid."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping

from harness import REPO
from http_common.server_settings import ServerSettings


class Recording(Mapping[str, str]):
    """An environment that remembers every name looked up in it: what config.py reads, without a copied list."""

    def __init__(self, values: Mapping[str, str]):
        self.values, self.read = dict(values), set[str]()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def gunicorn_defaults(package: str) -> dict[str, int]:
    """The `server_settings(port=..., threads=...)` call of the service's gunicorn.conf.py."""
    tree = ast.parse((REPO / package / "gunicorn.conf.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "server_settings")
    return {k.arg: ast.literal_eval(k.value) for k in call.keywords}


def names_read(config: type, package: str, env: Mapping[str, str]) -> tuple[set[str], object, ServerSettings]:
    """Every variable the service and its gunicorn read, from an empty env (every default branch) and the pod's."""
    read: set[str] = set()
    for values in ({}, env):
        service_env, server_env = Recording(values), Recording(values)
        parsed = config.from_env(service_env)
        settings = ServerSettings.from_env(env=server_env, **gunicorn_defaults(package))
        read |= service_env.read | server_env.read
    return read, parsed, settings


def image_uid(package: str) -> int:
    return int(re.search(r"useradd [^\n]*--uid (\d+)", (REPO / package / "Dockerfile").read_text()).group(1))
