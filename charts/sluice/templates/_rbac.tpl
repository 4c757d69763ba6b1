{{/*
The controller's rules in each namespace it watches (a ClusterRole when it watches all). Each rule
is a call in controller/src; the chart README's RBAC section says which. RBAC lets the controller
grant a dispatcher's Role only what it holds itself, so these cover that Role too
(dispatch/deployment.ts).
*/}}
{{- define "sluice.controllerRules" -}}
- apiGroups: ["sluice.dev"]
  resources: ["queuebindings", "jobtypes", "statussinks"]
  verbs: ["get", "list", "watch"]
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
  verbs: ["create", "get", "update", "delete", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["list", "watch"]
{{- end }}

{{/*
Payload Secrets are created (create cannot be limited to names: the name is not known when the
request is authorized); credential, sink and notifier Secrets are read (get, or list and watch with
a metadata.name field selector), by name when rbac.secretNames lists them.
*/}}
{{- define "sluice.secretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- with .Values.rbac.secretNames }}
  resourceNames: {{ toJson . }}
{{- end }}
{{- end }}

{{/*
With dispatcher.enabled: what the controller applies (server-side apply: patch, and create for a
new object) and deletes for each binding with its own dispatcher Deployment, in the binding's
namespace (dispatch/deployment-applier.ts).
*/}}
{{- define "sluice.dispatcherObjectRules" -}}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["create", "get", "patch", "delete"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects", "triggerauthentications"]
  verbs: ["create", "get", "patch", "delete"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["create", "get", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["create", "get", "patch", "delete"]
{{- end }}
