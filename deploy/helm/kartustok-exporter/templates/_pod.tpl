{{/*
The exporter's pod, shared by the Deployment (one pod) and the StatefulSet
(one pod per shard). Written at indentation 0: the workloads indent it.
*/}}
{{- define "kartustok-exporter.podTemplate" -}}
{{- $companiesMode := include "kartustok-exporter.companiesMode" . }}
{{- $sharded := include "kartustok-exporter.sharded" . }}
{{- $minimums := and (not $companiesMode) (include "kartustok-exporter.minimumsEnabled" .) -}}
metadata:
  labels:
    {{- include "kartustok-exporter.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $checksum := and .Values.minimums.content .Values.minimums.restartOnChange }}
  {{- $companiesChecksum := and $companiesMode .Values.companiesFile.restartOnChange }}
  {{- if or .Values.podAnnotations $checksum $companiesChecksum }}
  annotations:
    {{- if $companiesChecksum }}
    checksum/companies: {{ include "kartustok-exporter.companiesData" . | sha256sum }}
    {{- end }}
    {{- if $checksum }}
    checksum/minimums: {{ .Values.minimums.content | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ include "kartustok-exporter.serviceAccountName" . }}
  # The exporter never talks to the Kubernetes API.
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: exporter
      image: {{ include "kartustok-exporter.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- if $companiesMode }}
        # The companies file of the ConfigMap volume below. Each company's
        # token is a file of the tokens Secret volume, re-read when the
        # Secret changes.
        - {{ printf "--config.file=%s/%s" (include "kartustok-exporter.companiesDir" .) (include "kartustok-exporter.companiesFileKey" .) | quote }}
        {{- if $sharded }}
        # No --shard: each pod serves the shard of its ordinal, which the
        # exporter reads from POD_NAME.
        - {{ printf "--total-shards=%d" (include "kartustok-exporter.shards" . | int) | quote }}
        {{- end }}
        {{- else }}
        - {{ printf "--kartustok.url=%s" .Values.kartustok.url | quote }}
        # The token is a file of the Secret volume below, re-read when the
        # Secret changes.
        - {{ printf "--kartustok.token-file=/etc/kartustok_exporter/token/%s" .Values.kartustok.token.key | quote }}
        {{- if $minimums }}
        - {{ printf "--stock.minimums-file=/etc/kartustok_exporter/minimums/%s" .Values.minimums.key | quote }}
        {{- end }}
        {{- end }}
        # The state volume below: a restart starts from what the last
        # exporter learned.
        - "--storage.path=/var/lib/kartustok_exporter"
        {{- range .Values.kartustok.extraArgs }}
        - {{ toString . | quote }}
        {{- end }}
      {{- if or $sharded .Values.env }}
      env:
        {{- if $sharded }}
        # The pod's name ends in its ordinal, the shard it serves.
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- with .Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: http-metrics
          containerPort: 9472
          protocol: TCP
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        # Directories, never subPath: a subPath mount keeps the old file
        # when the Secret or ConfigMap changes.
        {{- if $companiesMode }}
        - name: companies
          mountPath: {{ include "kartustok-exporter.companiesDir" . }}
          readOnly: true
        - name: tokens
          mountPath: {{ include "kartustok-exporter.tokensDir" . }}
          readOnly: true
        {{- else }}
        - name: token
          mountPath: /etc/kartustok_exporter/token
          readOnly: true
        {{- if $minimums }}
        - name: minimums
          mountPath: /etc/kartustok_exporter/minimums
          readOnly: true
        {{- end }}
        {{- end }}
        # Writable, on a read-only root filesystem.
        - name: state
          mountPath: /var/lib/kartustok_exporter
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    {{- if $companiesMode }}
    # Every key, without items: a company added to the ConfigMap and the
    # Secret appears in the mounted directories without a change to the pod.
    - name: companies
      configMap:
        name: {{ include "kartustok-exporter.companiesConfigMapName" . }}
        defaultMode: 0440
    - name: tokens
      secret:
        secretName: {{ include "kartustok-exporter.companiesTokensSecretName" . }}
        # root:65532 (fsGroup), readable by the exporter's group only.
        defaultMode: 0440
    {{- else }}
    - name: token
      secret:
        secretName: {{ include "kartustok-exporter.tokenSecretName" . }}
        items:
          - key: {{ .Values.kartustok.token.key | quote }}
            path: {{ .Values.kartustok.token.key | quote }}
        # root:65532 (fsGroup), readable by the exporter's group only.
        defaultMode: 0440
    {{- if $minimums }}
    - name: minimums
      configMap:
        name: {{ include "kartustok-exporter.minimumsConfigMapName" . }}
        items:
          - key: {{ .Values.minimums.key | quote }}
            path: {{ .Values.minimums.key | quote }}
        defaultMode: 0440
    {{- end }}
    {{- end }}
    {{- if not (and $sharded .Values.persistence.enabled) }}
    # Writable by the exporter: an emptyDir is open to every user, and
    # most volume types give a claim's volume to the fsGroup (65532).
    - name: state
      {{- if .Values.persistence.enabled }}
      persistentVolumeClaim:
        claimName: {{ include "kartustok-exporter.stateClaimName" . }}
      {{- else if .Values.persistence.emptyDir }}
      emptyDir:
        {{- toYaml .Values.persistence.emptyDir | nindent 8 }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
