{{/*
The proxy container and its volumes, the same in both modes: the gateway's pods and an IM
server's pods (through the legate.sidecar.* templates) get them from here. Called with
(list $ portPrefix): a sidecar's port names carry a prefix so they cannot clash with the IM
server's own.
*/}}

{{/* How long the pod may take to stop: the preStop wait, the drain, the audit flush, a margin. */}}
{{- define "legate.terminationGracePeriodSeconds" -}}
{{- add (int .Values.proxy.preStopSleepSeconds) (mul 2 (int .Values.config.shutdownGraceSeconds)) 5 -}}
{{- end -}}

{{- define "legate.controlPlaneUrl" -}}
{{- if .Values.proxy.controlPlaneUrl -}}
{{- .Values.proxy.controlPlaneUrl -}}
{{- else -}}
{{- $scheme := ternary "https" "http" .Values.controlPlane.tls.enabled -}}
{{- printf "%s://%s:%d" $scheme (include "legate.serviceHost" (list . (include "legate.controlPlane.serviceName" .))) (int .Values.controlPlane.port) -}}
{{- end -}}
{{- end -}}

{{/* Whether the proxy pod mounts legate.yaml: always without a control plane, else to boot on. */}}
{{- define "legate.proxy.mountsConfig" -}}
{{- if or (not .Values.controlPlane.enabled) .Values.proxy.bootFromConfigMap }}true{{ end -}}
{{- end -}}

{{- define "legate.proxy.args" -}}
{{- $ := . -}}
{{- $files := include "legate.files" . | fromYaml -}}
{{- $paths := include "legate.paths" . | fromYaml -}}
- run
- --log-format
- {{ .Values.proxy.logFormat }}
{{- if .Values.controlPlane.enabled }}
- --control-plane
- {{ include "legate.controlPlaneUrl" . }}
{{- if .Values.controlPlane.tls.enabled }}
- --control-plane-ca
- {{ include "legate.filePath" (list $files "control-plane-client" "ca.crt") }}
- --control-plane-certificate
- {{ include "legate.filePath" (list $files "control-plane-client" "tls.crt") }}
- --control-plane-private-key
- {{ include "legate.filePath" (list $files "control-plane-client" "tls.key") }}
{{- end }}
{{- if .Values.controlPlane.token.enabled }}
- --control-plane-token-file
- {{ include "legate.filePath" (list $files "control-plane-token" "token") }}
{{- end }}
- --node-id
- $(POD_NAME)
- --state-dir
- {{ $paths.stateDir }}
{{- end }}
{{- if include "legate.proxy.mountsConfig" . }}
- --config
- {{ $paths.configFile }}
{{- end }}
{{- end -}}

{{- define "legate.proxy.container" -}}
{{- $ := index . 0 -}}
{{- $prefix := index . 1 -}}
{{- $v := $.Values -}}
{{- $listeners := $v.config.listeners -}}
{{- $files := include "legate.files" $ | fromYaml -}}
{{- $paths := include "legate.paths" $ | fromYaml -}}
- name: legate
  image: {{ include "legate.image" $ }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  args:
    {{- include "legate.proxy.args" $ | nindent 4 }}
  env:
    - name: POD_NAME
      valueFrom: { fieldRef: { fieldPath: metadata.name } }
    # The release's namespace, which is the pod's, written out: podman's kube play reads no
    # other field than metadata.name from the downward API.
    - name: POD_NAMESPACE
      value: {{ $.Release.Namespace | quote }}
    # Spans say which pod sent them; the configuration is shared, the environment is not.
    - name: OTEL_RESOURCE_ATTRIBUTES
      value: k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)
    {{- with $v.proxy.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    {{- if $listeners.internal.enabled }}
    {{- range $listeners.internal.transports }}
    - name: {{ $prefix }}sip-{{ . }}
      containerPort: {{ $listeners.internal.port }}
      protocol: {{ ternary "UDP" "TCP" (eq . "udp") }}
    {{- end }}
    {{- end }}
    {{- if $listeners.external.enabled }}
    - name: {{ $prefix }}sip-tls
      containerPort: {{ $listeners.external.port }}
      protocol: TCP
    {{- end }}
    - name: {{ $prefix }}admin
      containerPort: {{ $v.proxy.adminPort }}
      protocol: TCP
  {{- /* /healthz answers once a configuration runs; /readyz also turns 503 when Legate
         drains after SIGTERM. Neither needs the admin token. */}}
  startupProbe:
    httpGet: { path: /healthz, port: {{ $prefix }}admin }
    {{- toYaml $v.proxy.probes.startup | nindent 4 }}
  livenessProbe:
    httpGet: { path: /healthz, port: {{ $prefix }}admin }
    {{- toYaml $v.proxy.probes.liveness | nindent 4 }}
  readinessProbe:
    httpGet: { path: /readyz, port: {{ $prefix }}admin }
    {{- toYaml $v.proxy.probes.readiness | nindent 4 }}
  lifecycle:
    # Endpoints leave Services while the pod waits; then SIGTERM starts the drain. The image
    # has no shell, hence the kubelet's own sleep.
    preStop:
      sleep:
        seconds: {{ $v.proxy.preStopSleepSeconds }}
  resources:
    {{- toYaml $v.proxy.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: {{ $prefix }}state
      mountPath: {{ $paths.state }}
    {{- if include "legate.proxy.mountsConfig" $ }}
    - name: {{ $prefix }}config
      mountPath: {{ $paths.configDir }}
      readOnly: true
    {{- end }}
    {{- include "legate.fileMounts" (include "legate.prefixed" (list $files $prefix) | fromYaml) | trim | nindent 4 }}
    {{- with $v.proxy.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/*
The catalogue with volume names prefixed (a sidecar's volumes live among the IM server's);
mount paths stay /etc/legate/<id>. Called with (list $files prefix).
*/}}
{{- define "legate.prefixed" -}}
{{- $out := dict -}}
{{- $prefix := index . 1 -}}
{{- range $id, $entry := index . 0 -}}
{{- $_ := set $out (printf "%s%s" $prefix $id) (merge (dict "mountDir" $id) $entry) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "legate.proxy.volumes" -}}
{{- $ := index . 0 -}}
{{- $prefix := index . 1 -}}
{{- $v := $.Values -}}
{{- $files := include "legate.files" $ | fromYaml -}}
- name: {{ $prefix }}state
  {{- toYaml ($v.proxy.stateVolume | default (dict "emptyDir" (dict "sizeLimit" "1Gi"))) | nindent 2 }}
{{- if include "legate.proxy.mountsConfig" $ }}
- name: {{ $prefix }}config
  configMap:
    name: {{ include "legate.child" (list $ "config") }}
{{- end }}
{{- include "legate.fileVolumes" (include "legate.prefixed" (list $files $prefix) | fromYaml) }}
{{- with $v.proxy.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Annotations of a proxy pod: scraping, and what rolls the pods when it changes. */}}
{{- define "legate.proxy.podAnnotations" -}}
{{- $ := index . 0 -}}
{{- if $.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ $.Values.proxy.adminPort | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- /* Without a control plane nothing pushes a change: the pods roll instead. */}}
{{- if not $.Values.controlPlane.enabled }}
checksum/config: {{ include "legate.config" $ | sha256sum }}
{{- end }}
{{- /* Files are read again only with a new configuration: a changed bundle rolls the pods. */}}
checksum/files: {{ include "legate.files" $ | sha256sum }}
{{- end -}}
