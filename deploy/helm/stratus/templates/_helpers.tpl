{{/*
Object names are fixed (stratus-gateway, stratus-speech, ...), as in
deploy/kubernetes: the gateway's upstream URLs, the NetworkPolicies and the
dashboard refer to them. One release per namespace.
*/}}

{{/* Labels on every object's metadata. */}}
{{- define "stratus.labels" -}}
app.kubernetes.io/part-of: stratus
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The image every container runs. */}}
{{- define "stratus.image" -}}
image: {{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
{{- end }}

{{/* Pod-level settings shared by the three Deployments. */}}
{{- define "stratus.podSecurity" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{/* Container-level security settings. */}}
{{- define "stratus.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end }}

{{/* Pod annotations: Prometheus discovery by annotation (for setups without
the ServiceMonitor) and a checksum of the settings, so that changing a
value in the ConfigMaps rolls the pods (environment variables are read at
start only). */}}
{{- define "stratus.podAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: "9090"
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{/* A Secret key as an environment variable: (list $ "NAME" "key"). */}}
{{- define "stratus.secretEnv" -}}
{{- $ := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secretName }}
      key: {{ index . 2 }}
{{- end }}

{{/* The init container that pulls a service's models into the pod's home:
(list $ .Values.speech). */}}
{{- define "stratus.modelsPull" -}}
{{- $ := index . 0 -}}
{{- $service := index . 1 -}}
- name: models-pull
  {{- include "stratus.image" $ | nindent 2 }}
  args: {{ concat (list "models" "pull") $service.models | toJson }}
  envFrom:
    - configMapRef:
        name: stratus-config
  resources:
    {{- toYaml $.Values.modelsPull.resources | nindent 4 }}
  {{- include "stratus.containerSecurity" $ | nindent 2 }}
  volumeMounts:
    - name: home
      mountPath: {{ $.Values.config.STRATUS_HOME }}
    - name: model-cache
      mountPath: {{ $.Values.config.STRATUS_PACKAGE_CACHE }}
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/* The shared package cache volume: the claim, or an emptyDir. */}}
{{- define "stratus.modelCacheVolume" -}}
- name: model-cache
{{- if .Values.modelCache.enabled }}
  persistentVolumeClaim:
    claimName: stratus-model-cache
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}

{{/* The probes of a service container; the startup probe's period and
failure threshold per service: (list periodSeconds failureThreshold). */}}
{{- define "stratus.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ index . 0 }}
  failureThreshold: {{ index . 1 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end }}

{{/* The labels selecting a component's pods: "gateway", "speech", "language". */}}
{{- define "stratus.selector" -}}
app.kubernetes.io/name: stratus-{{ . }}
{{- end }}

{{/* The NetworkPolicy peer that may scrape metrics: Prometheus's pods in
Prometheus's namespace (both selectors in one peer: both must match). */}}
{{- define "stratus.prometheusPeer" -}}
- namespaceSelector:
    {{- toYaml .Values.networkPolicies.prometheus.namespaceSelector | nindent 4 }}
  podSelector:
    {{- toYaml .Values.networkPolicies.prometheus.podSelector | nindent 4 }}
{{- end }}
