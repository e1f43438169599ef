"""Every rendered object against Kubernetes' own schemas (kubernetes-validate, strict: an
unknown field is an error), for the oldest Kubernetes the chart supports (Chart.yaml's
kubeVersion) and a recent one. Objects of CRDs (cert-manager, prometheus-operator), which
kubernetes-validate has no schema for, are checked against crd_schemas.py.
"""

from __future__ import annotations

import jsonschema
import kubernetes_validate

from crd_schemas import CRD_SCHEMAS

VERSIONS = ["1.30", "1.36"]


def problems(manifest) -> list[str]:
    """What is wrong with one object, empty when it is valid everywhere."""
    key = (manifest.doc.get("apiVersion"), manifest.kind)
    if key in CRD_SCHEMAS:
        validator = jsonschema.Draft202012Validator(CRD_SCHEMAS[key])
        return [
            f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
            for error in validator.iter_errors(manifest.doc)
        ]
    found = []
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(manifest.doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            found.append(f"Kubernetes {version}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            found.append(f"Kubernetes {version}: {error.message}")
    return found
