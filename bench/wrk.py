"""Drive ``wrk`` with pre-signed request bodies and read its figures back as JSON.

The Lua script gives each wrk thread its own slice of the request file and stops a
thread when its slice is used up, so the help line never sees the same message id
twice (a redelivery would be answered from the duplicate shortcut and flatter it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = r"""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  local path, route, header, ctype = args[1], args[2], args[3], args[4]
  local nthreads = tonumber(args[5])
  once = args[6] == "once"
  reqs = {}
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    if (n % nthreads) + 1 == tid then
      local tab = string.find(line, "\t", 1, true)
      local headers = {}
      headers["Content-Type"] = ctype
      if header ~= "-" then headers[header] = string.sub(line, 1, tab - 1) end
      table.insert(reqs, wrk.format("POST", route, headers, string.sub(line, tab + 1)))
    end
  end
  sent = 0
  answered = 0
end

function request()
  sent = sent + 1
  local index = ((sent - 1) % #reqs) + 1
  return reqs[index]
end

function response(status, headers, body)
  answered = answered + 1
  if once and answered >= #reqs then wrk.thread:stop() end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    route: str,
    request_file: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
    header: str = "-",
    content_type: str = "application/x-www-form-urlencoded",
    once: bool = True,
) -> LoadResult:
    """Post the file's requests to ``url + route`` for ``seconds``.

    With ``once`` each request is sent at most once (a thread stops when its slice is
    used up); without it the slice repeats, which only a stateless endpoint may see.
    """
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks target loopback only")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    try:
        completed = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
                "--",
                str(request_file),
                route,
                header,
                content_type,
                str(threads),
                "once" if once else "cycle",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(line for line in reversed(completed.stdout.splitlines()) if line.startswith("{"))
    raw = json.loads(line)
    duration = raw["duration_us"] / 1e6
    errors = sum(
        raw[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")
    )
    return LoadResult(
        requests=raw["requests"],
        seconds=round(duration, 2),
        rps=round(raw["requests"] / duration, 1) if duration else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors,
        non_2xx=raw["errors_status"],
    )
