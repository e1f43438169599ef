{{/*
What the schema cannot say: combinations of values. Each failure names the values to change.
Included by the ConfigMap, which every rendering has.
*/}}
{{- define "legate.checks" -}}
{{- $cp := .Values.controlPlane -}}
{{- if and $cp.enabled (not $cp.tls.enabled) (not $cp.token.enabled) -}}
{{- fail "controlPlane: the control plane refuses to serve off loopback without mutual TLS or a token: enable controlPlane.tls or controlPlane.token" -}}
{{- end -}}
{{- $existing := $cp.tls.existingSecrets -}}
{{- if and $cp.enabled $cp.tls.enabled (or $existing.server $existing.client) (not (and $existing.server $existing.client)) -}}
{{- fail "controlPlane.tls.existingSecrets: name both the server's and the proxies' client Secret" -}}
{{- end -}}
{{- if and $cp.enabled $cp.tls.enabled (or $existing.server $existing.client) $cp.tls.certManager.enabled -}}
{{- fail "controlPlane.tls: existingSecrets and certManager exclude each other" -}}
{{- end -}}
{{- $certificate := .Values.config.listeners.external.certificate -}}
{{- if and $certificate.existingSecret $certificate.certManager.enabled -}}
{{- fail "config.listeners.external.certificate: existingSecret and certManager exclude each other" -}}
{{- end -}}
{{- $pg := .Values.config.audit.sinks.postgres -}}
{{- if and .Values.config.audit.enabled $pg.enabled (not $pg.url) (not $pg.existingSecret.name) -}}
{{- fail "config.audit.sinks.postgres: give url, or existingSecret.name of a Secret holding it" -}}
{{- end -}}
{{- if and .Values.config.audit.enabled (not (or $pg.enabled .Values.config.audit.sinks.sqlite.enabled .Values.config.audit.sinks.webhook.enabled .Values.config.audit.sinks.stdout.enabled)) -}}
{{- fail "config.audit: enabled with no sink: enable one of config.audit.sinks, or set config.audit.enabled to false" -}}
{{- end -}}
{{- if and .Values.config.audit.sinks.webhook.enabled (not .Values.config.audit.sinks.webhook.url) -}}
{{- fail "config.audit.sinks.webhook.url: the receiver's http:// or https:// URL is required" -}}
{{- end -}}
{{- if and .Values.config.extAuthz.enabled (not .Values.config.extAuthz.config.url) -}}
{{- fail "config.extAuthz.config.url: the authorization service's URL is required" -}}
{{- end -}}
{{- if and .Values.config.listeners.external.enabled (not .Values.config.localDomains) -}}
{{- fail "config.localDomains: the external listener needs the organisation's SIP domains" -}}
{{- end -}}
{{- if and (eq .Values.mode "sidecar") .Values.gateway.autoscaling.enabled -}}
{{- fail "gateway.autoscaling: a sidecar scales with its IM server; turn it off in sidecar mode" -}}
{{- end -}}
{{- end -}}
