{{/*
legate.yaml, rendered from `config` and the file catalogue: the configuration the control plane
serves to every proxy (or a proxy reads itself without one). Paths are the proxy's: the
control plane does not read TLS files, tokens or audit sinks, the proxy does.
*/}}
{{- define "legate.config" -}}
{{- $ := . -}}
{{- $c := .Values.config -}}
{{- $files := include "legate.files" . | fromYaml -}}
{{- $paths := include "legate.paths" . | fromYaml -}}
{{- $cfg := dict -}}

{{- /* The admin API on every address of the pod, for the kubelet's probes and Prometheus. */ -}}
{{- $_ := set $cfg "admin" (dict "address" (printf "0.0.0.0:%d" (int .Values.proxy.adminPort)) "token_file" (include "legate.filePath" (list $files "admin-token" "token"))) -}}

{{- $proxy := deepCopy $c.proxy -}}
{{- $_ := set $proxy "record_route_secret" (dict "file" (include "legate.filePath" (list $files "record-route" "secret"))) -}}
{{- $_ := set $proxy "shutdown_grace" (printf "%ds" (int $c.shutdownGraceSeconds)) -}}
{{- $_ := set $cfg "proxy" $proxy -}}

{{- $_ := set $cfg "listeners" (include "legate.listeners" (list $ $files) | fromYaml).listeners -}}

{{- $routes := list -}}
{{- range $c.routes }}{{ $routes = append $routes . }}{{ end -}}
{{- range $c.partners -}}
{{- $partner := . -}}
{{- range $i, $domain := .domains -}}
{{- $name := ternary (printf "outbound-%s" $partner.name) (printf "outbound-%s-%d" $partner.name (add1 $i)) (eq (len $partner.domains) 1) -}}
{{- $routes = append $routes (dict "name" $name "match" (dict "domain" $domain "side" "internal") "peer" $partner.name) -}}
{{- end -}}
{{- end -}}
{{- range $c.imServers -}}
{{- $server := . -}}
{{- range $i, $domain := .domains -}}
{{- $name := ternary (printf "inbound-%s" $server.name) (printf "inbound-%s-%d" $server.name (add1 $i)) (eq (len $server.domains) 1) -}}
{{- $routes = append $routes (dict "name" $name "match" (dict "domain" $domain "side" "external") "cluster" $server.name) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $cfg "routes" $routes -}}

{{- $clusters := list -}}
{{- range $c.imServers -}}
{{- $cluster := omit . "domains" "caBundle" -}}
{{- if .caBundle -}}
{{- $_ := set $cluster "tls_ca" (include "legate.filePath" (list $files (printf "im-%s" .name) "ca.pem")) -}}
{{- end -}}
{{- $clusters = append $clusters $cluster -}}
{{- end -}}
{{- range $c.clusters }}{{ $clusters = append $clusters . }}{{ end -}}
{{- $_ := set $cfg "clusters" $clusters -}}

{{- $directories := list -}}
{{- range $c.directories -}}
{{- $directory := omit . "bindPassword" "caBundle" -}}
{{- if .ldap -}}
{{- $ldap := deepCopy .ldap -}}
{{- if .bindPassword -}}
{{- $_ := set $ldap "bind_password" (dict "file" (include "legate.filePath" (list $files (printf "ldap-%s-password" .name) "password"))) -}}
{{- end -}}
{{- if .caBundle -}}
{{- $_ := set $ldap "tls_ca" (include "legate.filePath" (list $files (printf "ldap-%s-ca" .name) "ca.pem")) -}}
{{- end -}}
{{- $_ := set $directory "ldap" $ldap -}}
{{- end -}}
{{- $directories = append $directories $directory -}}
{{- end -}}
{{- $_ := set $cfg "directories" $directories -}}

{{- $peers := list -}}
{{- range $c.partners -}}
{{- $id := printf "partner-%s" .name -}}
{{- $peer := dict "name" .name "domains" .domains "reach" .reach "trust_bundle" (include "legate.filePath" (list $files $id "ca.pem")) -}}
{{- if dig "clientCertificate" "existingSecret" "" . -}}
{{- $tls := printf "%s-tls" $id -}}
{{- $_ := set $peer "client_certificate" (dict "certificate" (include "legate.filePath" (list $files $tls "tls.crt")) "private_key" (include "legate.filePath" (list $files $tls "tls.key"))) -}}
{{- end -}}
{{- with .limits }}{{ $_ := set $peer "limits" . }}{{ end -}}
{{- $peers = append $peers $peer -}}
{{- end -}}
{{- $_ := set $cfg "peers" $peers -}}

{{- with $c.dns }}{{ $_ := set $cfg "dns" . }}{{ end -}}

{{- if $c.audit.enabled -}}
{{- $_ := set $cfg "audit" (include "legate.auditSection" (list $ $files $paths) | fromYaml) -}}
{{- end -}}

{{- $_ := set $cfg "telemetry" (include "legate.telemetrySection" (list $ $files) | fromYaml) -}}

{{- $cfg = mergeOverwrite $cfg (deepCopy $c.override) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The listeners, as { listeners: [...] }. Called with (list $ $files). */}}
{{- define "legate.listeners" -}}
{{- $ := index . 0 -}}
{{- $files := index . 1 -}}
{{- $c := $.Values.config -}}
{{- $listeners := list -}}
{{- $internal := $c.listeners.internal -}}
{{- if $internal.enabled -}}
{{- $defaultHost := ternary "127.0.0.1" (include "legate.serviceHost" (list $ (include "legate.internal.serviceName" $))) (eq $.Values.mode "sidecar") -}}
{{- $filters := (include "legate.chain" (list $ "internal" $files $internal) | fromYaml).filters -}}
{{- range $internal.transports -}}
{{- $listeners = append $listeners (dict "name" (printf "internal-%s" .) "address" (printf "%s:%d" $internal.bindAddress (int $internal.port)) "transport" . "side" "internal" "advertised_host" ($internal.advertisedHost | default $defaultHost) "filters" $filters) -}}
{{- end -}}
{{- end -}}
{{- $external := $c.listeners.external -}}
{{- if $external.enabled -}}
{{- $tls := dict "certificate" (include "legate.filePath" (list $files "external-tls" "tls.crt")) "private_key" (include "legate.filePath" (list $files "external-tls" "tls.key")) -}}
{{- if $external.requireClientCertificate -}}
{{- $source := include "legate.clientCaSource" $ -}}
{{- if eq $source "own" -}}
{{- $_ := set $tls "client_ca" (include "legate.filePath" (list $files "client-ca" "ca.pem")) -}}
{{- else if eq $source "partner" -}}
{{- $_ := set $tls "client_ca" (include "legate.filePath" (list $files (printf "partner-%s" (first $c.partners).name) "ca.pem")) -}}
{{- end -}}
{{- end -}}
{{- $host := $external.advertisedHost | default (first $c.localDomains) -}}
{{- $filters := (include "legate.chain" (list $ "external" $files $external) | fromYaml).filters -}}
{{- $listeners = append $listeners (dict "name" "external" "address" (printf "%s:%d" $external.bindAddress (int $external.port)) "transport" "tls" "side" "external" "advertised_host" $host "tls" $tls "filters" $filters) -}}
{{- end -}}
{{- toYaml (dict "listeners" $listeners) -}}
{{- end -}}

{{/* The audit section. Called with (list $ $files $paths). */}}
{{- define "legate.auditSection" -}}
{{- $ := index . 0 -}}
{{- $files := index . 1 -}}
{{- $paths := index . 2 -}}
{{- $a := $.Values.config.audit -}}
{{- $audit := dict "spool_dir" $paths.spoolDir "queue_size" $a.queue_size -}}
{{- with $a.partition }}{{ $_ := set $audit "partition" . }}{{ end -}}
{{- $sinks := list -}}
{{- $s := $a.sinks -}}
{{- if $s.sqlite.enabled -}}
{{- $sqlite := dict "file" $paths.sqliteFile -}}
{{- with $s.sqlite.retention }}{{ $_ := set $sqlite "retention" . }}{{ end -}}
{{- $sinks = append $sinks (dict "name" "local" "sqlite" $sqlite) -}}
{{- end -}}
{{- if $s.postgres.enabled -}}
{{- $postgres := dict "url" (dict "file" (include "legate.filePath" (list $files "postgres-url" "url"))) "pool_size" $s.postgres.pool_size -}}
{{- if $s.postgres.caBundle -}}
{{- $_ := set $postgres "tls_ca" (include "legate.filePath" (list $files "postgres-ca" "ca.pem")) -}}
{{- end -}}
{{- $sinks = append $sinks (dict "name" "central" "postgres" $postgres) -}}
{{- end -}}
{{- if $s.webhook.enabled -}}
{{- $sinks = append $sinks (dict "name" "siem" "webhook" (omit $s.webhook "enabled")) -}}
{{- end -}}
{{- if $s.stdout.enabled -}}
{{- $sinks = append $sinks (dict "name" "log" "stdout" dict) -}}
{{- end -}}
{{- $_ := set $audit "sinks" $sinks -}}
{{- toYaml $audit -}}
{{- end -}}

{{/* The telemetry section. Called with (list $ $files). */}}
{{- define "legate.telemetrySection" -}}
{{- $ := index . 0 -}}
{{- $files := index . 1 -}}
{{- $t := $.Values.config.telemetry -}}
{{- $telemetry := omit $t "otlp" -}}
{{- $otlp := omit $t.otlp "headers" "caBundle" "endpoint" -}}
{{- with $t.otlp.endpoint }}{{ $_ := set $otlp "endpoint" . }}{{ end -}}
{{- if $t.otlp.caBundle -}}
{{- $_ := set $otlp "ca" (include "legate.filePath" (list $files "otlp-ca" "ca.pem")) -}}
{{- end -}}
{{- $headers := dict -}}
{{- range $header, $secret := $t.otlp.headers -}}
{{- $_ := set $headers $header (dict "file" (include "legate.filePath" (list $files (printf "otlp-header-%s" (include "legate.headerId" $header)) "value"))) -}}
{{- end -}}
{{- if $headers }}{{ $_ := set $otlp "headers" $headers }}{{ end -}}
{{- $_ := set $telemetry "otlp" $otlp -}}
{{- toYaml $telemetry -}}
{{- end -}}
