{{/*
The standard filter chain of a side, built from what is configured: authn always; audit, the
domain policy, peer limits (external side, when a partner has limits), external authorization
and address mapping when set; the router last. The order is the one Legate's README gives:
audit after authn, so records name authenticated partners, and before the filters that refuse,
so their refusals are recorded. Called with (list $ side $files); returns { filters: [...] }.
*/}}
{{- define "legate.standardChain" -}}
{{- $ := index . 0 -}}
{{- $side := index . 1 -}}
{{- $files := index . 2 -}}
{{- $c := $.Values.config -}}
{{- $filters := list -}}
{{- $authn := dict "local_domains" $c.localDomains -}}
{{- if eq $side "internal" -}}
{{- $_ := set $authn "trusted_sources" $c.trustedSources -}}
{{- end -}}
{{- $filters = append $filters (dict "name" "legate.filters.sip.authn" "config" $authn) -}}
{{- if $c.audit.enabled -}}
{{- $audit := dict "name" "legate.filters.sip.audit" -}}
{{- with $c.audit.filter }}{{ $_ := set $audit "config" . }}{{ end -}}
{{- $filters = append $filters $audit -}}
{{- end -}}
{{- with $c.policy -}}
{{- $filters = append $filters (dict "name" "legate.filters.sip.domain_policy" "config" .) -}}
{{- end -}}
{{- if eq $side "external" -}}
{{- $limited := false -}}
{{- range $c.partners }}{{ if .limits }}{{ $limited = true }}{{ end }}{{ end -}}
{{- if $limited -}}
{{- $filters = append $filters (dict "name" "legate.filters.sip.peer_limits") -}}
{{- end -}}
{{- end -}}
{{- if and $c.extAuthz.enabled (has $side $c.extAuthz.sides) -}}
{{- $config := deepCopy $c.extAuthz.config -}}
{{- if $c.extAuthz.caBundle -}}
{{- $_ := set $config "tls_ca" (include "legate.filePath" (list $files "ext-authz-ca" "ca.pem")) -}}
{{- end -}}
{{- $filters = append $filters (dict "name" "legate.filters.sip.ext_authz" "config" $config) -}}
{{- end -}}
{{- with $c.addressMapping -}}
{{- $filters = append $filters (dict "name" "legate.filters.sip.translation" "config" .) -}}
{{- end -}}
{{- $filters = append $filters (dict "name" "legate.filters.sip.router") -}}
{{- toYaml (dict "filters" $filters) -}}
{{- end -}}

{{/* A listener's chain: its own `filters` when given, else the standard one of its side. */}}
{{- define "legate.chain" -}}
{{- $listener := index . 3 -}}
{{- if kindIs "slice" $listener.filters -}}
{{- toYaml (dict "filters" $listener.filters) -}}
{{- else -}}
{{- include "legate.standardChain" (list (index . 0) (index . 1) (index . 2)) -}}
{{- end -}}
{{- end -}}
