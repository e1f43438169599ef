"""The Helm chart's checks (charts/legate), run by tests/e2e/chart.rs, one check per call:

    target/python-tools/bin/python tests/chart/check.py <check>

  lint        `helm lint --strict` passes with the defaults and every values file
  render      every rendering succeeds, and `helm install --dry-run` agrees with it
  schema      each file of tests/chart/invalid fails `helm template` and `helm install` (and,
              for a schema error, `helm lint`) with the message its `# expect:` line gives
  kubernetes  every rendered object passes Kubernetes' schemas, strictly
  checkov     checkov's Kubernetes checks pass, but for the README's documented skips
  legate      the rendered legate.yaml passes `legate validate` with the files its pod mounts,
              and the control plane serves it
  alerts      the PrometheusRule holds examples/observability's alert rules, from one file
  versions    the chart's version and appVersion are the workspace's

Each finding is printed on a line of its own; the exit status is 1 when there is one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# The modules beside this file, without leaving compiled copies in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import helm_python as helm  # noqa: E402
import yaml  # noqa: E402

import kubernetes_schemas  # noqa: E402
import legate_config  # noqa: E402
import rendering  # noqa: E402
import security_scan  # noqa: E402
from rendering import CHART, INVALID_VALUES, ROOT, Case  # noqa: E402

# Findings are reported here, not in the library's own log lines.
helm.disable_logging()


class Report:
    def __init__(self):
        self.failures = 0

    def ok(self, what: str):
        print(f"ok   {what}")

    def fail(self, what: str, detail: str = ""):
        self.failures += 1
        print(f"FAIL {what}" + (f": {detail}" if detail else ""))


def rendered_cases(report: Report) -> dict[str, list]:
    renderings = {}
    for case in rendering.cases():
        try:
            renderings[case.name] = rendering.render(case)
        except helm.HelmError as error:
            report.fail(f"{case.name}: renders", str(error).strip())
    return renderings


def check_lint(report: Report):
    for case in rendering.cases():
        result = rendering.lint(case)
        problems = [m for m in result["messages"] if m["severity"] >= 2] + [{"error": e} for e in result["errors"]]
        if problems:
            report.fail(f"{case.name}: helm lint --strict", "; ".join(p["error"].strip() for p in problems))
        else:
            report.ok(f"{case.name}: helm lint --strict")


def check_render(report: Report):
    for case in rendering.cases():
        try:
            manifests = rendering.render(case)
            installed = rendering.install_dry_run(case)
        except helm.HelmError as error:
            report.fail(f"{case.name}: renders", str(error).strip())
            continue
        kinds = sorted({m.kind for m in manifests})
        installed_objects = sum(1 for doc in yaml.safe_load_all(installed) if doc)
        if installed_objects != len(manifests):
            report.fail(f"{case.name}: install --dry-run", f"{installed_objects} objects, template has {len(manifests)}")
        else:
            report.ok(f"{case.name}: {len(manifests)} objects ({', '.join(kinds)})")


def check_schema(report: Report):
    for path in sorted(INVALID_VALUES.glob("*.yaml")):
        expected = re.findall(r"^# expect: (.+)$", path.read_text(), re.MULTILINE)
        case = Case(f"tests/chart/invalid/{path.name}", CHART, rendering.load_values(path))
        for action, attempt in (("helm template", rendering.render), ("helm install", rendering.install_dry_run)):
            try:
                attempt(case)
            except helm.HelmError as error:
                message = str(error)
                missing = [text for text in expected if text not in message]
                if missing:
                    report.fail(f"{case.name}: {action} fails saying {missing[0]!r}", f"it says {message.strip()!r}")
                else:
                    report.ok(f"{case.name}: {action} fails: {expected[0]}")
            else:
                report.fail(f"{case.name}: {action} fails", "it succeeded")
        # Lint checks values against the schema; a template's `fail` is only logged when linting.
        if not all(text.startswith("at '") for text in expected):
            continue
        findings = " ".join(m["error"] for m in rendering.lint(case)["messages"] if m["severity"] >= 3)
        missing = [text for text in expected if text not in findings]
        if missing:
            report.fail(f"{case.name}: helm lint reports {missing[0]!r}", f"it reports {findings.strip()!r}")
        else:
            report.ok(f"{case.name}: helm lint reports it")


def check_kubernetes(report: Report):
    for name, manifests in rendered_cases(report).items():
        bad = 0
        for manifest in manifests:
            for problem in kubernetes_schemas.problems(manifest):
                bad += 1
                report.fail(f"{name}: {manifest}", problem)
        if not bad:
            versions = " and ".join(kubernetes_schemas.VERSIONS)
            report.ok(f"{name}: {len(manifests)} objects valid for Kubernetes {versions} (strict)")


def check_checkov(report: Report):
    renderings = rendered_cases(report)
    skips = security_scan.documented_skips()
    found = security_scan.failures(security_scan.write(renderings))
    failing = {f["id"] for f in found}
    for failure in found:
        if failure["id"] not in skips:
            report.fail(f"checkov {failure['id']} ({failure['name']})", f"{failure['resource']} in {failure['case']}")
    for check_id, reason in sorted(skips.items()):
        if check_id in failing:
            report.ok(f"checkov {check_id} skipped as the README says: {reason}")
        else:
            report.fail(f"checkov {check_id} is skipped in the README", "no rendering fails it any more")
    if not any(f["id"] not in skips for f in found):
        report.ok(f"checkov: {len(renderings)} renderings pass every other Kubernetes check")


def check_legate(report: Report):
    for name, manifests in rendered_cases(report).items():
        container, _ = legate_config.proxy_pod(manifests)
        if container is None:
            # A sidecar rendering alone has no pod; the IM server example renders it in one.
            report.ok(f"{name}: no proxy pod here (checked with the IM server example)")
            continue
        problems = legate_config.validate(manifests)
        if any(m.kind == "Deployment" and m.name.endswith("control-plane") for m in manifests):
            problems += legate_config.control_plane_accepts(manifests)
            what = "legate validate passes, and the control plane serves it"
        else:
            what = "legate validate passes"
        for problem in problems:
            report.fail(f"{name}: legate.yaml", problem)
        if not problems:
            report.ok(f"{name}: {what}")


def check_alerts(report: Report):
    source = CHART / "files" / "alerts.yml"
    example = ROOT / "examples" / "observability" / "alerts.yml"
    if example.resolve() == source.resolve():
        report.ok("examples/observability/alerts.yml is the chart's files/alerts.yml")
    else:
        report.fail("examples/observability/alerts.yml is the chart's files/alerts.yml", f"it is {example.resolve()}")
    groups = yaml.safe_load(source.read_text())["groups"]
    rules = [m for ms in rendered_cases(report).values() for m in ms if m.kind == "PrometheusRule"]
    if not rules:
        report.fail("a rendering has a PrometheusRule")
    for rule in rules:
        if rule.doc["spec"]["groups"] == groups:
            report.ok(f"{rule}: the {sum(len(g['rules']) for g in groups)} alert rules of files/alerts.yml")
        else:
            report.fail(f"{rule}: the alert rules of files/alerts.yml", "they differ")


def check_versions(report: Report):
    cargo = (ROOT / "Cargo.toml").read_text()
    workspace = re.search(r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"', cargo, re.MULTILINE | re.DOTALL)
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    version = workspace.group(1) if workspace else None
    for field in ("version", "appVersion"):
        if str(chart[field]) == version:
            report.ok(f"Chart.yaml {field} is the workspace's version {version}")
        else:
            report.fail(f"Chart.yaml {field} is the workspace's version", f"{chart[field]} != {version}")
    example = yaml.safe_load((rendering.SIDECAR_CHART / "Chart.yaml").read_text())
    wanted = [d["version"] for d in example["dependencies"] if d["name"] == "legate"]
    if wanted == [chart["version"]]:
        report.ok("examples/helm/im-server depends on this chart's version")
    else:
        report.fail("examples/helm/im-server depends on this chart's version", f"{wanted}")


CHECKS = {
    "lint": check_lint,
    "render": check_render,
    "schema": check_schema,
    "kubernetes": check_kubernetes,
    "checkov": check_checkov,
    "legate": check_legate,
    "alerts": check_alerts,
    "versions": check_versions,
}


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in CHECKS]
    if unknown or not names:
        print(f"usage: check.py <{'|'.join(CHECKS)}>...", file=sys.stderr)
        return 2
    report = Report()
    for name in names:
        CHECKS[name](report)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
