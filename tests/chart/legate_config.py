"""The rendered legate.yaml checked by Legate itself, as the pods would see it.

The proxy's files are laid out the way the kubelet would mount them: every volume of the legate
container is written under a temporary root at its mount path, from the Secrets and ConfigMaps
of the same rendering (so a path in legate.yaml that no volume provides, or a key a volume asks
of a rendered Secret that it does not hold, shows up), and from throwaway material for the
Secrets and ConfigMaps the platform team would create (a CA, a certificate and key it signed,
tokens, a PostgreSQL URL). Then `legate validate` runs on legate.yaml with its paths moved under
that root. The control plane's pod is laid out the same way, and the control plane must accept it.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import socket
import ssl
import string
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from rendering import ROOT


def binary(variable: str, default: str) -> Path:
    return Path(os.environ.get(variable) or ROOT / default)


LEGATE = binary("LEGATE_BIN", "target/debug/legate")
CONTROL_PLANE = binary("LEGATE_CONTROL_PLANE_BIN", "target/debug/legate-control-plane")


class Throwaway:
    """Certificates and secrets standing in for those the platform team creates."""

    # The name the throwaway certificate is issued to.
    NAME = "throwaway.example"

    def __init__(self, folder: Path):
        self.folder = folder
        ca_key, ca, key, certificate = (folder / name for name in ("ca.key", "ca.pem", "tls.key", "tls.crt"))
        openssl = ["openssl"]
        subprocess.run(openssl + ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                  "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=throwaway CA",
                                  "-addext", "basicConstraints=critical,CA:TRUE",
                                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                       check=True, capture_output=True)
        request = folder / "tls.csr"
        subprocess.run(openssl + ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                  "-keyout", key, "-out", request, "-subj", "/CN=throwaway"],
                       check=True, capture_output=True)
        extensions = folder / "leaf.ext"
        extensions.write_text(f"subjectAltName=DNS:{self.NAME}\n"
                              "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n")
        subprocess.run(openssl + ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                                  "-out", certificate, "-days", "2", "-extfile", extensions],
                       check=True, capture_output=True)

    def file(self, name: str) -> bytes:
        """What a file of this name holds: the chart names every file it mounts."""
        if name in ("ca.pem", "ca.crt"):
            return (self.folder / "ca.pem").read_bytes()
        if name in ("tls.crt", "tls.key"):
            return (self.folder / name).read_bytes()
        if name == "url":
            return b"postgres://legate:throwaway@127.0.0.1:5432/legate"
        alphabet = string.ascii_letters + string.digits
        return "".join(secrets.choice(alphabet) for _ in range(32)).encode()


def objects(manifests, kind: str) -> dict[str, dict]:
    return {m.name: m.doc for m in manifests if m.kind == kind}


def object_data(doc: dict) -> dict[str, bytes]:
    data = {key: value.encode() for key, value in (doc.get("stringData") or {}).items()}
    if doc.get("kind") == "Secret":
        data.update({key: base64.b64decode(value) for key, value in (doc.get("data") or {}).items()})
    else:
        data.update({key: value.encode() for key, value in (doc.get("data") or {}).items()})
    return data


def pod_container(manifests, container_name: str):
    """A container of the rendering's workloads, and its pod's volumes by name."""
    for manifest in manifests:
        if manifest.kind in ("Deployment", "DaemonSet"):
            pod = manifest.doc["spec"]["template"]["spec"]
            for container in pod["containers"]:
                if container["name"] == container_name:
                    return container, {volume["name"]: volume for volume in pod.get("volumes", [])}
    return None, {}


def proxy_pod(manifests):
    return pod_container(manifests, "legate")


def config_text(manifests) -> str | None:
    for doc in objects(manifests, "ConfigMap").values():
        if "legate.yaml" in (doc.get("data") or {}):
            return doc["data"]["legate.yaml"]
    return None


def mount(manifests, container_name: str, root: Path, throwaway: Throwaway) -> list[str]:
    """Writes a container's volumes under `root`; returns what does not fit together."""
    container, volumes = pod_container(manifests, container_name)
    config_maps, secret_objects = objects(manifests, "ConfigMap"), objects(manifests, "Secret")
    problems = []
    for volume_mount in container.get("volumeMounts", []):
        volume = volumes.get(volume_mount["name"])
        target = root / volume_mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        if volume is None:
            problems.append(f"mount {volume_mount['name']} has no volume")
            continue
        if "configMap" in volume:
            source_name, rendered = volume["configMap"]["name"], config_maps
            items = volume["configMap"].get("items")
        elif "secret" in volume:
            source_name, rendered = volume["secret"]["secretName"], secret_objects
            items = volume["secret"].get("items")
        else:
            continue
        data = object_data(rendered[source_name]) if source_name in rendered else None
        if items is None:
            items = [{"key": key, "path": key} for key in (data or {})]
        for item in items:
            if data is None:
                content = throwaway.file(item["path"])
            elif item["key"] in data:
                content = data[item["key"]]
            else:
                problems.append(f"volume {volume['name']} wants key {item['key']} of {source_name}, which lacks it")
                continue
            (target / item["path"]).write_bytes(content)
    for argument in container.get("args", []):
        if argument.startswith("/etc/legate/") and not (root / argument.lstrip("/")).exists():
            problems.append(f"{container_name}'s argument {argument} is nothing its pod mounts")
    return problems


class Pod:
    """One container of the rendering, its volumes written under a root of its own as the
    kubelet would mount them."""

    def __init__(self, manifests, container_name: str):
        self.root = Path(tempfile.mkdtemp(prefix=f"legate-{container_name}-"))
        self.container, _ = pod_container(manifests, container_name)
        self.problems = mount(manifests, container_name, self.root, throwaway()) if self.container else []

    def moved(self, text: str) -> str:
        """Text (legate.yaml, an argument) with the pod's paths moved under the root."""
        return text.replace("/etc/legate/", f"{self.root}/etc/legate/").replace(
            "/var/lib/legate", f"{self.root}/var/lib/legate")

    def arguments(self) -> list[str]:
        return [self.moved(argument) for argument in self.container.get("args", [])]

    def option(self, name: str) -> str | None:
        arguments = self.arguments()
        return arguments[arguments.index(name) + 1] if name in arguments else None


def validate(manifests) -> list[str]:
    """The proxy's arguments are options `legate run` has, and `legate validate` passes on the
    rendered legate.yaml inside the files the proxy's pod mounts."""
    text = config_text(manifests)
    if text is None:
        return ["no ConfigMap holds legate.yaml"]
    pod = Pod(manifests, "legate")
    if pod.container is None:
        return ["no legate container to mount files for"]
    problems = list(pod.problems)
    usage = subprocess.run([str(LEGATE), "run", "--help"], capture_output=True, text=True, check=False).stdout
    arguments = pod.container.get("args", [])
    if arguments[:1] != ["run"]:
        problems.append(f"the proxy's arguments do not start with `run`: {arguments}")
    for option in (a for a in arguments if a.startswith("--")):
        if not re.search(rf"(^|[ ,]){re.escape(option)}\b", usage, re.MULTILINE):
            problems.append(f"`legate run` has no option {option}")
    config = pod.root / "legate.yaml"
    config.write_text(pod.moved(text))
    run = subprocess.run([str(LEGATE), "validate", str(config)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        problems.append(f"legate validate: {(run.stderr + run.stdout).strip()}")
    return problems


_THROWAWAY: list[Throwaway] = []


def throwaway() -> Throwaway:
    """One set of throwaway material per run."""
    if not _THROWAWAY:
        _THROWAWAY.append(Throwaway(Path(tempfile.mkdtemp(prefix="legate-pem-"))))
    return _THROWAWAY[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def control_plane_accepts(manifests) -> list[str]:
    """The control plane, started with its pod's arguments in the files its pod mounts (the
    ConfigMap as its config folder, its TLS material and token, the files the filter chains
    and directories read), serves the configuration to a client that connects as the proxy's
    arguments say: over TLS verifying the server's name and presenting the client certificate,
    with the token when there is one."""
    server, proxy = Pod(manifests, "control-plane"), Pod(manifests, "legate")
    problems = server.problems + proxy.problems
    config = server.root / "etc" / "legate" / "config" / "legate.yaml"
    if not config.exists():
        return problems + ["the control plane's pod does not mount legate.yaml at /etc/legate/config"]
    config.write_text(server.moved(config.read_text()))
    port = free_port()
    arguments = server.arguments()
    arguments[arguments.index("--listen") + 1] = f"127.0.0.1:{port}"
    process = subprocess.Popen([str(CONTROL_PLANE), *arguments],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    return problems + [f"the control plane did not start: {process.stderr.read()}"]
                time.sleep(0.2)
        url = urllib.parse.urlsplit(proxy.option("--control-plane"))
        headers = {}
        if proxy.option("--control-plane-token-file"):
            headers["Authorization"] = "Bearer " + Path(proxy.option("--control-plane-token-file")).read_text().strip()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
        if url.scheme == "https":
            context = ssl.create_default_context(cafile=proxy.option("--control-plane-ca"))
            context.load_cert_chain(proxy.option("--control-plane-certificate"),
                                    proxy.option("--control-plane-private-key"))
            # The server's name as the proxy checks it: the Service's, unless the certificate is
            # throwaway material standing in for a Secret of the platform team's.
            secret_names = {m.name for m in manifests if m.kind == "Secret"}
            server_secret = next((v["secret"]["secretName"] for v in
                                  pod_container(manifests, "control-plane")[1].values()
                                  if v["name"] == "control-plane-tls"), None)
            name = url.hostname if server_secret in secret_names else Throwaway.NAME
            connection.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=40),
                                                  server_hostname=name)
        # Answered at once when a snapshot was accepted; held (then 204) when none was.
        connection.request("GET", "/v1/snapshot?node=chart-check&version=0", headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status == 200:
            return problems
        connection.close()
        errors = ["no snapshot, and no error given"]
        if url.scheme == "http":
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/errors", timeout=5) as reply:
                errors = json.load(reply).get("errors") or errors
        return problems + [f"the control plane does not serve it (HTTP {answer.status}): {e}" for e in errors]
    except (OSError, ssl.SSLError) as error:
        return problems + [f"connecting as the proxy would: {error}"]
    finally:
        process.terminate()
        process.wait(timeout=10)
