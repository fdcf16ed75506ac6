{{/* Names, labels and the pieces several templates share. */}}

{{- define "kubetopo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kubetopo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* kubetopo.componentName: "<fullname>-<component>", within 63 characters. */}}
{{- define "kubetopo.componentName" -}}
{{- printf "%s-%s" (include "kubetopo.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component -}}
{{- end -}}

{{/* kubetopo.labels: every object's labels. Pass (dict "root" $ "component" "cluster-agent"). */}}
{{- define "kubetopo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kubetopo.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: kubetopo
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kubetopo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubetopo.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "kubetopo.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* kubetopo.clusterName: cluster.name, or a clear failure. */}}
{{- define "kubetopo.clusterName" -}}
{{- required "cluster.name is required: a name for this cluster, part of every URN (e.g. --set-string cluster.name=prod-eu)" .Values.cluster.name -}}
{{- end -}}

{{- define "kubetopo.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- include "kubetopo.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "kubetopo.clusterAgent.serviceAccountName" -}}
{{- if .Values.clusterAgent.serviceAccount.create -}}
{{- default (include "kubetopo.componentName" (dict "root" . "component" "cluster-agent")) .Values.clusterAgent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.clusterAgent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kubetopo.kubeStateMetrics.serviceAccountName" -}}
{{- if .Values.kubeStateMetrics.serviceAccount.create -}}
{{- default (include "kubetopo.componentName" (dict "root" . "component" "kube-state-metrics")) .Values.kubeStateMetrics.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.kubeStateMetrics.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
kubetopo.apiGroups: the API group of every resource the cluster agent or kube-state-metrics
may list, as YAML (resource: group). A resource missing here fails the render.
*/}}
{{- define "kubetopo.apiGroups" -}}
namespaces: ""
nodes: ""
pods: ""
services: ""
endpoints: ""
configmaps: ""
secrets: ""
persistentvolumes: ""
persistentvolumeclaims: ""
resourcequotas: ""
limitranges: ""
replicationcontrollers: ""
endpointslices: discovery.k8s.io
deployments: apps
replicasets: apps
statefulsets: apps
daemonsets: apps
jobs: batch
cronjobs: batch
ingresses: networking.k8s.io
networkpolicies: networking.k8s.io
volumeattachments: storage.k8s.io
storageclasses: storage.k8s.io
horizontalpodautoscalers: autoscaling
poddisruptionbudgets: policy
certificatesigningrequests: certificates.k8s.io
leases: coordination.k8s.io
mutatingwebhookconfigurations: admissionregistration.k8s.io
validatingwebhookconfigurations: admissionregistration.k8s.io
{{- end -}}

{{/*
kubetopo.listWatchRules: ClusterRole rules granting list and watch on a list of resources,
one rule per API group, groups and resources sorted. Pass (dict "root" $ "resources" $list "verbs" $verbs).
*/}}
{{- define "kubetopo.listWatchRules" -}}
{{- $groupOf := include "kubetopo.apiGroups" .root | fromYaml -}}
{{- $byGroup := dict -}}
{{- range .resources -}}
{{- if not (hasKey $groupOf .) -}}
{{- fail (printf "the chart does not know the API group of resource %q" .) -}}
{{- end -}}
{{- $g := get $groupOf . -}}
{{- $_ := set $byGroup $g (append (get $byGroup $g | default list) .) -}}
{{- end -}}
{{- $verbs := .verbs -}}
{{- range $g := keys $byGroup | sortAlpha }}
- apiGroups: [{{ $g | quote }}]
  resources: [{{ get $byGroup $g | sortAlpha | uniq | join ", " }}]
  verbs: [{{ join ", " $verbs }}]
{{- end }}
{{- end -}}

{{/* kubetopo.clusterAgent.disabled: the resources whose toggle is false, comma-separated. */}}
{{- define "kubetopo.clusterAgent.disabled" -}}
{{- $off := list -}}
{{- range $r, $on := .Values.clusterAgent.collection.kubernetesResources -}}
{{- if not $on }}{{ $off = append $off $r }}{{ end -}}
{{- end -}}
{{- $off | sortAlpha | join "," -}}
{{- end -}}

{{- define "kubetopo.clusterAgent.enabledResources" -}}
{{- $on := list -}}
{{- range $r, $v := .Values.clusterAgent.collection.kubernetesResources -}}
{{- if $v }}{{ $on = append $on $r }}{{ end -}}
{{- end -}}
{{- toJson $on -}}
{{- end -}}

{{/* kubetopo.monitorsEnabled: "true" when ServiceMonitor/PodMonitor objects are to be rendered. */}}
{{- define "kubetopo.monitorsEnabled" -}}
{{- $v := .Values.monitoring.serviceMonitors | toString -}}
{{- if or (eq $v "true") (and (eq $v "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}
true
{{- end -}}
{{- end -}}

{{/* kubetopo.scrapeAnnotations: prometheus.io annotations for a pod. Pass (dict "root" $ "port" N). */}}
{{- define "kubetopo.scrapeAnnotations" -}}
{{- if .root.Values.monitoring.annotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: {{ .path | default "/metrics" | quote }}
{{- end }}
{{- end -}}

{{/* kubetopo.pushURL: where the agents push (url, else the in-cluster receiver), or "". */}}
{{- define "kubetopo.pushURL" -}}
{{- if .Values.url -}}
{{- .Values.url -}}
{{- else if .Values.receiver.enabled -}}
{{- printf "http://%s.%s.svc:%d/api/v1/write" (include "kubetopo.componentName" (dict "root" . "component" "receiver")) .Release.Namespace (int .Values.receiver.port) -}}
{{- end -}}
{{- end -}}

{{/* kubetopo.agentKey: the Secret key holding what the agents present to the receiver. */}}
{{- define "kubetopo.agentKey" -}}
{{- if or .Values.cluster.authToken .Values.existingSecret -}}
{{- .Values.secretKeys.authToken -}}
{{- else -}}
{{- .Values.secretKeys.apiKey -}}
{{- end -}}
{{- end -}}

{{/* kubetopo.hasCredentials: "true" when a Secret with keys exists (the chart's or the user's). */}}
{{- define "kubetopo.hasCredentials" -}}
{{- if or .Values.existingSecret .Values.apiKey .Values.cluster.authToken -}}true{{- end -}}
{{- end -}}

{{/* kubetopo.pushArgs: the agents' remote-write flags. */}}
{{- define "kubetopo.pushArgs" -}}
{{- with include "kubetopo.pushURL" . }}
- --remote-write.url={{ . }}
{{- if include "kubetopo.hasCredentials" $ }}
- --remote-write.api-key-file=/etc/kubetopo/credentials/{{ include "kubetopo.agentKey" $ }}
{{- end }}
{{- end }}
{{- end -}}

{{/* kubetopo.pushVolumeMounts / pushVolumes: the agents' credentials, when they push. */}}
{{- define "kubetopo.pushVolumeMounts" -}}
{{- if and (include "kubetopo.pushURL" .) (include "kubetopo.hasCredentials" .) }}
- name: credentials
  mountPath: /etc/kubetopo/credentials
  readOnly: true
{{- end }}
{{- end -}}

{{- define "kubetopo.pushVolumes" -}}
{{- if and (include "kubetopo.pushURL" .) (include "kubetopo.hasCredentials" .) }}
- name: credentials
  secret:
    secretName: {{ include "kubetopo.secretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "kubetopo.agentKey" . }}
        path: {{ include "kubetopo.agentKey" . }}
{{- end }}
{{- end -}}
