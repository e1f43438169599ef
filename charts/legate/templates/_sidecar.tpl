{{/*
The sidecar API: what an IM server's chart includes to run Legate in its own pods. The IM
server's chart lists this chart as a dependency (set `mode: sidecar` in its `legate:` values)
and passes `.Subcharts.legate`, the dependency's own context, so names, values and the image
are this chart's:

  spec:
    terminationGracePeriodSeconds: {{ include "legate.sidecar.terminationGracePeriodSeconds" .Subcharts.legate }}
    containers:
      - name: im-server
        ...
      {{- include "legate.sidecar.containers" .Subcharts.legate | nindent 6 }}
    volumes:
      {{- include "legate.sidecar.volumes" .Subcharts.legate | nindent 6 }}

with `legate.sidecar.podLabels` among the pod's labels (the control plane's network policy and
the PodMonitor find the proxies by it) and `legate.sidecar.podAnnotations` among its
annotations. Port, volume and probe names carry the prefix `legate-`.
*/}}

{{- define "legate.sidecar.containers" -}}
{{- include "legate.proxy.container" (list . "legate-") -}}
{{- end -}}

{{- define "legate.sidecar.volumes" -}}
{{- include "legate.proxy.volumes" (list . "legate-") -}}
{{- end -}}

{{- define "legate.sidecar.podLabels" -}}
{{- include "legate.proxyLabel" . -}}
{{- end -}}

{{- define "legate.sidecar.podAnnotations" -}}
{{- include "legate.proxy.podAnnotations" (list .) | trim -}}
{{- end -}}

{{/* The pod must wait for Legate's drain and audit flush, not only for the IM server. */}}
{{- define "legate.sidecar.terminationGracePeriodSeconds" -}}
{{- include "legate.terminationGracePeriodSeconds" . -}}
{{- end -}}

{{/*
The rules an IM server's NetworkPolicy needs for Legate beside it (lists of NetworkPolicy
ingress and egress rules, to append to the IM server's own).
*/}}
{{- define "legate.sidecar.networkPolicyIngress" -}}
{{- include "legate.networkPolicy.ingress" . | trim -}}
{{- end -}}

{{- define "legate.sidecar.networkPolicyEgress" -}}
{{- include "legate.networkPolicy.egress" . | trim -}}
{{- end -}}
