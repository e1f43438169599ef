{{/*
Names and labels. Every helper takes a context with .Values and .Release only (plus .Chart when
there is one), so an IM server chart can call the sidecar templates with `.Subcharts.legate`
and get the same names this chart gives its own resources.
*/}}

{{/* "legate", or nameOverride. */}}
{{- define "legate.name" -}}
{{- default "legate" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every resource name: <release>-legate, unless the release already says it. */}}
{{- define "legate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "legate.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<suffix>, cut to 63 characters. Called with (list $ "suffix"). */}}
{{- define "legate.child" -}}
{{- printf "%s-%s" (include "legate.fullname" (index . 0)) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource. Called with (list $ "component"). */}}
{{- define "legate.labels" -}}
{{- $ := index . 0 -}}
{{ include "legate.selectorLabels" . }}
{{- with $.Chart }}
helm.sh/chart: {{ printf "%s-%s" .Name .Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ $.Release.Service | default "Helm" }}
app.kubernetes.io/part-of: {{ include "legate.name" $ }}
{{- with $.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* What a component's workload selects its pods by. Called with (list $ "component"). */}}
{{- define "legate.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "legate.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/*
The label every pod running a Legate proxy carries, in either mode: the control plane's
network policy lets these pods in, and the sidecar's PodMonitor finds them by it.
*/}}
{{- define "legate.proxyLabel" -}}
legate/proxy: {{ include "legate.fullname" . }}
{{- end -}}

{{/* The image reference: the digest when given, else the tag (default: the chart's appVersion). */}}
{{- define "legate.image" -}}
{{- $image := .Values.image -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- $appVersion := "" -}}
{{- with .Chart }}{{ $appVersion = .AppVersion }}{{ end -}}
{{- $tag := $image.tag | default $appVersion -}}
{{- if not $tag -}}
{{- fail "image.tag: set it (or image.digest): there is no chart appVersion to default to here" -}}
{{- end -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Service names, used by the config (advertised hosts, control plane URL) and the Services. */}}
{{- define "legate.controlPlane.serviceName" -}}
{{- include "legate.child" (list . "control-plane") -}}
{{- end -}}

{{- define "legate.internal.serviceName" -}}
{{- include "legate.child" (list . "internal") -}}
{{- end -}}

{{- define "legate.external.serviceName" -}}
{{- include "legate.child" (list . "external") -}}
{{- end -}}

{{- define "legate.admin.serviceName" -}}
{{- include "legate.child" (list . "admin") -}}
{{- end -}}

{{- define "legate.gateway.serviceAccountName" -}}
{{- if .Values.gateway.serviceAccount.create -}}
{{- .Values.gateway.serviceAccount.name | default (include "legate.fullname" .) -}}
{{- else -}}
{{- .Values.gateway.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "legate.controlPlane.serviceAccountName" -}}
{{- if .Values.controlPlane.serviceAccount.create -}}
{{- .Values.controlPlane.serviceAccount.name | default (include "legate.child" (list . "control-plane")) -}}
{{- else -}}
{{- .Values.controlPlane.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* A Service's name as a pod resolves it: <service>.<namespace>.svc.<cluster domain>. */}}
{{- define "legate.serviceHost" -}}
{{- $ := index . 0 -}}
{{- printf "%s.%s.svc.%s" (index . 1) $.Release.Namespace $.Values.clusterDomain -}}
{{- end -}}
