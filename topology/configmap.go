package topology

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MapConfigMap maps a ConfigMap. It is watched as metadata only: its data is
// never read. Who uses it is declared by the pods.
func MapConfigMap(u URNs, m *metav1.PartialObjectMetadata) Result {
	return Result{Components: []Component{objectComponent(u, TypeConfigMap, m, Label{"configmap", m.Name})}}
}
