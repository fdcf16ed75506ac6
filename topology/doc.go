// Package topology maps Kubernetes objects to kubetopo components and relations.
//
// It is pure: every mapping function takes one Kubernetes object (and the
// cluster name, through URNs) and returns the components the object is the
// source of and the relations it declares. It knows nothing of informers, HTTP
// or Prometheus. Each Kubernetes kind lives in its own file and is registered
// once, in Kinds (kinds.go).
//
// Identities follow StackState's URN grammar byte for byte (see urn.go).
// Relations are declared by the object that knows them (a pod declares the
// node it is scheduled on, the ReplicaSet that controls it, the volumes it
// claims); whoever stores them publishes a relation only while both ends
// exist as components, so no mapping here has to know about other objects.
package topology
