package scenario

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
)

// Fake returns in-memory clients holding objs, for the demo and for fast
// unit tests: ConfigMaps and Secrets go to the metadata client (the agent
// watches them as metadata only), everything else to the typed clientset.
// Every object gets a UID derived from its identity, and owner references
// get their owners' UIDs.
func Fake(objs []runtime.Object) (*kubefake.Clientset, *metadatafake.FakeMetadataClient, error) {
	var typed, md []runtime.Object
	for _, obj := range objs {
		obj = obj.DeepCopyObject()
		setUIDs(obj)
		if pm, ok := AsMetadata(obj); ok {
			md = append(md, pm)
			continue
		}
		typed = append(typed, obj)
	}
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		return nil, nil, fmt.Errorf("metadata scheme: %w", err)
	}
	return kubefake.NewClientset(typed...), metadatafake.NewSimpleMetadataClient(scheme, md...), nil
}

// AsMetadata returns the PartialObjectMetadata of a ConfigMap or Secret.
func AsMetadata(obj runtime.Object) (*metav1.PartialObjectMetadata, bool) {
	var om metav1.ObjectMeta
	var kind string
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		om, kind = o.ObjectMeta, "ConfigMap"
	case *corev1.Secret:
		om, kind = o.ObjectMeta, "Secret"
	default:
		return nil, false
	}
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}, ObjectMeta: om}, true
}

// UID is the UID Fake gives an object of the given kind, namespace and name.
func UID(kind, namespace, name string) types.UID {
	return types.UID(fmt.Sprintf("uid-%s-%s-%s", kind, namespace, name))
}

func setUIDs(obj runtime.Object) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	m.SetUID(UID(kindOf(obj), m.GetNamespace(), m.GetName()))
	refs := m.GetOwnerReferences()
	for i := range refs {
		refs[i].UID = UID(refs[i].Kind, m.GetNamespace(), refs[i].Name)
	}
}

func kindOf(obj runtime.Object) string {
	t := fmt.Sprintf("%T", obj)
	for i := len(t) - 1; i >= 0; i-- {
		if t[i] == '.' {
			return t[i+1:]
		}
	}
	return t
}
