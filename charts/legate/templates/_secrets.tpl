{{/*
Generated secrets are made once: `lookup` finds the Secret of an earlier install and its data
is kept, so `helm upgrade` never changes a token, a key or the record-route secret under
running pods. (`helm template` cannot look anything up and generates new ones each time: name
Secrets of your own when rendering offline.)
*/}}

{{/* The data of a Secret already in the release's namespace, or {}. Called with (list $ name). */}}
{{- define "legate.existingSecretData" -}}
{{- $ := index . 0 -}}
{{- $found := lookup "v1" "Secret" $.Release.Namespace (index . 1) -}}
{{- if and $found $found.data -}}
{{- toYaml $found.data -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
An Opaque Secret holding one random token under `key`, kept across upgrades. Called with
(list $ name key component length).
*/}}
{{- define "legate.generatedToken" -}}
{{- $ := index . 0 -}}
{{- $name := index . 1 -}}
{{- $key := index . 2 -}}
{{- $kept := include "legate.existingSecretData" (list $ $name) | fromYaml -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "legate.labels" (list $ (index . 3)) | nindent 4 }}
type: Opaque
data:
  {{ $key }}: {{ get $kept $key | default (randAlphaNum (int (index . 4)) | b64enc) }}
{{- end -}}
