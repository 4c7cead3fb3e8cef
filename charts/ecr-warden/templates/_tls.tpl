{{/*
The chart-generated webhook certificate (webhook.certManager.enabled false), as JSON with
base64 fields {caCert, cert, key} (use: include "ecr-warden.generatedTLS" . | fromJson).

An existing Secret from an earlier install is reused as is, so upgrades keep the CA that the
webhook configurations trust and the pods do not see their certificate change. Otherwise a
new CA and serving certificate are generated. Generation is random, so the result is kept on
the root context: the Secret and both webhook configurations are rendered in different
templates and must carry the same CA.
*/}}
{{- define "ecr-warden.generatedTLS" -}}
{{- if not (hasKey . "ecrWardenGeneratedTLS") }}
{{- $secretName := include "ecr-warden.tlsSecretName" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName }}
{{- $data := dig "data" dict ($existing | default dict) }}
{{- $tls := dict }}
{{- if and (get $data "ca.crt") (get $data "tls.crt") (get $data "tls.key") }}
{{- $tls = dict "caCert" (get $data "ca.crt") "cert" (get $data "tls.crt") "key" (get $data "tls.key") }}
{{- else }}
{{- /* 3650 days: long enough not to expire under a running cluster unnoticed; rotate by deleting the Secret and upgrading. */}}
{{- $ca := genCA (printf "%s-webhook-ca" (include "ecr-warden.fullname" .)) 3650 }}
{{- $dnsNames := include "ecr-warden.webhookDNSNames" . | fromJsonArray }}
{{- $cert := genSignedCert (index $dnsNames 2) nil $dnsNames 3650 $ca }}
{{- $tls = dict "caCert" ($ca.Cert | b64enc) "cert" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) }}
{{- end }}
{{- $_ := set . "ecrWardenGeneratedTLS" $tls }}
{{- end }}
{{- toJson (get . "ecrWardenGeneratedTLS") }}
{{- end }}

{{/*
How the webhook configurations learn the CA: cert-manager's CA injector fills in caBundle from
the Certificate's Secret, or the chart writes the generated CA itself.
*/}}
{{- define "ecr-warden.webhookCAAnnotations" -}}
{{- if .Values.webhook.certManager.enabled }}
cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "ecr-warden.fullname" .) }}
{{- end }}
{{- end }}

{{- define "ecr-warden.webhookClientConfig" -}}
{{- $root := index . 0 }}
{{- $path := index . 1 }}
service:
  name: {{ include "ecr-warden.webhookServiceName" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ $path }}
  port: 443
{{- if not $root.Values.webhook.certManager.enabled }}
caBundle: {{ (include "ecr-warden.generatedTLS" $root | fromJson).caCert }}
{{- end }}
{{- end }}
