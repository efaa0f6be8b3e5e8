{{/*
A single-replica PostgreSQL StatefulSet + Service. Credentials reuse externalPostgres.* /
externalPgvector.* so the applications connect the same way to in-cluster and managed
databases. The env names follow the official postgres image, which the locally built Debian
image honours too.
*/}}
{{- define "jitera.postgresStatefulSet" -}}
{{- $root := .root -}}
{{- $c := dict "root" .root "component" .component -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "jitera.name" $c }}
  labels:
    {{- include "jitera.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  serviceName: {{ include "jitera.name" $c }}
  replicas: 1
  selector:
    matchLabels:
      {{- include "jitera.selector" $c | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "jitera.selector" $c | nindent 8 }}
    spec:
      containers:
        - name: postgresql
          image: {{ include "jitera.image" .store.image }}
          imagePullPolicy: {{ $root.Values.imagePullPolicy }}
          env:
            - name: POSTGRES_USER
              value: {{ .credentials.username | quote }}
            - name: POSTGRES_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ include "jitera.name" (dict "root" $root "component" "credentials") }}
                  key: {{ .passwordKey }}
            - name: POSTGRES_DB
              value: {{ .credentials.database | quote }}
            - name: PGDATA
              value: /var/lib/postgresql/data/pgdata
          ports:
            - name: postgresql
              containerPort: 5432
          readinessProbe:
            exec:
              command: ["pg_isready", "-h", "127.0.0.1", "-U", {{ .credentials.username | quote }}]
            periodSeconds: 5
          volumeMounts:
            - name: data
              mountPath: /var/lib/postgresql/data
      {{- if not .store.persistence.enabled }}
      volumes:
        - name: data
          emptyDir: {}
      {{- end }}
  {{- if .store.persistence.enabled }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        {{- with .store.persistence.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ .store.persistence.size }}
  {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "jitera.name" $c }}
  labels:
    {{- include "jitera.labels" $root | nindent 4 }}
spec:
  selector:
    {{- include "jitera.selector" $c | nindent 4 }}
  ports:
    - name: postgresql
      port: 5432
      targetPort: postgresql
{{- end -}}
