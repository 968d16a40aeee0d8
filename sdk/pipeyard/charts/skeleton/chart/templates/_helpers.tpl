{{/* Object names: the chart (app) name, so every environment's objects are named alike. */}}
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Label values allow 63 characters and must end alphanumeric; image tags allow 128. */}}
{{- define "app.version" -}}
{{- .Values.image.tag | default "" | toString | trunc 63 | trimSuffix "-" | trimSuffix "." | trimSuffix "_" -}}
{{- end -}}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "app.labels" -}}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ include "app.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* repository:tag@digest pulls by digest and keeps the tag readable in `kubectl describe`. */}}
{{- define "app.image" -}}
{{- $repo := required "image.repository is not set: set it in values.yaml" .Values.image.repository -}}
{{- $tag := .Values.image.tag | default "" | toString -}}
{{- $digest := .Values.image.digest | default "" | toString -}}
{{- if not (or $tag $digest) -}}
{{- fail "image.tag and image.digest are empty: this environment has no pinned image yet; the first gitops bump (or `pipeyard chart init --image REPO:TAG`) pins one" -}}
{{- end -}}
{{- if and $tag $digest -}}
{{- printf "%s:%s@%s" $repo $tag $digest -}}
{{- else if $digest -}}
{{- printf "%s@%s" $repo $digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{- define "app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "app.name" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The fewest replicas that run: "true" when more than one, so disruptions and placement matter. */}}
{{- define "app.replicated" -}}
{{- $least := ternary .Values.autoscaling.minReplicas .Values.replicaCount .Values.autoscaling.enabled -}}
{{- if gt (int $least) 1 -}}true{{- end -}}
{{- end -}}

{{/* An HTTP probe on the app port, or a TCP probe when no path is set. */}}
{{- define "app.probe" -}}
{{- if .probe.path -}}
httpGet:
  path: {{ .probe.path }}
  port: http
{{- else -}}
tcpSocket:
  port: http
{{- end }}
periodSeconds: {{ .probe.periodSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end -}}

{{/*
The B2I launcher's switches, as b2i/b2i.yaml declares them. With tracing off the
launcher leaves the SkyWalking agent off the java command line altogether.
*/}}
{{- define "app.b2iEnv" -}}
- name: TZ
  value: {{ .Values.timezone | quote }}
- name: B2I_APP_PORT
  value: {{ .Values.containerPort | quote }}
{{- with .Values.javaOpts }}
- name: JAVA_OPTS
  value: {{ . | quote }}
{{- end }}
- name: B2I_TRACING
  value: {{ ternary "on" "off" (.Values.tracing.enabled | default false) | quote }}
{{- if .Values.tracing.enabled }}
- name: SW_AGENT_NAME
  value: {{ .Values.tracing.serviceName | default (include "app.name" .) | quote }}
- name: SW_AGENT_COLLECTOR_BACKEND_SERVICES
  value: {{ required "tracing.enabled is true but tracing.collector is empty: set it to the SkyWalking OAP host:port" .Values.tracing.collector | quote }}
{{- /* The agent logs to its own folder by default, which the read-only root file system refuses. */}}
- name: SW_LOGGING_OUTPUT
  value: CONSOLE
{{- end }}
- name: B2I_METRICS
  value: {{ ternary "on" "off" (.Values.metrics.enabled | default false) | quote }}
{{- if .Values.metrics.enabled }}
- name: B2I_METRICS_PORT
  value: {{ .Values.metrics.port | quote }}
{{- end }}
{{- end -}}
