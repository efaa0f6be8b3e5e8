{{/* Host of the Automation PostgreSQL: in-cluster Service or externalPostgres.host. */}}
{{- define "jitera.automationDbHost" -}}
{{- if .Values.postgresql.enabled -}}
{{ include "jitera.name" (dict "root" . "component" "postgresql") }}
{{- else -}}
{{ required "externalPostgres.host is required when postgresql.enabled is false" .Values.externalPostgres.host }}
{{- end -}}
{{- end -}}
