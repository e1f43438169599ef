{{/* The gateway's pod template, shared by its Deployment and its DaemonSet. */}}
{{- define "legate.gateway.podTemplate" -}}
{{- $g := .Values.gateway -}}
metadata:
  labels:
    {{- include "legate.labels" (list . "gateway") | nindent 4 }}
    {{- include "legate.proxyLabel" . | nindent 4 }}
    {{- with $g.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- include "legate.proxy.podAnnotations" (list .) | trim | nindent 4 }}
    {{- with $g.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "legate.gateway.serviceAccountName" . }}
  # Legate never talks to the Kubernetes API.
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: {{ include "legate.terminationGracePeriodSeconds" . }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $g.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  containers:
    {{- include "legate.proxy.container" (list . "") | nindent 4 }}
  volumes:
    {{- include "legate.proxy.volumes" (list . "") | nindent 4 }}
  {{- with $g.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $g.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $g.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if eq $g.kind "Deployment" }}
  topologySpreadConstraints:
    {{- include "legate.topologySpread" (list . $g.topologySpreadConstraints "gateway") | nindent 4 }}
  {{- end }}
{{- end -}}
