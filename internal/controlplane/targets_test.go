package controlplane

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubetopo/kubetopo/topology"
)

func slice(ns, service string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: service + "-abcde", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       ports,
	}
}

func port(name string, n int32) discoveryv1.EndpointPort {
	p := discoveryv1.EndpointPort{Port: ptr.To(n)}
	if name != "" {
		p.Name = ptr.To(name)
	}
	return p
}

func endpoint(addr string, ready *bool, pod string) discoveryv1.Endpoint {
	ep := discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	if pod != "" {
		ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: "kube-system", Name: pod}
	}
	return ep
}

func TestTargetsFromSlices(t *testing.T) {
	urns := topology.NewURNs("prod")
	all, err := ParseComponents([]string{"etcd=kube-etcd", "controller-manager", "scheduler"})
	if err != nil {
		t.Fatal(err)
	}
	cluster := "urn:cluster:/kubernetes:prod"
	tests := []struct {
		name   string
		slices []*discoveryv1.EndpointSlice
		want   []Target
	}{
		{name: "nothing exposed"},
		{
			name: "kubeadm static pods behind a Service, one not ready",
			slices: []*discoveryv1.EndpointSlice{slice("kube-system", "kube-scheduler", []discoveryv1.EndpointPort{port("https-metrics", 10259)},
				endpoint("10.0.0.1", nil, "kube-scheduler-cp-1"),
				endpoint("10.0.0.2", ptr.To(true), "kube-scheduler-cp-2"),
				endpoint("10.0.0.3", ptr.To(false), "kube-scheduler-cp-3"))},
			want: []Target{
				{Component: Scheduler, BaseURL: "https://10.0.0.1:10259", Instance: "10.0.0.1:10259", URN: "urn:kubernetes:/prod:kube-system:pod/kube-scheduler-cp-1", HealthPath: "/healthz"},
				{Component: Scheduler, BaseURL: "https://10.0.0.2:10259", Instance: "10.0.0.2:10259", URN: "urn:kubernetes:/prod:kube-system:pod/kube-scheduler-cp-2", HealthPath: "/healthz"},
			},
		},
		{
			name: "renamed etcd service, plain http metrics port picked among others, no pod",
			slices: []*discoveryv1.EndpointSlice{slice("kube-system", "kube-etcd", []discoveryv1.EndpointPort{port("client", 2379), port("http-metrics", 2381)},
				endpoint("10.0.0.1", nil, ""))},
			want: []Target{{Component: Etcd, BaseURL: "http://10.0.0.1:2381", Instance: "10.0.0.1:2381", URN: cluster, HealthPath: "/health"}},
		},
		{
			name: "appProtocol wins over the default scheme; single unnamed port",
			slices: []*discoveryv1.EndpointSlice{slice("kube-system", "kube-controller-manager",
				[]discoveryv1.EndpointPort{{Port: ptr.To[int32](10257), AppProtocol: ptr.To("http")}}, endpoint("10.0.0.9", nil, ""))},
			want: []Target{{Component: ControllerManager, BaseURL: "http://10.0.0.9:10257", Instance: "10.0.0.9:10257", URN: cluster, HealthPath: "/healthz"}},
		},
		{
			name: "other namespace, other service, no usable port: ignored",
			slices: []*discoveryv1.EndpointSlice{
				slice("default", "kube-scheduler", []discoveryv1.EndpointPort{port("https-metrics", 10259)}, endpoint("10.0.0.1", nil, "")),
				slice("kube-system", "kube-dns", []discoveryv1.EndpointPort{port("metrics", 9153)}, endpoint("10.0.0.1", nil, "")),
				slice("kube-system", "kube-scheduler", []discoveryv1.EndpointPort{port("a", 1), port("b", 2)}, endpoint("10.0.0.1", nil, "")),
			},
		},
		{
			name: "IPv6 address, and the same endpoint in two slices once",
			slices: []*discoveryv1.EndpointSlice{
				slice("kube-system", "kube-scheduler", []discoveryv1.EndpointPort{port("https-metrics", 10259)}, endpoint("fd00::1", nil, "")),
				slice("kube-system", "kube-scheduler", []discoveryv1.EndpointPort{port("https-metrics", 10259)}, endpoint("fd00::1", nil, "")),
			},
			want: []Target{{Component: Scheduler, BaseURL: "https://[fd00::1]:10259", Instance: "[fd00::1]:10259", URN: cluster, HealthPath: "/healthz"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := targetsFromSlices(urns, all, tt.slices)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseComponents(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string // name=service
		wantErr bool
	}{
		{in: nil},
		{in: []string{"etcd", "scheduler=my-sched"}, want: []string{"etcd=etcd", "scheduler=my-sched"}},
		{in: []string{"controller-manager"}, want: []string{"controller-manager=kube-controller-manager"}},
		{in: []string{"apiserver"}, wantErr: true},
		{in: []string{"etcd", "etcd"}, wantErr: true},
		{in: []string{"etcd="}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(reflect.ValueOf(tt.in).String(), func(t *testing.T) {
			got, err := ParseComponents(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.Name+"="+c.Service)
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("got %v, want %v", names, tt.want)
			}
		})
	}
}

func TestParseStaticTargets(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "scheduler=https://127.0.0.1:10259", want: "scheduler https://127.0.0.1:10259"},
		{in: "etcd=http://10.0.0.1:2381/", want: "etcd http://10.0.0.1:2381"},
		{in: "scheduler=https://127.0.0.1:10259/metrics", wantErr: true},
		{in: "scheduler=ftp://x:1", wantErr: true},
		{in: "kubelet=https://x:1", wantErr: true},
		{in: "https://x:1", wantErr: true},
		{in: "scheduler=", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStaticTargets([]string{tt.in})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				if s := got[0].Component + " " + got[0].URL.String(); s != tt.want {
					t.Errorf("got %q, want %q", s, tt.want)
				}
			}
		})
	}
}
