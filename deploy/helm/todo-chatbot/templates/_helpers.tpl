{{/*
Names and labels of every object. Names are cut to 63 characters, the limit of a DNS label.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "todo-chatbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: fullnameOverride, else the release name when it already
contains the chart name (release "todo-chatbot" gives "todo-chatbot"), else "<release>-<chart>".
*/}}
{{- define "todo-chatbot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The name of one component's objects: "<fullname>-<component>", within 63 characters, or within
"max" when the call passes one.
*/}}
{{- define "todo-chatbot.componentName" -}}
{{- $max := dig "max" 63 . | int }}
{{- $full := include "todo-chatbot.fullname" .root | trunc (int (sub (sub $max 1) (len .component))) | trimSuffix "-" }}
{{- printf "%s-%s" $full .component }}
{{- end }}

{{/*
The PostgreSQL StatefulSet's name, also its headless Service's and NetworkPolicy's: within 52
characters, not 63. The StatefulSet controller labels every pod with controller-revision-hash
"<name>-<hash of up to 10 characters>", and a label value over 63 characters makes every pod
creation fail, so a longer name would give a StatefulSet that never starts its pod.
*/}}
{{- define "todo-chatbot.postgresName" -}}
{{- include "todo-chatbot.componentName" (dict "root" . "component" "postgres" "max" 52) }}
{{- end }}

{{- define "todo-chatbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that never change for a component: the selectors use these only. Values are quoted,
like every name below that comes from the release or the values: a release called "on", "yes"
or "2025" would otherwise be read as a boolean or a number, which Kubernetes refuses as a label
value or a name.
*/}}
{{- define "todo-chatbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-chatbot.name" .root | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end }}

{{/* The full app.kubernetes.io/* set; call with (dict "root" $ "component" "backend"). */}}
{{- define "todo-chatbot.labels" -}}
helm.sh/chart: {{ include "todo-chatbot.chart" .root | quote }}
{{ include "todo-chatbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ include "todo-chatbot.name" .root | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "todo-chatbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "todo-chatbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret with DATABASE_URL, OPENAI_API_KEY, AUTH_SECRET and POSTGRES_PASSWORD. */}}
{{- define "todo-chatbot.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "todo-chatbot.componentName" (dict "root" . "component" "secrets") }}
{{- end }}
{{- end }}

{{/*
The SQLite claim: "<fullname>-sqlite", the name the raw manifests use too, so a switch between
them keeps the data.
*/}}
{{- define "todo-chatbot.sqliteClaimName" -}}
{{- include "todo-chatbot.componentName" (dict "root" . "component" "sqlite") }}
{{- end }}

{{/* A full image reference; call with (dict "root" $ "image" .Values.backend.image). */}}
{{- define "todo-chatbot.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag }}
{{- if .root.Values.image.registry }}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The restricted pod security context of every pod; the argument is the user and group id
(65532 for the app images, 999 for PostgreSQL's own user).
*/}}
{{- define "todo-chatbot.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
# Re-own a volume only when its root does not match: fast restarts with big volumes.
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The restricted container security context; the argument is the user and group id. */}}
{{- define "todo-chatbot.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Settings every pod of the chart shares; call with (dict "root" $ "uid" 65532). */}}
{{- define "todo-chatbot.podCommon" -}}
{{- $root := .root }}
serviceAccountName: {{ include "todo-chatbot.serviceAccountName" $root | quote }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- include "todo-chatbot.podSecurityContext" .uid | nindent 2 }}
{{- end }}

{{/*
Render-time checks: settings that pass the schema one by one but not together fail here with
the reason and the fix.
*/}}
{{- define "todo-chatbot.validate" -}}
{{- $db := .Values.database.mode }}
{{- $full := include "todo-chatbot.fullname" . }}
{{- if not (regexMatch "^[a-z]" $full) }}
{{- fail (printf "the objects' names start with %q (the release name, else fullnameOverride), but a Service's name must start with a letter: choose a release name that does, or set fullnameOverride to one." $full) }}
{{- end }}
{{- if eq $db "sqlite" }}
{{- if gt (int .Values.backend.replicaCount) 1 }}
{{- fail (printf "database.mode=sqlite keeps the data in one pod's file, so backend.replicaCount must be 1 (got %d). Use database.mode=external (a PostgreSQL URL in the Secret) or database.mode=internal (the chart's PostgreSQL) to run more backend replicas." (int .Values.backend.replicaCount)) }}
{{- end }}
{{- if .Values.backend.autoscaling.enabled }}
{{- fail "database.mode=sqlite keeps the data in one pod's file, so backend.autoscaling.enabled must be false. Use database.mode=external or database.mode=internal to autoscale the backend." }}
{{- end }}
{{- end }}
{{- /* The chart makes no Secret when existingSecret is set: values for it would be dropped unseen. */}}
{{- with .Values.secrets }}
{{- if and .existingSecret (or .databaseUrl .openaiApiKey .authSecret) }}
{{- fail (printf "secrets.existingSecret (%s) names your own Secret, so the chart makes none and does not read secrets.databaseUrl, secrets.openaiApiKey or secrets.authSecret: put DATABASE_URL, OPENAI_API_KEY and AUTH_SECRET in that Secret and remove them from the values, or leave existingSecret empty to have the chart make the Secret." .existingSecret) }}
{{- end }}
{{- end }}
{{- if and (eq $db "external") (not .Values.secrets.existingSecret) (not .Values.secrets.databaseUrl) }}
{{- fail "database.mode=external needs the PostgreSQL URL: set secrets.existingSecret to a Secret with a DATABASE_URL key (preferred), or secrets.databaseUrl." }}
{{- end }}
{{- if and (ne $db "external") .Values.secrets.databaseUrl }}
{{- fail (printf "secrets.databaseUrl is only read with database.mode=external (mode is %s): remove it, or set database.mode=external." $db) }}
{{- end }}
{{- range $component := list "backend" "frontend" }}
{{- $v := index $.Values $component }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail (printf "%s.autoscaling.minReplicas (%d) is above maxReplicas (%d)." $component (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- end }}
{{- end }}
{{- range $component := list "backend" "frontend" }}
{{- $v := index $.Values $component }}
{{- $least := add (int $v.shutdownDelaySeconds) 25 }}
{{- if lt (int $v.terminationGracePeriodSeconds) $least }}
{{- fail (printf "%s.terminationGracePeriodSeconds (%d) must cover %s.shutdownDelaySeconds (%d) plus the 25 s drain: set it to %d or more, or lower the delay." $component (int $v.terminationGracePeriodSeconds) $component (int $v.shutdownDelaySeconds) $least) }}
{{- end }}
{{- if $v.pdb.enabled }}
{{- $pods := ternary (int $v.autoscaling.minReplicas) (int $v.replicaCount) (and $v.autoscaling.enabled true) }}
{{- if and (eq $component "backend") (eq $db "sqlite") }}
{{- fail "backend.pdb.enabled with database.mode=sqlite: the one backend pod could never be evicted, so node drains would hang. Leave backend.pdb off with SQLite, or use database.mode=internal or external with two or more replicas." }}
{{- else if le $pods (int $v.pdb.minAvailable) }}
{{- fail (printf "%s.pdb.minAvailable (%d) needs more pods than that, else no node drain can evict one: %s has %d. Raise %s.replicaCount (or autoscaling.minReplicas), or lower minAvailable." $component (int $v.pdb.minAvailable) $component $pods $component) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (eq $db "external") (not .Values.networkPolicy.egressCidrs) }}
{{- fail "networkPolicy.egressCidrs is empty, so with database.mode=external the backend could not reach its database: list the database's range in networkPolicy.egressCidrs, or set networkPolicy.enabled=false." }}
{{- end }}
{{- /* A rule with no ports allows every port: an empty list must not widen the rule. */}}
{{- if and .Values.networkPolicy.enabled .Values.networkPolicy.egressCidrs (not .Values.networkPolicy.egressPorts) (ne $db "external") }}
{{- fail "networkPolicy.egressPorts is empty, and a NetworkPolicy rule without ports allows every port on networkPolicy.egressCidrs: list the ports (443 for the model API), or set networkPolicy.egressCidrs=[] to allow no egress outside the cluster." }}
{{- end }}
{{- if and (eq .Values.frontend.service.type "ClusterIP") .Values.frontend.service.nodePort }}
{{- fail (printf "frontend.service.nodePort (%d) needs frontend.service.type NodePort or LoadBalancer; a ClusterIP Service has no node port." (int .Values.frontend.service.nodePort)) }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.enabled needs ingress.host." }}
{{- end }}
{{- end }}
