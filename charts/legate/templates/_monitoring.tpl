{{/* /metrics needs the admin token: Prometheus sends it from the admin token's Secret. */}}
{{- define "legate.metricsAuthorization" -}}
authorization:
  type: Bearer
  credentials:
    name: {{ .Values.adminToken.existingSecret | default (include "legate.child" (list . "admin-token")) }}
    key: {{ .Values.adminToken.key }}
{{- end -}}
