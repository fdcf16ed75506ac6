package topology

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MapSecret maps a Secret. It is watched as metadata only: its data never
// reaches the agent, so nothing derived from it can leak into a label.
func MapSecret(u URNs, m *metav1.PartialObjectMetadata) Result {
	return Result{Components: []Component{objectComponent(u, TypeSecret, m, Label{"secret", m.Name})}}
}
