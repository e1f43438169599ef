{{/*
Topology spread for a component: the given constraints, or by default one pod per node and per
zone as far as the cluster allows (ScheduleAnyway: a small cluster still schedules them). Each
constraint without a labelSelector gets the component's. Called with (list $ constraints component).
*/}}
{{- define "legate.topologySpread" -}}
{{- $ := index . 0 -}}
{{- $constraints := index . 1 -}}
{{- $selector := include "legate.selectorLabels" (list $ (index . 2)) | fromYaml -}}
{{- if not $constraints -}}
{{- $constraints = list (dict "maxSkew" 1 "topologyKey" "kubernetes.io/hostname" "whenUnsatisfiable" "ScheduleAnyway") (dict "maxSkew" 1 "topologyKey" "topology.kubernetes.io/zone" "whenUnsatisfiable" "ScheduleAnyway") -}}
{{- end -}}
{{- $out := list -}}
{{- range $constraints -}}
{{- $constraint := deepCopy . -}}
{{- if not (hasKey $constraint "labelSelector") -}}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" $selector) -}}
{{- end -}}
{{- $out = append $out $constraint -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
