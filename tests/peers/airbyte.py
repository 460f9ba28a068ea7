"""A third-party sync tool from PyPI, unmodified, in its own virtual environment under a
cache dir, and driven through the Airbyte protocol (spec/discover/read on the command line,
JSON messages on stdout). Used by the peer tests and by the side-by-side bench figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "crm-connector-peers"


class Unreachable(Exception):
    """PyPI could not be reached to install the peer (the test skips, saying so)."""


def installed(package: str, version: str, command: str) -> Path:
    """The peer's entry point, installing `package==version` on first use."""
    folder = CACHE / f"{package}-{version}"
    entry = folder / "bin" / command
    if entry.exists():
        return entry
    venv.create(folder, with_pip=True, clear=True)
    pip = [
        str(folder / "bin" / "pip"),
        "install",
        "-q",
        "--disable-pip-version-check",
        f"{package}=={version}",
    ]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        text = done.stderr + done.stdout
        if any(
            s in text for s in ("No matching distribution", "Could not find a version", "NewConnectionError")
        ):
            raise Unreachable(f"pip could not fetch {package}=={version}: {text.strip().splitlines()[-1]}")
        raise RuntimeError(f"installing {package}=={version} failed:\n{text}")
    return entry


@dataclass
class Read:
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # stream → its last STATE message
    logs: list[str] = field(default_factory=list)

    def ids(self, stream: str) -> list[Any]:
        return [r["id"] for r in self.records.get(stream, [])]


def run(entry: Path, folder: Path, verb: str, env: dict[str, str], **files: Any) -> Read:
    """`<entry> <verb> --config … [--catalog …] [--state …]`; exits 0 or raises with its log."""
    args = [str(entry), verb]
    for name, value in files.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(value))
        args += [f"--{name}", str(path)]
    done = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, **env}, timeout=1800, check=False
    )
    out = Read()
    for line in done.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        kind = message.get("type")
        if kind == "RECORD":
            out.records[message["record"]["stream"]].append(message["record"]["data"])
        elif kind == "STATE" and message["state"].get("type") == "STREAM":
            name = message["state"]["stream"]["stream_descriptor"]["name"]
            out.states[name] = message["state"]
        elif kind in ("LOG", "TRACE", "CATALOG", "SPEC", "CONNECTION_STATUS"):
            out.logs.append(line)
    if done.returncode != 0:
        raise RuntimeError(
            f"{entry.name} {verb} exited {done.returncode}:\n{done.stderr[-4000:]}\n"
            + "\n".join(out.logs[-20:])
        )
    return out


def catalog(discovered: Read, streams: list[str]) -> dict[str, Any]:
    """Those streams configured incrementally where they can be, fully otherwise."""
    found = {}
    for line in discovered.logs:
        message = json.loads(line)
        if message["type"] == "CATALOG":
            found = {s["name"]: s for s in message["catalog"]["streams"]}
    missing = set(streams) - set(found)
    if missing:
        raise RuntimeError(f"the peer does not offer {sorted(missing)}")
    configured = []
    for name in streams:
        stream = found[name]
        incremental = "incremental" in stream["supported_sync_modes"]
        configured.append(
            {
                "stream": stream,
                "sync_mode": "incremental" if incremental else "full_refresh",
                "destination_sync_mode": "append" if incremental else "overwrite",
                **({"cursor_field": stream.get("default_cursor_field", [])} if incremental else {}),
            }
        )
    return {"streams": configured}


def trust(entry: Path, ca_pem: str) -> None:
    """Make the peer's own venv trust `ca_pem`, as installing a CA in a machine's trust store
    would: its requests reads certifi's bundle and, through Session.send, no
    REQUESTS_CA_BUNDLE. The bundle is certifi's original plus this CA, rebuilt each time."""
    found = list((entry.parent.parent / "lib").glob("python3*/site-packages/certifi/cacert.pem"))
    if not found:
        raise RuntimeError(f"no certifi bundle in {entry.parent.parent}")
    bundle = found[0]
    original = bundle.with_suffix(".pem.orig")
    if not original.exists():
        original.write_bytes(bundle.read_bytes())
    bundle.write_text(original.read_text() + "\n# crm-connector sandbox CA (this run)\n" + ca_pem)


def carried_state(read: Read, configured: dict[str, Any]) -> list[dict[str, Any]]:
    """The state the Airbyte platform hands the next sync: that of the incremental streams
    only (a full-refresh stream's `__ab_full_refresh_sync_complete` is dropped, so it reads again)."""
    incremental = {s["stream"]["name"] for s in configured["streams"] if s["sync_mode"] == "incremental"}
    return [state for name, state in read.states.items() if name in incremental]


def python_fits(low: tuple[int, int], high: tuple[int, int]) -> bool:
    return low <= sys.version_info[:2] < high


def installed_or_skip(package: str, version: str, command: str, python: tuple[tuple[int, int], ...]) -> Path:
    """The peer's entry point for a test: skipped, saying why, where this Python is outside
    `python` = (lowest, first too new) or PyPI cannot be reached."""
    import pytest  # here, so the benches that share this module need no pytest

    low, high = python
    if not python_fits(low, high):
        pytest.skip(f"{package} {version} requires Python >={low[0]}.{low[1]},<{high[0]}.{high[1]}")
    try:
        return installed(package, version, command)
    except Unreachable as exc:
        pytest.skip(str(exc))
