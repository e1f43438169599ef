"""The chart's rendering in the form podman 4.3's `kube play` runs, for tests/e2e/kube_play.rs:

    target/python-tools/bin/python tests/chart/kube_play.py OUT_DIR VALUES.yaml...

renders charts/legate with the values files, merged in order as `helm template -f A -f B`
merges them, and writes

  OUT_DIR/manifests.yaml   every object of the rendering but the Secrets, for `kube play`
  OUT_DIR/secrets/NAME     each Secret, for `podman secret create NAME FILE` beforehand
  OUT_DIR/secrets/NAME.d/KEY  each Secret's values as files, for clients the test runs
  OUT_DIR/control-plane.yaml  the control plane's Deployment with the ConfigMaps it mounts,
                           to play again after a values change

Where this differs from the rendering, podman 4.3.1 needs it:

- Secrets: kube play writes the values of a Secret from the YAML into its volumes still
  base64-encoded. A podman secret holding the Secret with its values decoded is read as is.
- containerPorts are dropped: kube play publishes each one on the host, which host networking
  refuses ("PortMappings can only be used with Bridge or slirp4netns networking"). On the
  host's network every port the pod listens on is reachable anyway.
- `$(POD_NAME)` in a container's arguments becomes the pod's name (`<Deployment>-pod-0`):
  kube play does not expand the kubelet's variable references.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

# The modules beside this file, without leaving compiled copies in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import helm_python as helm  # noqa: E402
import yaml  # noqa: E402

import rendering  # noqa: E402

helm.disable_logging()


def merged(base: dict, over: dict) -> dict:
    """`over` on top of `base`: maps merge, anything else replaces, as Helm merges values files."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def for_kube_play(doc: dict) -> dict:
    if doc.get("kind") in ("Deployment", "DaemonSet"):
        pod_name = f"{doc['metadata']['name']}-pod-0"
        for container in doc["spec"]["template"]["spec"]["containers"]:
            container.pop("ports", None)
            container["args"] = [arg.replace("$(POD_NAME)", pod_name) for arg in container.get("args", [])]
    return doc


def decoded_secret(doc: dict) -> dict:
    data = {key: base64.b64decode(value).decode() for key, value in (doc.get("data") or {}).items()}
    data.update(doc.get("stringData") or {})
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": doc["metadata"]["name"]}, "data": data}


def main(out_dir: Path, values_files: list[Path]) -> int:
    values: dict = {}
    for path in values_files:
        values = merged(values, rendering.load_values(path))
    manifests = rendering.render(rendering.Case("kube play", rendering.CHART, values))
    secrets = out_dir / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    played = []
    for manifest in manifests:
        if manifest.kind == "Secret":
            decoded = decoded_secret(manifest.doc)
            (secrets / manifest.name).write_text(yaml.safe_dump(decoded))
            files = secrets / f"{manifest.name}.d"
            files.mkdir(exist_ok=True)
            for key, value in decoded["data"].items():
                (files / key).write_text(value)
        else:
            played.append(for_kube_play(manifest.doc))
    (out_dir / "manifests.yaml").write_text(yaml.safe_dump_all(played))
    control_plane = [doc for doc in played if doc["kind"] == "ConfigMap"
                     or (doc["kind"] == "Deployment" and doc["metadata"]["name"].endswith("-control-plane"))]
    (out_dir / "control-plane.yaml").write_text(yaml.safe_dump_all(control_plane))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), [Path(arg) for arg in sys.argv[2:]]))
