{{/* Common labels; app.kubernetes.io/instance lets the harness select one release's pods. */}}
{{- define "jitera.labels" -}}
app.kubernetes.io/name: jitera
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}

{{- define "jitera.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "jitera.name" -}}
{{ printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "jitera.image" -}}
{{ printf "%s:%s" .repository (toString .tag) | quote }}
{{- end -}}

{{- define "jitera.pgvectorDbHost" -}}
{{- if .Values.pgvector.enabled -}}
{{ include "jitera.name" (dict "root" . "component" "pgvector") }}
{{- else -}}
{{ required "externalPgvector.host is required when pgvector.enabled is false" .Values.externalPgvector.host }}
{{- end -}}
{{- end -}}

{{- define "jitera.automationDatabaseUrl" -}}
{{- $p := .Values.externalPostgres -}}
{{ printf "postgres://%s:%s@%s:%v/%s" (urlquery $p.username) (urlquery $p.password) (include "jitera.automationDbHost" .) $p.port $p.database }}
{{- end -}}

{{- define "jitera.pgvectorDatabaseUrl" -}}
{{- $p := .Values.externalPgvector -}}
{{ printf "postgres://%s:%s@%s:%v/%s" (urlquery $p.username) (urlquery $p.password) (include "jitera.pgvectorDbHost" .) $p.port $p.database }}
{{- end -}}

{{- define "jitera.mongodbUri" -}}
{{- if .Values.mongodb.enabled -}}
{{ printf "mongodb://%s:27017/" (include "jitera.name" (dict "root" . "component" "mongodb")) }}
{{- else -}}
{{ required "externalMongodb.uri is required when mongodb.enabled is false" .Values.externalMongodb.uri }}
{{- end -}}
{{- end -}}

{{/* Environment shared by every process running the automation image. */}}
{{- define "jitera.automationEnv" -}}
- name: RAILS_ENV
  value: production
- name: JITERA_RELEASE
  value: {{ .Chart.AppVersion | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "jitera.name" (dict "root" . "component" "credentials") }}
      key: automation-database-url
- name: SECRET_KEY_BASE
  valueFrom:
    secretKeyRef:
      name: {{ include "jitera.name" (dict "root" . "component" "credentials") }}
      key: secret-key-base
- name: SMTP_HOST
  value: {{ .Values.credentials.smtp.host | quote }}
- name: SMTP_PORT
  value: {{ .Values.credentials.smtp.port | quote }}
- name: SMTP_USERNAME
  value: {{ .Values.credentials.smtp.username | quote }}
- name: SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "jitera.name" (dict "root" . "component" "credentials") }}
      key: smtp-password
- name: MAIL_FROM
  value: {{ .Values.credentials.smtp.from | quote }}
- name: CLI_PUBLIC_KEY_PATH
  value: /etc/jitera/cli/public.pem
{{- end -}}
