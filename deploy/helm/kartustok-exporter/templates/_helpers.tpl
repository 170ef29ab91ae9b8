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
The job label value that every series selector of alerts/kartustok.rules.yml
and of dashboards/*.json selects (job="..."): the default kartustokSelector
of the monitoring mixin they are rendered from. The PrometheusRule and the
dashboards ConfigMap replace it with .Values.job; a test checks that it is
the job the files select and the default of .Values.job.
*/}}
{{- define "kartustok-exporter.rulesFileJob" -}}
kartustok
{{- end }}

{{/*
The PromQL matcher of the job given as the context: job="<job>", quoted as
PromQL quotes a string.
*/}}
{{- define "kartustok-exporter.jobMatcher" -}}
{{- printf "job=%q" . }}
{{- end }}

{{/*
The same matcher as written inside a JSON string, as in a dashboard's
queries: job=\"<job>\".
*/}}
{{- define "kartustok-exporter.jobMatcherInJSON" -}}
{{- include "kartustok-exporter.jobMatcher" . | toJson | trimPrefix "\"" | trimSuffix "\"" }}
{{- end }}

{{/*
Whether the release serves many companies from a companies file
(--config.file), "true" or empty.
*/}}
{{- define "kartustok-exporter.companiesMode" -}}
{{- if .Values.companies }}true{{ end }}
{{- end }}

{{/*
The number of shards, each a pod of a StatefulSet when more than 1.
*/}}
{{- define "kartustok-exporter.shards" -}}
{{- .Values.shards | default 1 | int }}
{{- end }}

{{/*
Whether the exporters run as a StatefulSet of shards ("true") or as a
Deployment of one pod (empty).
*/}}
{{- define "kartustok-exporter.sharded" -}}
{{- if gt (include "kartustok-exporter.shards" . | int) 1 }}true{{ end }}
{{- end }}

{{/*
The StatefulSet's name. Its pods' controller-revision-hash label is the
name, a dash and a hash of up to 10 characters, and a label value holds at
most 63 characters: hence 52.
*/}}
{{- define "kartustok-exporter.statefulSetName" -}}
{{- include "kartustok-exporter.fullname" . | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/*
The headless Service that gives the StatefulSet's pods their identity.
*/}}
{{- define "kartustok-exporter.headlessServiceName" -}}
{{- printf "%s-headless" (include "kartustok-exporter.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/*
The ConfigMap holding the companies file and the companies' inline minimums.
*/}}
{{- define "kartustok-exporter.companiesConfigMapName" -}}
{{- printf "%s-companies" (include "kartustok-exporter.fullname" .) | trunc 253 }}
{{- end }}

{{/*
The Secret holding one token per company, under the company's name: the
existing one, or the one the chart creates.
*/}}
{{- define "kartustok-exporter.companiesTokensSecretName" -}}
{{- if .Values.companiesTokens.existingSecret }}
{{- .Values.companiesTokens.existingSecret }}
{{- else }}
{{- printf "%s-tokens" (include "kartustok-exporter.fullname" .) | trunc 253 }}
{{- end }}
{{- end }}

{{/*
The directories the companies ConfigMap and the tokens Secret are mounted
at, and the companies file's key.
*/}}
{{- define "kartustok-exporter.companiesDir" -}}
/etc/kartustok_exporter/companies
{{- end }}
{{- define "kartustok-exporter.tokensDir" -}}
/etc/kartustok_exporter/tokens
{{- end }}
{{- define "kartustok-exporter.companiesFileKey" -}}
companies.yml
{{- end }}

{{/*
The data of the companies ConfigMap: the companies file (--config.file) and
each company's inline minimums, <name>.minimums.yml. Every scalar is written
as JSON, which YAML reads as the same string or number: a name or URL is
never taken for a number or a boolean, and a number is never written in
exponent notation, which the file's rate_limit refuses.
*/}}
{{- define "kartustok-exporter.companiesData" -}}
{{- $dir := include "kartustok-exporter.companiesDir" . }}
{{- $tokens := include "kartustok-exporter.tokensDir" . -}}
{{ include "kartustok-exporter.companiesFileKey" . }}: |
  # The companies file of kartustok_exporter (--config.file), written by the
  # Helm chart from the value companies. Each company's token_file is the key
  # of the company's name in the tokens Secret, mounted at {{ $tokens }}/.
  companies:
  {{- range .Values.companies }}
    - name: {{ .name | toJson }}
      url: {{ .url | toJson }}
      token_file: {{ printf "%s/%s" $tokens .name | toJson }}
      {{- if .minimums }}
      minimums_file: {{ printf "%s/%s.minimums.yml" $dir .name | toJson }}
      {{- else if .minimums_file }}
      minimums_file: {{ .minimums_file | toJson }}
      {{- end }}
      {{- with .token_expires_at }}
      token_expires_at: {{ toString . | toJson }}
      {{- end }}
      {{- $company := . }}
      {{- range list "rate_limit" "rate_limit_window" "budget" "health_interval" "catalog_interval" "stock_interval" "full_stock_interval" "flow_interval" "max_staleness" }}
      {{- if hasKey $company . }}
      {{- $v := get $company . }}
      {{- if not (kindIs "invalid" $v) }}
      {{ . }}: {{ $v | toJson }}
      {{- end }}
      {{- end }}
      {{- end }}
  {{- end }}
{{- range .Values.companies }}
{{- if .minimums }}
{{ printf "%s.minimums.yml" .name | quote }}: {{ .minimums | toJson }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Checks the values that a schema cannot, and fails with what to change.
*/}}
{{- define "kartustok-exporter.validate" -}}
{{- $companiesMode := include "kartustok-exporter.companiesMode" . }}
{{- $sharded := include "kartustok-exporter.sharded" . }}
{{- $tokens := .Values.companiesTokens | default dict }}
{{- if $companiesMode }}
{{- if .Values.kartustok.url }}
{{- fail "set either kartustok.url (one company) or companies (many companies, in a companies file), not both" }}
{{- end }}
{{- if or .Values.kartustok.token.existingSecret .Values.kartustok.token.value }}
{{- fail "kartustok.token is the token of kartustok.url's one company; with companies, give each company's token in companiesTokens" }}
{{- end }}
{{- if or .Values.minimums.content .Values.minimums.existingConfigMap }}
{{- fail "minimums is the minimums file of kartustok.url's one company; with companies, give each company's in companies[].minimums" }}
{{- end }}
{{- if and $tokens.existingSecret $tokens.tokens }}
{{- fail "set either companiesTokens.existingSecret or companiesTokens.tokens, not both" }}
{{- end }}
{{- if not (or $tokens.existingSecret $tokens.tokens) }}
{{- fail "each company needs a token: set companiesTokens.existingSecret to the name of a Secret holding each company's token under the company's name (recommended), or companiesTokens.tokens" }}
{{- end }}
{{- $seen := dict }}
{{- range $i, $c := .Values.companies }}
{{- if hasKey $seen $c.name }}
{{- fail (printf "companies[%d].name: duplicate company %q (first at companies[%d]): every company's name is unique, the value of its company label" $i $c.name (get $seen $c.name)) }}
{{- end }}
{{- $_ := set $seen $c.name $i }}
{{- if and $c.minimums $c.minimums_file }}
{{- fail (printf "companies[%d] (%s): set either minimums or minimums_file, not both" $i $c.name) }}
{{- end }}
{{- if and $tokens.tokens (not (get $tokens.tokens $c.name)) }}
{{- fail (printf "companiesTokens.tokens has no token for the company %q: add companiesTokens.tokens.%s" $c.name $c.name) }}
{{- end }}
{{- end }}
{{- range $name, $_ := $tokens.tokens }}
{{- if not (hasKey $seen $name) }}
{{- fail (printf "companiesTokens.tokens.%s: no company of that name in companies" $name) }}
{{- end }}
{{- end }}
{{- else }}
{{- if not .Values.kartustok.url }}
{{- fail "kartustok.url is required: the company's API base URL, https://<subdomain>.kartustok.com/public/v1 (or, for many companies, the list companies)" }}
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
{{- if or $tokens.existingSecret $tokens.tokens }}
{{- fail "companiesTokens holds the tokens of companies, which is empty: with kartustok.url, set kartustok.token" }}
{{- end }}
{{- if $sharded }}
{{- fail "shards > 1 requires companies: one company cannot be divided, and a second exporter would share its token's rate limit" }}
{{- end }}
{{- end }}
{{- if and .Values.persistence.existingClaim (not .Values.persistence.enabled) }}
{{- fail "persistence.existingClaim is used only with persistence.enabled: true; set both, or neither for an emptyDir" }}
{{- end }}
{{- if $sharded }}
{{- if .Values.persistence.existingClaim }}
{{- fail "persistence.existingClaim cannot be used with shards > 1: the pods cannot share one ReadWriteOnce claim, and each keeps the state of its own companies; leave it empty and the StatefulSet creates one claim per pod" }}
{{- end }}
{{- else }}
{{- $strategy := .Values.strategy | default dict }}
{{- if and .Values.persistence.enabled (ne (toString $strategy.type) "Recreate") }}
{{- fail "with persistence.enabled, strategy.type must be Recreate: a rolling update starts the new pod while the old one holds the claim, so a ReadWriteOnce volume never attaches on another node, and on the same node two exporters write one state file" }}
{{- end }}
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
  "--config.file" "the chart writes the companies file from companies and sets it"
  "--total-shards" "the chart sets it from shards"
  "--shard" "the chart runs one pod per shard (shards), each taking its shard from its pod name (POD_NAME); a fixed --shard would give every pod the same companies"
  "--web.listen-address" "the container port, the probes, the Service and the ServiceMonitor use port 9472, where the exporter listens by default"
  "--web.telemetry-path" "the ServiceMonitor scrapes /metrics"
  "--web.systemd-socket" "a pod has no systemd socket to listen on"
  "--demo" "it exports a simulated company instead of kartustok.url's"
  "--config.check" "the exporter would check its configuration and exit, and the pod restart again and again; run it with the binary or the image instead"
  "--kartustok.check" "the exporter would check the API and exit, and the pod restart again and again; run it with the binary or the image instead"
}}
{{- if $companiesMode }}
{{- $_ := set $refused "--kartustok.company" "with companies, each company's label is its name, and the exporter refuses the flag with a companies file" }}
{{- end }}
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
{{- if and $sharded (eq (toString .name) "POD_NAME") }}
{{- fail "env must not contain POD_NAME: with shards, the chart sets it to the pod's name, from which the exporter takes its shard" }}
{{- end }}
{{- end }}
{{- end }}
