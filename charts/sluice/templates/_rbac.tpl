{{/*
The controller's rules in each namespace it watches (a ClusterRole when it watches all). Each rule
is a call in controller/src; the chart README's RBAC section says which.
*/}}
{{- define "sluice.controllerRules" -}}
- apiGroups: ["sluice.dev"]
  resources: ["queuebindings", "jobtypes", "statussinks"]
  verbs: ["list", "watch"]
- apiGroups: ["sluice.dev"]
  resources: ["queuebindings/status", "jobtypes/status", "statussinks/status"]
  verbs: ["patch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["create", "get", "list", "watch", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
{{ include "sluice.secretRules" . }}
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "get", "update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* The dispatchers' rules in each watched namespace: receive, route and create Jobs, nothing else. */}}
{{- define "sluice.dispatcherRules" -}}
- apiGroups: ["sluice.dev"]
  resources: ["queuebindings", "jobtypes"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["create", "get", "list", "watch"]
{{ include "sluice.secretRules" . }}
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
Payload Secrets are created (create cannot be limited to names: the name is not known when the
request is authorized); credential, sink and notifier Secrets are read, by name when
rbac.secretNames lists them.
*/}}
{{- define "sluice.secretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- with .Values.rbac.secretNames }}
  resourceNames: {{ toJson . }}
{{- end }}
{{- end }}
