{{/* The chart name. */}}
{{- define "flash-sale-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name when it already contains the chart name. */}}
{{- define "flash-sale-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "flash-sale-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flash-sale-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flash-sale-operator.labels" -}}
{{ include "flash-sale-operator.selectorLabels" . }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: flash-sale-operator
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "flash-sale-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flash-sale-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flash-sale-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The namespaces the operator watches, comma-separated; empty = every namespace (scope cluster). A
watchNamespaces list implies the namespaced scope; scope namespaced without a list watches the release's namespace.
*/}}
{{- define "flash-sale-operator.watchNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- join "," .Values.watchNamespaces }}
{{- else if eq .Values.scope "namespaced" }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Refuse combinations that cannot work, with the fix in the message. */}}
{{- define "flash-sale-operator.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicas is %d but leaderElection.enabled is false: two active operators would fight over every object; set leaderElection.enabled=true or replicas=1" (int .Values.replicas)) }}
{{- end }}
{{- end }}
