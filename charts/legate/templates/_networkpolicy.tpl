{{/*
The network rules of a Legate proxy, the same for a gateway pod (gateway/networkpolicy.yaml)
and an IM server's pod with the sidecar (legate.sidecar.networkPolicyIngress / ...Egress).
Listeners and upstreams on loopback (a sidecar's internal side) need no rule.
*/}}

{{/* Ingress: the external listener, the internal listener, the admin API. */}}
{{- define "legate.networkPolicy.ingress" -}}
{{- $np := .Values.networkPolicy -}}
{{- $c := .Values.config -}}
{{- $external := $c.listeners.external -}}
{{- $internal := $c.listeners.internal -}}
{{- if $external.enabled }}
- ports:
    - { port: {{ $external.port }}, protocol: TCP }
  {{- with $np.ingress.external }}
  from:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if and $internal.enabled (not (include "legate.isLoopback" $internal.bindAddress)) }}
- ports:
    {{- range $internal.transports }}
    - { port: {{ $internal.port }}, protocol: {{ ternary "UDP" "TCP" (eq . "udp") }} }
    {{- end }}
  {{- $from := $np.ingress.internal }}
  {{- if not $from }}
  {{- range $c.trustedSources }}
  {{- $from = append $from (dict "ipBlock" (dict "cidr" .)) }}
  {{- end }}
  {{- end }}
  {{- with $from }}
  from:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
- ports:
    - { port: {{ .Values.proxy.adminPort }}, protocol: TCP }
  {{- with $np.ingress.admin }}
  from:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
Egress: DNS, the control plane, IM servers and partners at their addresses, partners found in
DNS on their SIP/TLS ports, and each service Legate is configured to call.
*/}}
{{- define "legate.networkPolicy.egress" -}}
{{- $np := .Values.networkPolicy -}}
{{- $c := .Values.config -}}
- ports:
    - { port: 53, protocol: UDP }
    - { port: 53, protocol: TCP }
  {{- with $np.egress.dns }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- range $c.dns.servers }}
{{ include "legate.egressTo" (list . "UDP" "TCP") }}
{{- end }}
{{- if .Values.controlPlane.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "legate.selectorLabels" (list . "control-plane") | nindent 10 }}
  ports:
    - { port: {{ .Values.controlPlane.port }}, protocol: TCP }
{{- end }}
{{- range (concat $c.imServers $c.clusters) }}
{{- $protocol := ternary "UDP" "TCP" (eq .transport "udp") }}
{{- range .endpoints }}
{{- if include "legate.isLoopback" . }}
{{- else if include "legate.isAddress" . }}
{{ include "legate.egressTo" (list . $protocol) }}
{{- else }}
{{ include "legate.egressToPort" (list . $protocol) }}
{{- end }}
{{- end }}
{{- end }}
{{- $discovered := false }}
{{- range $c.partners }}
{{- with .reach.address }}
{{ include "legate.egressTo" (list . "TCP") }}
{{- end }}
{{- if .reach.dns }}{{ $discovered = true }}{{ end }}
{{- end }}
{{- if $discovered }}
- ports:
    {{- range $np.egress.discoveredPartnerPorts }}
    - { port: {{ . }}, protocol: TCP }
    {{- end }}
{{- end }}
{{- $ldap := false }}
{{- range $c.directories }}{{ if .ldap }}{{ $ldap = true }}{{ end }}{{ end }}
{{- if $ldap }}
{{ include "legate.egressService" $np.egress.ldap }}
{{- end }}
{{- if and $c.audit.enabled $c.audit.sinks.postgres.enabled }}
{{ include "legate.egressService" $np.egress.postgres }}
{{- end }}
{{- if and $c.audit.enabled $c.audit.sinks.webhook.enabled }}
{{ include "legate.egressService" $np.egress.webhook }}
{{- end }}
{{- if $c.telemetry.otlp.endpoint }}
{{ include "legate.egressService" $np.egress.otlp }}
{{- end }}
{{- if $c.extAuthz.enabled }}
{{ include "legate.egressService" $np.egress.extAuthz }}
{{- end }}
{{- with $np.egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* "true" for an address on loopback (127.0.0.0/8, ::1), with or without a port. */}}
{{- define "legate.isLoopback" -}}
{{- if or (hasPrefix "127." .) (hasPrefix "[::1]" .) (eq . "::1") }}true{{ end -}}
{{- end -}}

{{/* "true" for an `ip:port` (IPv4, or IPv6 in brackets), not a `host:port` name. */}}
{{- define "legate.isAddress" -}}
{{- if regexMatch "^([0-9.]+|\\[[0-9a-fA-F:.]+\\]):[0-9]+$" . }}true{{ end -}}
{{- end -}}

{{/*
An egress rule to a `host:port` name's port, at any address: a name (a Service's) is resolved
by the proxy, and what it leads to (the Service's pods, after the Service's address is
translated) is not known here. `networkPolicy.egress.extra` can narrow it with selectors.
Called with (list "host:port" protocol...).
*/}}
{{- define "legate.egressToPort" -}}
{{- $port := regexFind "[0-9]+$" (index . 0) -}}
- ports:
    {{- range rest . }}
    - { port: {{ $port }}, protocol: {{ . }} }
    {{- end }}
{{- end -}}

{{/*
An egress rule to one `ip:port` (IPv4, or IPv6 in brackets) with the given protocols. Called
with (list "ip:port" protocol...).
*/}}
{{- define "legate.egressTo" -}}
{{- $address := index . 0 -}}
{{- $port := regexFind "[0-9]+$" $address -}}
{{- $host := regexReplaceAll ":[0-9]+$" $address "" | trimPrefix "[" | trimSuffix "]" -}}
- to:
    - ipBlock:
        cidr: {{ $host }}/{{ ternary "128" "32" (contains ":" $host) }}
  ports:
    {{- range rest . }}
    - { port: {{ $port }}, protocol: {{ . }} }
    {{- end }}
{{- end -}}

{{/* An egress rule to a service Legate calls: { to: [peers] (empty: anywhere), ports: [tcp] }. */}}
{{- define "legate.egressService" -}}
- ports:
    {{- range .ports }}
    - { port: {{ . }}, protocol: TCP }
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
