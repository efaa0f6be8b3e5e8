{{/* Host of the Automation PostgreSQL: in-cluster Service or externalPostgres.primary.host.
v24.06.01 moved the key from externalPostgres.host; an override of the old key is ignored. */}}
{{- define "jitera.automationDbHost" -}}
{{- if .Values.postgresql.enabled -}}
{{ include "jitera.name" (dict "root" . "component" "postgresql") }}
{{- else -}}
{{ required "externalPostgres.primary.host is required when postgresql.enabled is false" .Values.externalPostgres.primary.host }}
{{- end -}}
{{- end -}}
