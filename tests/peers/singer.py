"""A Singer tap from PyPI, unmodified, driven through the Singer protocol: `--discover`
prints a catalog, `--config … --catalog … [--state …]` prints SCHEMA / RECORD / STATE lines.
Installing it and trusting the sandbox's CA are shared with the Airbyte peers (airbyte.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Read:
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    state: dict[str, Any] = field(default_factory=dict)  # the last STATE message's value
    log: str = ""

    def ids(self, stream: str) -> list[Any]:
        return [r["id"] for r in self.records.get(stream, [])]


def _run(
    entry: Path, folder: Path, env: dict[str, str], flags: list[str], **files: Any
) -> subprocess.CompletedProcess[str]:
    args = [str(entry), *flags]
    for name, value in files.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(value))
        args += [f"--{name}", str(path)]
    done = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, **env}, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{entry.name} {' '.join(flags)} exited {done.returncode}:\n{done.stderr[-6000:]}")
    return done


def discover(entry: Path, folder: Path, env: dict[str, str], config: dict[str, Any]) -> dict[str, Any]:
    catalog: dict[str, Any] = json.loads(_run(entry, folder, env, ["--discover"], config=config).stdout)
    return catalog


def select(catalog: dict[str, Any], streams: list[str]) -> dict[str, Any]:
    """The catalog with exactly `streams` selected, every field of each (metadata `selected: true`)."""
    found = {s["tap_stream_id"]: s for s in catalog["streams"]}
    missing = set(streams) - set(found)
    if missing:
        raise RuntimeError(f"the tap does not offer {sorted(missing)}")
    chosen = []
    for name in streams:
        entry = json.loads(json.dumps(found[name]))
        for item in entry["metadata"]:
            if item["metadata"].get("inclusion") != "unsupported":
                item["metadata"]["selected"] = True
        chosen.append(entry)
    return {"streams": chosen}


def sync(
    entry: Path, folder: Path, env: dict[str, str], config: dict[str, Any], catalog: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> Read:  # fmt: skip
    files: dict[str, Any] = {"config": config, "catalog": catalog}
    if state is not None:
        files["state"] = state
    done = _run(entry, folder, env, [], **files)
    out = Read(log=done.stderr)
    for line in done.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("type") == "RECORD":
            out.records[message["stream"]].append(message["record"])
        elif message.get("type") == "STATE":
            out.state = message["value"]
    return out
