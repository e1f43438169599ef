{{/*
Which way the control plane's TLS material is made: "existing" (Secrets you name),
"certManager", or "generated" by the chart.
*/}}
{{- define "legate.controlPlane.tlsSource" -}}
{{- $tls := .Values.controlPlane.tls -}}
{{- if or $tls.existingSecrets.server $tls.existingSecrets.client -}}
existing
{{- else if $tls.certManager.enabled -}}
certManager
{{- else -}}
generated
{{- end -}}
{{- end -}}

{{- define "legate.controlPlane.serverSecret" -}}
{{- .Values.controlPlane.tls.existingSecrets.server | default (include "legate.child" (list . "control-plane-tls")) -}}
{{- end -}}

{{- define "legate.controlPlane.clientSecret" -}}
{{- .Values.controlPlane.tls.existingSecrets.client | default (include "legate.child" (list . "control-plane-client")) -}}
{{- end -}}

{{/* Every name a proxy may reach the control plane by: its Service's, and any more named. */}}
{{- define "legate.controlPlane.dnsNames" -}}
{{- $service := include "legate.controlPlane.serviceName" . -}}
- {{ $service }}
- {{ $service }}.{{ .Release.Namespace }}
- {{ $service }}.{{ .Release.Namespace }}.svc
- {{ include "legate.serviceHost" (list . $service) }}
{{- range .Values.controlPlane.tls.extraDnsNames }}
- {{ . }}
{{- end }}
{{- end -}}
