{{/*
Where things are inside Legate's pods, and the one catalogue of every file the proxy reads that
comes from a Secret or a ConfigMap. The catalogue decides, in one place, both the volumes and
mounts of the proxy container and the paths written into legate.yaml, so the two cannot
disagree: each entry is mounted at /etc/legate/<id>/ and its files are named by the entry.
*/}}

{{- define "legate.paths" -}}
configDir: /etc/legate/config
configFile: /etc/legate/config/legate.yaml
state: /var/lib/legate
stateDir: /var/lib/legate/state
spoolDir: /var/lib/legate/audit-spool
sqliteFile: /var/lib/legate/audit.db
{{- end -}}

{{/*
One entry from a file source ({ pem } | { configMap: { name, key } } | { secret: { name, key } }).
Inline PEM goes into the chart's own ConfigMap under the entry's id. Called with
(list $ id source file).
*/}}
{{- define "legate.fileEntry" -}}
{{- $ := index . 0 -}}
{{- $id := index . 1 -}}
{{- $source := index . 2 -}}
{{- $file := index . 3 -}}
{{- if $source.pem -}}
configMap: {{ include "legate.child" (list $ "files") }}
items: [{ key: {{ $id }}, path: {{ $file }} }]
pem: {{ $source.pem | quote }}
{{- else if $source.configMap -}}
configMap: {{ $source.configMap.name }}
items: [{ key: {{ $source.configMap.key | quote }}, path: {{ $file }} }]
{{- else if $source.secret -}}
secret: {{ $source.secret.name }}
items: [{ key: {{ $source.secret.key | quote }}, path: {{ $file }} }]
{{- else -}}
{{- fail (printf "%s: a file source needs one of pem, configMap or secret" $id) -}}
{{- end -}}
{{- end -}}

{{/* A kubernetes.io/tls Secret's certificate and key. Called with (list secretName). */}}
{{- define "legate.tlsEntry" -}}
secret: {{ index . 0 }}
items: [{ key: tls.crt, path: tls.crt }, { key: tls.key, path: tls.key }]
{{- end -}}

{{/* The Secret holding the external listener's certificate, whichever way it is made. */}}
{{- define "legate.external.tlsSecret" -}}
{{- .Values.config.listeners.external.certificate.existingSecret | default (include "legate.child" (list . "external-tls")) -}}
{{- end -}}

{{/*
Where the external listener's client CA comes from: "own" (clientCa, or every partner's inline
bundle joined into one file), "partner" (the one partner's own bundle file), or "none" (no
partners: nobody can authenticate yet).
*/}}
{{- define "legate.clientCaSource" -}}
{{- $partners := .Values.config.partners -}}
{{- $inline := true -}}
{{- range $partners }}{{ if not .caBundle.pem }}{{ $inline = false }}{{ end }}{{ end -}}
{{- if .Values.config.listeners.external.clientCa -}}
own
{{- else if not $partners -}}
none
{{- else if $inline -}}
own
{{- else if eq (len $partners) 1 -}}
partner
{{- else -}}
{{- fail "config.listeners.external.clientCa: partners' CA bundles come from ConfigMaps or Secrets, and the listener takes one file: name a ConfigMap or Secret holding all of them here" -}}
{{- end -}}
{{- end -}}

{{/* Every partner's inline CA bundle, joined: the external listener's default client CA. */}}
{{- define "legate.inlinePartnerCas" -}}
{{- range .Values.config.partners }}{{ with .caBundle.pem }}{{ . | trim }}{{ "\n" }}{{ end }}{{ end -}}
{{- end -}}

{{/* The catalogue: id -> { configMap | secret, items, pem?, controlPlane? }, as YAML. */}}
{{- define "legate.files" -}}
{{- $ := . -}}
{{- $c := .Values.config -}}
{{- $files := dict -}}
{{- $_ := set $files "admin-token" (dict "secret" (.Values.adminToken.existingSecret | default (include "legate.child" (list $ "admin-token"))) "items" (list (dict "key" .Values.adminToken.key "path" "token"))) -}}
{{- $_ := set $files "record-route" (dict "secret" (.Values.recordRouteSecret.existingSecret | default (include "legate.child" (list $ "record-route"))) "items" (list (dict "key" .Values.recordRouteSecret.key "path" "secret"))) -}}
{{- if .Values.controlPlane.enabled -}}
{{- if .Values.controlPlane.tls.enabled -}}
{{- $_ := set $files "control-plane-client" (dict "secret" (include "legate.controlPlane.clientSecret" $) "items" (list (dict "key" "tls.crt" "path" "tls.crt") (dict "key" "tls.key" "path" "tls.key") (dict "key" "ca.crt" "path" "ca.crt"))) -}}
{{- end -}}
{{- if .Values.controlPlane.token.enabled -}}
{{- $_ := set $files "control-plane-token" (dict "secret" (.Values.controlPlane.token.existingSecret | default (include "legate.child" (list $ "control-plane-token"))) "items" (list (dict "key" .Values.controlPlane.token.key "path" "token"))) -}}
{{- end -}}
{{- end -}}
{{- $external := $c.listeners.external -}}
{{- if $external.enabled -}}
{{- $_ := set $files "external-tls" (include "legate.tlsEntry" (list (include "legate.external.tlsSecret" $)) | fromYaml) -}}
{{- if and $external.requireClientCertificate (eq (include "legate.clientCaSource" $) "own") -}}
{{- $source := $external.clientCa | default (dict "pem" (include "legate.inlinePartnerCas" $)) -}}
{{- $_ := set $files "client-ca" (include "legate.fileEntry" (list $ "client-ca" $source "ca.pem") | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- range $c.partners -}}
{{- $id := printf "partner-%s" .name -}}
{{- $_ := set $files $id (include "legate.fileEntry" (list $ $id .caBundle "ca.pem") | fromYaml) -}}
{{- with dig "clientCertificate" "existingSecret" "" . -}}
{{- $_ := set $files (printf "%s-tls" $id) (include "legate.tlsEntry" (list .) | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- range $c.imServers -}}
{{- if .caBundle -}}
{{- $_ := set $files (printf "im-%s" .name) (include "legate.fileEntry" (list $ (printf "im-%s" .name) .caBundle "ca.pem") | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- /* The control plane builds the filter chains and checks LDAP settings as a proxy does,
       reading these files too: its pod mounts the entries marked controlPlane. */ -}}
{{- range $c.directories -}}
{{- if .bindPassword -}}
{{- $id := printf "ldap-%s-password" .name -}}
{{- $_ := set $files $id (set (include "legate.fileEntry" (list $ $id .bindPassword "password") | fromYaml) "controlPlane" true) -}}
{{- end -}}
{{- if .caBundle -}}
{{- $id := printf "ldap-%s-ca" .name -}}
{{- $_ := set $files $id (set (include "legate.fileEntry" (list $ $id .caBundle "ca.pem") | fromYaml) "controlPlane" true) -}}
{{- end -}}
{{- end -}}
{{- if $c.audit.enabled -}}
{{- $pg := $c.audit.sinks.postgres -}}
{{- if $pg.enabled -}}
{{- $secret := dict "name" (include "legate.child" (list $ "postgres")) "key" "url" -}}
{{- if $pg.existingSecret.name }}{{ $secret = $pg.existingSecret }}{{ end -}}
{{- $_ := set $files "postgres-url" (include "legate.fileEntry" (list $ "postgres-url" (dict "secret" $secret) "url") | fromYaml) -}}
{{- if $pg.caBundle -}}
{{- $_ := set $files "postgres-ca" (include "legate.fileEntry" (list $ "postgres-ca" $pg.caBundle "ca.pem") | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $otlp := $c.telemetry.otlp -}}
{{- if $otlp.caBundle -}}
{{- $_ := set $files "otlp-ca" (include "legate.fileEntry" (list $ "otlp-ca" $otlp.caBundle "ca.pem") | fromYaml) -}}
{{- end -}}
{{- range $header, $secret := $otlp.headers -}}
{{- $id := printf "otlp-header-%s" (include "legate.headerId" $header) -}}
{{- $_ := set $files $id (include "legate.fileEntry" (list $ $id (dict "secret" $secret) "value") | fromYaml) -}}
{{- end -}}
{{- if and $c.extAuthz.enabled $c.extAuthz.caBundle -}}
{{- $_ := set $files "ext-authz-ca" (set (include "legate.fileEntry" (list $ "ext-authz-ca" $c.extAuthz.caBundle "ca.pem") | fromYaml) "controlPlane" true) -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* An HTTP header name as part of a volume name: lower case, letters, digits and dashes. */}}
{{- define "legate.headerId" -}}
{{- . | lower | regexReplaceAll "[^a-z0-9-]" "-" | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
The path of one file of the catalogue. Called with (list $files id file); an id missing from
the catalogue is a bug of the chart, so it fails loudly.
*/}}
{{- define "legate.filePath" -}}
{{- $files := index . 0 -}}
{{- $id := index . 1 -}}
{{- if not (hasKey $files $id) -}}
{{- fail (printf "internal: %s is not in the file catalogue" $id) -}}
{{- end -}}
{{- printf "/etc/legate/%s/%s" $id (index . 2) -}}
{{- end -}}

{{/*
The catalogue as volumes. Secret files are 0444: read-only, and readable by Legate's user
without relying on fsGroup (which not every runtime applies to secret volumes). `optional:
false` is Kubernetes' default, written out because podman 4.3's kube play crashes on a Secret
volume that leaves it unset.
*/}}
{{- define "legate.fileVolumes" -}}
{{- range $id, $entry := . }}
- name: {{ $id }}
{{- if $entry.secret }}
  secret:
    secretName: {{ $entry.secret }}
    defaultMode: 292
    optional: false
    items:
      {{- toYaml $entry.items | nindent 6 }}
{{- else }}
  configMap:
    name: {{ $entry.configMap }}
    items:
      {{- toYaml $entry.items | nindent 6 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The catalogue as read-only mounts. Called with the catalogue. */}}
{{- define "legate.fileMounts" -}}
{{- range $id, $entry := . }}
- name: {{ $id }}
  mountPath: /etc/legate/{{ $entry.mountDir | default $id }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The entries the control plane reads as well (see legate.files). Called with the catalogue. */}}
{{- define "legate.controlPlaneFiles" -}}
{{- $out := dict -}}
{{- range $id, $entry := . -}}
{{- if $entry.controlPlane }}{{ $_ := set $out $id $entry }}{{ end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
