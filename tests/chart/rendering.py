"""The renderings every chart check looks at: the chart with its defaults, with each values
example of examples/helm/ and each test values file of tests/chart/values/, and the sidecar
example chart (examples/helm/im-server) with examples/helm/sidecar.yaml as its `legate:` values.

Rendering goes through Helm's own library (the same engine as `helm template`), offline.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "legate"
EXAMPLES = ROOT / "examples" / "helm"
TEST_VALUES = Path(__file__).resolve().parent / "values"
INVALID_VALUES = Path(__file__).resolve().parent / "invalid"
SIDECAR_CHART = EXAMPLES / "im-server"

RELEASE = "legate"
NAMESPACE = "legate"


@dataclass
class Case:
    """One rendering: a chart directory and the values given to it."""

    name: str
    chart: Path
    values: dict = field(default_factory=dict)
    release: str = RELEASE


def load_values(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def sidecar_chart() -> Path:
    """The example IM server chart with this chart as its dependency, as `helm dependency build`
    would lay it out (in a temporary folder: the examples stay as they are)."""
    folder = Path(tempfile.mkdtemp(prefix="legate-chart-"))
    chart = folder / "im-server"
    shutil.copytree(SIDECAR_CHART, chart)
    shutil.copytree(CHART, chart / "charts" / "legate")
    return chart


def cases() -> list[Case]:
    found = [Case("defaults", CHART)]
    for path in sorted(EXAMPLES.glob("*.yaml")):
        found.append(Case(f"examples/helm/{path.name}", CHART, load_values(path)))
    for path in sorted(TEST_VALUES.glob("*.yaml")):
        found.append(Case(f"tests/chart/values/{path.name}", CHART, load_values(path)))
    sidecar = load_values(EXAMPLES / "sidecar.yaml")
    found.append(Case("examples/helm/im-server + sidecar.yaml", sidecar_chart(), {"legate": sidecar}, "chat"))
    # The same sidecars following a control plane, monitored by a PodMonitor.
    followed = dict(sidecar, controlPlane={"enabled": True, "replicas": 1},
                    metrics={"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}})
    found.append(Case("examples/helm/im-server + sidecar.yaml + control plane", sidecar_chart(),
                      {"legate": followed}, "chat"))
    return found


@dataclass
class Manifest:
    """One Kubernetes object of a rendering, with the template it came from."""

    source: str
    doc: dict

    @property
    def kind(self) -> str:
        return self.doc.get("kind", "")

    @property
    def name(self) -> str:
        return self.doc.get("metadata", {}).get("name", "")

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} ({self.source})"


def render(case: Case) -> list[Manifest]:
    """The case's manifests, as `helm template` prints them (NOTES.txt left out)."""
    with helm.Chart.load(case.chart) as chart:
        rendered = chart.render(case.values, name=case.release, namespace=NAMESPACE, is_install=True)
    manifests = []
    for source, text in sorted(rendered.items()):
        if source.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                manifests.append(Manifest(source, doc))
    return manifests


def install_dry_run(case: Case) -> str:
    """`helm install --dry-run=client`: what the manifest would be; raises as install does."""
    with helm.Config(storage_driver="memory", namespace=NAMESPACE) as config:
        release = config.install(str(case.chart), case.release, case.values, dry_run="client")
    return release.get("manifest", "")


def lint(case: Case) -> dict:
    """`helm lint --strict` of the case's chart with its values."""
    return helm.lint(case.chart, case.values, strict=True, namespace=NAMESPACE, kube_version="v1.30.0")
