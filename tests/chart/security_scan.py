"""checkov's Kubernetes checks over every rendering. The checks the chart skips are the ones in
the table of the chart README's "Security scan" section, each with its reason: the scan runs
without skips, and every failure must be a documented skip, and every documented skip must
still fail somewhere (a skip nothing needs any more is taken out of the README).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from rendering import CHART

CHECK_ID = re.compile(r"\bCKV2?_K8S_[0-9]+\b")


def documented_skips() -> dict[str, str]:
    """Check id -> reason, from the README's "Security scan" table."""
    readme = (CHART / "README.md").read_text()
    section = readme.split("## Security scan", 1)[1].split("\n## ", 1)[0]
    skips = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and CHECK_ID.fullmatch(cells[0].strip("`")):
            skips[cells[0].strip("`")] = cells[-1]
    return skips


def write(renderings: dict[str, list]) -> dict[str, Path]:
    """Each rendering in a folder of its own, one file per object."""
    root = Path(tempfile.mkdtemp(prefix="legate-checkov-"))
    folders = {}
    for index, (name, manifests) in enumerate(renderings.items()):
        folder = root / f"case{index}"
        folder.mkdir()
        for number, manifest in enumerate(manifests):
            text = yaml.safe_dump(manifest.doc, sort_keys=False)
            (folder / f"{number:03}-{manifest.kind.lower()}.yaml").write_text(text)
        folders[name] = folder
    return folders


def failures(folders: dict[str, Path]) -> list[dict]:
    """checkov's failed Kubernetes checks: id, name, resource, rendering. Each rendering is
    scanned alone (its graph checks would otherwise pair one rendering's pods with another's
    network policies), the scans side by side."""
    checkov = Path(sys.executable).parent / "checkov"
    environment = dict(os.environ, BC_SKIP_MAPPING="TRUE")

    def scan(folder: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(checkov), "--directory", str(folder), "--framework", "kubernetes", "--skip-download",
             "--output", "json", "--quiet", "--compact"],
            capture_output=True, text=True, env=environment, check=False,
        )

    # Two at a time: the scans are CPU-bound, and the machine is shared with builds.
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(folders, pool.map(scan, folders.values())))
    found = []
    for name, run in runs.items():
        if run.returncode not in (0, 1) or not run.stdout.strip():
            raise RuntimeError(f"checkov did not run on {name} (exit {run.returncode}): {run.stderr.strip()[-2000:]}")
        reports = json.loads(run.stdout)
        for report in reports if isinstance(reports, list) else [reports]:
            for failed in report.get("results", {}).get("failed_checks", []):
                found.append({"id": failed["check_id"], "name": failed["check_name"],
                              "resource": failed["resource"], "case": name})
    return found
