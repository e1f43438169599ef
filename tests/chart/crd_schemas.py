"""Schemas for the objects of CRDs the chart can render, which kubernetes-validate does not know:
cert-manager's Certificate and prometheus-operator's ServiceMonitor, PodMonitor and
PrometheusRule. Written from those projects' API references, they cover the fields those APIs
define that the chart has a use for, and are closed like the strict Kubernetes schemas: a field
the chart writes that is not one of these (a typo, a field of another version) is an error.
"""

from __future__ import annotations


def closed(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
STRING_MAP = {"type": "object", "additionalProperties": STRING}
DURATION = {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w|y))+$"}

METADATA = closed(
    {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253},
        "namespace": STRING,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
    ["name"],
)

LABEL_SELECTOR = closed(
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": closed({"key": STRING, "operator": STRING, "values": STRINGS}, ["key", "operator"]),
        },
    }
)

SECRET_KEY = closed({"name": STRING, "key": STRING, "optional": {"type": "boolean"}}, ["key"])

# The scrape settings ServiceMonitor endpoints and PodMonitor podMetricsEndpoints share.
SCRAPE = {
    "port": STRING,
    "path": STRING,
    "scheme": {"enum": ["http", "https"]},
    "interval": DURATION,
    "scrapeTimeout": DURATION,
    "authorization": closed({"type": STRING, "credentials": SECRET_KEY}),
    "honorLabels": {"type": "boolean"},
    "relabelings": {"type": "array", "items": {"type": "object"}},
    "metricRelabelings": {"type": "array", "items": {"type": "object"}},
}

NAMESPACE_SELECTOR = closed({"any": {"type": "boolean"}, "matchNames": STRINGS})

RULE = closed(
    {
        "alert": STRING,
        "record": STRING,
        "expr": {"type": ["string", "integer"]},
        "for": DURATION,
        "keep_firing_for": DURATION,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
    ["expr"],
)


def kind(api_version: str, name: str, spec: dict) -> dict:
    return closed(
        {"apiVersion": {"const": api_version}, "kind": {"const": name}, "metadata": METADATA, "spec": spec},
        ["apiVersion", "kind", "metadata", "spec"],
    )


CRD_SCHEMAS = {
    ("cert-manager.io/v1", "Certificate"): kind(
        "cert-manager.io/v1",
        "Certificate",
        closed(
            {
                "secretName": STRING,
                "commonName": STRING,
                "dnsNames": STRINGS,
                "ipAddresses": STRINGS,
                "duration": DURATION,
                "renewBefore": DURATION,
                "usages": {
                    "type": "array",
                    "items": {
                        "enum": [
                            "signing", "digital signature", "content commitment", "key encipherment",
                            "key agreement", "data encipherment", "cert sign", "crl sign",
                            "encipher only", "decipher only", "any", "server auth", "client auth",
                            "code signing", "email protection", "s/mime", "ipsec end system",
                            "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
                            "microsoft sgc", "netscape sgc",
                        ]
                    },
                },
                "isCA": {"type": "boolean"},
                "privateKey": closed(
                    {"algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]}, "size": {"type": "integer"},
                     "rotationPolicy": {"enum": ["Never", "Always"]}}
                ),
                "issuerRef": closed({"name": STRING, "kind": STRING, "group": STRING}, ["name"]),
            },
            ["secretName", "issuerRef"],
        ),
    ),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): kind(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        closed(
            {
                "selector": LABEL_SELECTOR,
                "namespaceSelector": NAMESPACE_SELECTOR,
                "jobLabel": STRING,
                "endpoints": {"type": "array", "items": closed(SCRAPE)},
            },
            ["selector", "endpoints"],
        ),
    ),
    ("monitoring.coreos.com/v1", "PodMonitor"): kind(
        "monitoring.coreos.com/v1",
        "PodMonitor",
        closed(
            {
                "selector": LABEL_SELECTOR,
                "namespaceSelector": NAMESPACE_SELECTOR,
                "jobLabel": STRING,
                "podMetricsEndpoints": {"type": "array", "items": closed(SCRAPE)},
            },
            ["selector", "podMetricsEndpoints"],
        ),
    ),
    ("monitoring.coreos.com/v1", "PrometheusRule"): kind(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        closed(
            {
                "groups": {
                    "type": "array",
                    "items": closed(
                        {"name": STRING, "interval": DURATION, "rules": {"type": "array", "items": RULE}},
                        ["name", "rules"],
                    ),
                }
            },
            ["groups"],
        ),
    ),
}
