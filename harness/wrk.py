"""Drive wrk (Debian package) and read its report."""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
import uuid
from dataclasses import asdict, dataclass
from typing import Any

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}

POST_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
"""
# Each request a new customerid: a per-thread prefix (set from the main Lua state, where the counter
# is shared) plus a per-thread counter.
UNIQUE_CUSTOMER_SCRIPT = """
local threads_made = 0
local run_id = {run_id}
function setup(thread)
  threads_made = threads_made + 1
  thread:set("prefix", run_id .. "-" .. threads_made)
end
local counter = 0
function request()
  counter = counter + 1
  local body = string.format({template}, prefix .. "-" .. counter)
  return wrk.format("POST", nil, {headers}, body)
end
"""


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for our ASCII bodies


def _latency(output: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")


def parse(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket:
        errors += sum(int(g) for g in socket.groups())
    return WrkResult(float(rps.group(1)) if rps else 0.0, _latency(output, "50"), _latency(output, "99"), errors)


# wrk calls delay() before each request of a connection: a steady, bounded load instead of "as fast as it goes".
PAUSE_SCRIPT = """
function delay()
  return {pause_ms}
end
"""


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}"


def run(url: str, connections: int, seconds: float, body: str | None = None, unique_template: str | None = None,
        pause_ms: int = 0, headers: dict[str, str] | None = None) -> WrkResult:
    """POST `body` (or a per-request unique customer built from `unique_template`) for `seconds`, as JSON with
    `headers` besides (an Authorization, say); with `pause_ms`, each connection waits that long between its requests."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if unique_template is not None:
        script = UNIQUE_CUSTOMER_SCRIPT.format(template=_lua_string(unique_template), headers=_lua_table(sent),
                                               run_id=_lua_string(uuid.uuid4().hex[:8]))
    else:
        script = POST_SCRIPT.format(body=_lua_string(body or "{}"))
        script += "".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}\n" for k, v in sent.items())
    if pause_ms:
        script += PAUSE_SCRIPT.format(pause_ms=int(pause_ms))
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        threads = max(1, min(2, connections))
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s",
             "-s", lua.name, url],
            capture_output=True, text=True, timeout=seconds + 60,
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {(done.stderr or done.stdout).strip()[:500]}")
    return parse(done.stdout)
