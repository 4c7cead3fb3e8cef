{{/*
The controller's configuration as the chart renders it, and every fact the templates derive
from it, as one JSON object (use: include "ecr-warden.settings" . | fromJson):

  config            the config file: values.config with the chart-owned keys set
  metricsPort       config.metrics.port or its default
  webhookPort       config.webhook.port or its default
  deadlineSeconds   config.webhook.deadline in seconds
  kinds             config.webhook.kinds or its default
  exemptNamespaces  config.policy.exemptNamespaces or its default
  leaderElection    {enabled, leaseName, namespace}: the effective lease settings

Defaults here are the program's own (the configuration file reference); the chart needs them
to open ports and write webhook rules for keys the user left out of values.config.
Contradictory values fail here, so every template that includes this fails the same way.
*/}}
{{- define "ecr-warden.settings" -}}
{{- $values := .Values }}
{{- $user := deepCopy ($values.config | default dict) }}
{{- $userWebhook := get $user "webhook" | default dict }}
{{- $userLeader := get $user "leaderElection" | default dict }}
{{- $replicas := int $values.replicaCount }}
{{- $webhookEnabled := $values.webhook.enabled }}
{{- $pinDigests := and $values.webhook.enabled $values.webhook.mutating.enabled }}
{{- $tlsDir := include "ecr-warden.tlsDir" . }}
{{- $certFile := printf "%s/tls.crt" $tlsDir }}
{{- $keyFile := printf "%s/tls.key" $tlsDir }}

{{- if and $values.webhook.mutating.enabled (not $values.webhook.enabled) }}
{{- fail "webhook.mutating.enabled requires webhook.enabled: the mutating webhook is served by the same webhook server" }}
{{- end }}

{{- /* Chart-owned keys: accepted in values.config only with the value the chart sets. */}}
{{- if and (hasKey $userWebhook "enabled") (ne (toString (get $userWebhook "enabled")) (toString $webhookEnabled)) }}
{{- fail (printf "config.webhook.enabled is set by the chart from webhook.enabled (%v); set webhook.enabled instead" $webhookEnabled) }}
{{- end }}
{{- if and (hasKey $userWebhook "pinDigests") (ne (toString (get $userWebhook "pinDigests")) (toString $pinDigests)) }}
{{- fail (printf "config.webhook.pinDigests is set by the chart from webhook.mutating.enabled (%v): pinning needs the mutating webhook registered; set webhook.mutating.enabled instead" $pinDigests) }}
{{- end }}
{{- if and (hasKey $userWebhook "certFile") (ne (get $userWebhook "certFile") $certFile) }}
{{- fail (printf "config.webhook.certFile is set by the chart to the mounted TLS Secret (%s); leave it out" $certFile) }}
{{- end }}
{{- if and (hasKey $userWebhook "keyFile") (ne (get $userWebhook "keyFile") $keyFile) }}
{{- fail (printf "config.webhook.keyFile is set by the chart to the mounted TLS Secret (%s); leave it out" $keyFile) }}
{{- end }}

{{- /* Leader election: on with more than one replica, or when asked for explicitly. */}}
{{- $leaderEnabled := gt $replicas 1 }}
{{- if hasKey $userLeader "enabled" }}
{{- if and (gt $replicas 1) (not (get $userLeader "enabled")) }}
{{- fail (printf "config.leaderElection.enabled is false with replicaCount %d: every replica would run the inventory, doubling ECR calls and per-image series; remove the key or set replicaCount to 1" $replicas) }}
{{- end }}
{{- $leaderEnabled = get $userLeader "enabled" }}
{{- end }}
{{- $leaseName := get $userLeader "leaseName" | default (include "ecr-warden.fullname" .) }}
{{- $leaseNamespace := get $userLeader "namespace" | default .Release.Namespace }}

{{- /* Keys the chart reads. */}}
{{- $metricsPort := int (dig "metrics" "port" 9090 $user) }}
{{- $webhookPort := int (dig "webhook" "port" 8443 $user) }}
{{- $deadline := toString (dig "webhook" "deadline" "2s" $user) }}
{{- $deadlineSeconds := float64 (include "ecr-warden.durationSeconds" $deadline) }}
{{- $kinds := dig "webhook" "kinds" (list "Pod") $user }}
{{- $exempt := dig "policy" "exemptNamespaces" (list "kube-system") $user }}

{{- if and $webhookEnabled (eq $metricsPort $webhookPort) }}
{{- fail (printf "config.metrics.port and config.webhook.port are both %d; the metrics server and the webhook server need a port each" $metricsPort) }}
{{- end }}
{{- range $key := list "metrics" "webhook" }}
{{- $address := toString (dig $key "address" "0.0.0.0" $user) }}
{{- if or (hasPrefix "127." $address) (eq $address "::1") (eq $address "localhost") }}
{{- fail (printf "config.%s.address is %s: a loopback address is unreachable from the kubelet probes and the API server; leave it out" $key $address) }}
{{- end }}
{{- end }}
{{- if $webhookEnabled }}
{{- if not (gt (float64 $values.webhook.timeoutSeconds) $deadlineSeconds) }}
{{- fail (printf "webhook.timeoutSeconds (%v) must be above config.webhook.deadline (%s): the controller answers within the deadline, and the API server must wait for that answer" $values.webhook.timeoutSeconds $deadline) }}
{{- end }}
{{- if and $values.webhook.certManager.enabled $values.webhook.certManager.issuerRef (not $values.webhook.certManager.issuerRef.name) }}
{{- fail "webhook.certManager.issuerRef needs a name (and optionally kind and group), or leave it empty for a self-signed Issuer" }}
{{- end }}
{{- end }}

{{- /* Set one by one: sprig's merge functions skip false, and several owned values can be false. */}}
{{- $config := $user }}
{{- $_ := set $userWebhook "enabled" $webhookEnabled }}
{{- $_ = set $userWebhook "pinDigests" $pinDigests }}
{{- $_ = set $userWebhook "certFile" $certFile }}
{{- $_ = set $userWebhook "keyFile" $keyFile }}
{{- $_ = set $config "webhook" $userWebhook }}
{{- $_ = set $userLeader "enabled" $leaderEnabled }}
{{- $_ = set $userLeader "leaseName" $leaseName }}
{{- $_ = set $config "leaderElection" $userLeader }}
{{- toJson (dict
  "config" $config
  "metricsPort" $metricsPort
  "webhookPort" $webhookPort
  "deadlineSeconds" $deadlineSeconds
  "kinds" $kinds
  "exemptNamespaces" $exempt
  "leaderElection" (dict "enabled" $leaderEnabled "leaseName" $leaseName "namespace" $leaseNamespace)
) }}
{{- end }}

{{/*
A duration in the configuration's syntax (Go's, with d for days: 800ms, 1h30m, 1.5s, 30d) as
seconds. values.schema.json has already checked the syntax.
*/}}
{{- define "ecr-warden.durationSeconds" -}}
{{- $unitSeconds := dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "μs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0 }}
{{- $total := 0.0 }}
{{- range $part := regexFindAll "([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h|d)" . -1 }}
{{- $number := regexFind "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)" $part }}
{{- $unit := trimPrefix $number $part }}
{{- $total = addf $total (mulf (float64 $number) (get $unitSeconds $unit)) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
The rendered config file.
*/}}
{{- define "ecr-warden.configFile" -}}
{{- $settings := include "ecr-warden.settings" . | fromJson }}
{{- toYaml $settings.config }}
{{- end }}
