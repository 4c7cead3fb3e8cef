{{/*
Names.
*/}}
{{- define "ecr-warden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: Kubernetes names are limited to 63 characters, and the longest suffix the chart
appends ("-webhook-tls", 12) still has to fit, so the base is cut at 50.
*/}}
{{- define "ecr-warden.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ecr-warden.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: the Deployment's selector is immutable, so these never change between chart
versions and carry nothing that varies (no version, no chart, no user labels).
*/}}
{{- define "ecr-warden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecr-warden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels on every object: the selector labels plus what describes this release.
*/}}
{{- define "ecr-warden.labels" -}}
helm.sh/chart: {{ include "ecr-warden.chart" . }}
{{ include "ecr-warden.selectorLabels" . }}
app.kubernetes.io/version: {{ include "ecr-warden.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ecr-warden
{{- end }}

{{- define "ecr-warden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ecr-warden.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ecr-warden.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "ecr-warden.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "ecr-warden.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Where the webhook's TLS Secret is mounted; the config's certFile/keyFile point into it.
*/}}
{{- define "ecr-warden.tlsDir" -}}/etc/ecr-warden/tls{{- end }}
{{- define "ecr-warden.configDir" -}}/etc/ecr-warden{{- end }}

{{- define "ecr-warden.metricsServiceName" -}}
{{- printf "%s-metrics" (include "ecr-warden.fullname" .) }}
{{- end }}

{{- define "ecr-warden.webhookServiceName" -}}
{{- printf "%s-webhook" (include "ecr-warden.fullname" .) }}
{{- end }}

{{/*
Two Secret names, one per way of issuing the certificate: switching between them never makes
the chart claim a Secret cert-manager created (or the other way round).
*/}}
{{- define "ecr-warden.tlsSecretName" -}}
{{- if .Values.webhook.certManager.enabled }}
{{- printf "%s-webhook-cert" (include "ecr-warden.fullname" .) }}
{{- else }}
{{- printf "%s-webhook-tls" (include "ecr-warden.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The DNS names the API server uses to reach the webhook Service.
*/}}
{{- define "ecr-warden.webhookDNSNames" -}}
{{- $svc := include "ecr-warden.webhookServiceName" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson }}
{{- end }}
