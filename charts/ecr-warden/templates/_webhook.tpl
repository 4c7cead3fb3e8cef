{{/*
Admission rules for the kinds in config.webhook.kinds. Pods include pods/ephemeralcontainers,
the subresource `kubectl debug` adds containers through. Workload kinds are checked at their
pod template, so a bad image is refused when the Deployment is applied rather than when its
ReplicaSet fails to create pods.
*/}}
{{- define "ecr-warden.webhookRules" -}}
{{- $kinds := index . 0 }}
{{- $resources := dict
  "Pod" (list "" "pods" "pods/ephemeralcontainers")
  "ReplicationController" (list "" "replicationcontrollers")
  "Deployment" (list "apps" "deployments")
  "StatefulSet" (list "apps" "statefulsets")
  "DaemonSet" (list "apps" "daemonsets")
  "ReplicaSet" (list "apps" "replicasets")
  "Job" (list "batch" "jobs")
  "CronJob" (list "batch" "cronjobs")
}}
{{- $byGroup := dict }}
{{- range $kind := $kinds }}
{{- $entry := get $resources $kind }}
{{- $group := first $entry }}
{{- $_ := set $byGroup $group (concat (get $byGroup $group | default list) (rest $entry)) }}
{{- end }}
{{- range $group := keys $byGroup | sortAlpha }}
- apiGroups: [{{ $group | quote }}]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: {{ get $byGroup $group | uniq | toJson }}
  scope: Namespaced
{{- end }}
{{- end }}

{{/*
Fields shared by the validating and the mutating webhook. Arguments: root context, the list of
namespaces to leave out, the webhook path.
*/}}
{{- define "ecr-warden.webhookCommon" -}}
{{- $root := index . 0 }}
{{- $excluded := index . 1 }}
{{- $path := index . 2 }}
{{- $settings := include "ecr-warden.settings" $root | fromJson }}
{{- $userSelector := $root.Values.webhook.namespaceSelector | default dict }}
admissionReviewVersions: ["v1"]
sideEffects: None
matchPolicy: Equivalent
timeoutSeconds: {{ int $root.Values.webhook.timeoutSeconds }}
clientConfig:
  {{- include "ecr-warden.webhookClientConfig" (list $root $path) | trim | nindent 2 }}
{{- /* /mutate pins Pods only (workload templates are pinned when their pods are created). */}}
{{- $kinds := ternary (list "Pod") $settings.kinds (eq $path "/mutate") }}
rules:
  {{- include "ecr-warden.webhookRules" (list $kinds) | trim | nindent 2 }}
namespaceSelector:
  {{- with $userSelector.matchLabels }}
  matchLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  matchExpressions:
    # The controller's own namespace and kube-system are never sent: a webhook that can block
    # its own pods or the cluster's system pods can deadlock the cluster.
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- toYaml ($excluded | uniq | sortAlpha) | nindent 8 }}
    {{- with $userSelector.matchExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- with $root.Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if semverCompare ">=1.28-0" $root.Capabilities.KubeVersion.Version }}
matchConditions:
  # Updates that leave the spec alone (labels, annotations, finalizers, owner references) cannot
  # change an image: not sending them saves most pod UPDATE calls, and a policy change can never
  # block a finalizer's removal.
  - name: spec-changed
    expression: "request.operation != 'UPDATE' || object.spec != oldObject.spec"
{{- end }}
{{- end }}
