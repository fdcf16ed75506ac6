{{- define "kubetopo.nodeAgent.serviceAccountName" -}}
{{- if .Values.nodeAgent.serviceAccount.create -}}
{{- default (include "kubetopo.componentName" (dict "root" . "component" "node-agent")) .Values.nodeAgent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.nodeAgent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kubetopo.nodeAgent.ksmSelector" -}}
{{- if .Values.nodeAgent.kubeStateMetrics.selector -}}
{{- .Values.nodeAgent.kubeStateMetrics.selector -}}
{{- else if .Values.kubeStateMetrics.enabled -}}
{{- include "kubetopo.selectorLabels" (dict "root" . "component" "kube-state-metrics") | fromYaml | include "kubetopo.selectorString" -}}
{{- else -}}
app.kubernetes.io/name=kube-state-metrics
{{- end -}}
{{- end -}}

{{/* kubetopo.selectorString: a label map as a label selector, keys sorted. */}}
{{- define "kubetopo.selectorString" -}}
{{- $parts := list -}}
{{- range $k := keys . | sortAlpha -}}
{{- $parts = append $parts (printf "%s=%s" $k (get $ $k)) -}}
{{- end -}}
{{- join "," $parts -}}
{{- end -}}
