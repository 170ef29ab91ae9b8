{{/*
The chart's name.
*/}}
{{- define "kartustok-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: the name of every object it creates. Truncated to
63 characters, the longest DNS label.
*/}}
{{- define "kartustok-exporter.fullname" -}}
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
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "kartustok-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "kartustok-exporter.labels" -}}
helm.sh/chart: {{ include "kartustok-exporter.chart" . }}
{{ include "kartustok-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: exporter
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the release's pod.
*/}}
{{- define "kartustok-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kartustok-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount the pod runs as.
*/}}
{{- define "kartustok-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kartustok-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image, by digest when one is given.
*/}}
{{- define "kartustok-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The Secret holding the token: the existing one, or the one the chart creates.
*/}}
{{- define "kartustok-exporter.tokenSecretName" -}}
{{- if .Values.kartustok.token.existingSecret }}
{{- .Values.kartustok.token.existingSecret }}
{{- else }}
{{- printf "%s-token" (include "kartustok-exporter.fullname" .) | trunc 253 }}
{{- end }}
{{- end }}

{{/*
Whether a minimums file is configured ("true" or empty).
*/}}
{{- define "kartustok-exporter.minimumsEnabled" -}}
{{- if or .Values.minimums.content .Values.minimums.existingConfigMap }}true{{ end }}
{{- end }}

{{/*
The ConfigMap holding the minimums file.
*/}}
{{- define "kartustok-exporter.minimumsConfigMapName" -}}
{{- if .Values.minimums.existingConfigMap }}
{{- .Values.minimums.existingConfigMap }}
{{- else }}
{{- printf "%s-minimums" (include "kartustok-exporter.fullname" .) | trunc 253 }}
{{- end }}
{{- end }}

{{/*
The PersistentVolumeClaim holding the state: the existing one, or the one the
chart creates.
*/}}
{{- define "kartustok-exporter.stateClaimName" -}}
{{- if .Values.persistence.existingClaim }}
{{- .Values.persistence.existingClaim }}
{{- else }}
{{- printf "%s-state" (include "kartustok-exporter.fullname" .) | trunc 253 }}
{{- end }}
{{- end }}

{{/*
The job label value that alerts/kartustok.rules.yml selects (up{job="..."}).
The PrometheusRule replaces it with .Values.job; a test checks that it is the
rules file's job and the default of .Values.job.
*/}}
{{- define "kartustok-exporter.rulesFileJob" -}}
kartustok
{{- end }}

{{/*
Checks the values that a schema cannot, and fails with what to change.
*/}}
{{- define "kartustok-exporter.validate" -}}
{{- if not .Values.kartustok.url }}
{{- fail "kartustok.url is required: the company's API base URL, https://<subdomain>.kartustok.com/public/v1" }}
{{- end }}
{{- if and .Values.kartustok.token.existingSecret .Values.kartustok.token.value }}
{{- fail "set either kartustok.token.existingSecret or kartustok.token.value, not both" }}
{{- end }}
{{- if not (or .Values.kartustok.token.existingSecret .Values.kartustok.token.value) }}
{{- fail "a token is required: set kartustok.token.existingSecret to the name of a Secret holding it (recommended), or kartustok.token.value" }}
{{- end }}
{{- if and .Values.minimums.content .Values.minimums.existingConfigMap }}
{{- fail "set either minimums.content or minimums.existingConfigMap, not both" }}
{{- end }}
{{- if and .Values.persistence.existingClaim (not .Values.persistence.enabled) }}
{{- fail "persistence.existingClaim is used only with persistence.enabled: true; set both, or neither for an emptyDir" }}
{{- end }}
{{- $strategy := .Values.strategy | default dict }}
{{- if and .Values.persistence.enabled (ne (toString $strategy.type) "Recreate") }}
{{- fail "with persistence.enabled, strategy.type must be Recreate: a rolling update starts the new pod while the old one holds the claim, so a ReadWriteOnce volume never attaches on another node, and on the same node two exporters write one state file" }}
{{- end }}
{{- /* Flags the chart sets itself, or that would break the release without
an error at install: the pod would listen elsewhere than its port, probes
and Service, serve metrics where the ServiceMonitor does not scrape, export a
simulated company, or exit at once and restart forever. */}}
{{- $refused := dict
  "--kartustok.url" "the chart sets it from kartustok.url"
  "--kartustok.token-file" "the chart sets it from kartustok.token"
  "--stock.minimums-file" "the chart sets it from minimums"
  "--storage.path" "the chart sets it to the volume of persistence"
  "--web.listen-address" "the container port, the probes, the Service and the ServiceMonitor use port 9472, where the exporter listens by default"
  "--web.telemetry-path" "the ServiceMonitor scrapes /metrics"
  "--web.systemd-socket" "a pod has no systemd socket to listen on"
  "--demo" "it exports a simulated company instead of kartustok.url's"
  "--config.check" "the exporter would check its configuration and exit, and the pod restart again and again; run it with the binary or the image instead"
  "--kartustok.check" "the exporter would check the API and exit, and the pod restart again and again; run it with the binary or the image instead"
}}
{{- range .Values.kartustok.extraArgs }}
{{- $arg := toString . }}
{{- range $flag, $why := $refused }}
{{- if or (eq $arg $flag) (hasPrefix (printf "%s=" $flag) $arg) }}
{{- fail (printf "kartustok.extraArgs must not contain %s: %s" $flag $why) }}
{{- end }}
{{- end }}
{{- end }}
{{- range .Values.env }}
{{- if eq (toString .name) "KARTUSTOK_TOKEN" }}
{{- fail "env must not contain KARTUSTOK_TOKEN: the token is read from a Secret mounted as a file, set kartustok.token" }}
{{- end }}
{{- end }}
{{- end }}
