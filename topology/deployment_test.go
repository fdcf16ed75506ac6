package topology

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Deployments, StatefulSets, DaemonSets and CronJobs are always enclosed by
// their namespace, whoever owns them.
func TestMapWorkloadControllers(t *testing.T) {
	argo := []metav1.OwnerReference{controllerRef("argoproj.io/v1alpha1", "Application", "shop")}
	labels := map[string]string{"app": "cart"}
	tests := []struct {
		name string
		res  Result
		want []string
	}{
		{
			name: "deployment",
			res:  MapDeployment(testURNs, &appsv1.Deployment{ObjectMeta: objectMeta("shop", "cart", "d-uid", labels)}),
			want: []string{
				"component deployment urn:kubernetes:/prod:shop:deployment/cart ns=shop name=cart uid=d-uid identity=[deployment=cart] labels={app=cart}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> deployment urn:kubernetes:/prod:shop:deployment/cart",
			},
		},
		{
			name: "deployment owned by a CRD, without labels",
			res:  MapDeployment(testURNs, &appsv1.Deployment{ObjectMeta: objectMeta("shop", "cart", "d-uid", nil, argo...)}),
			want: []string{
				"component deployment urn:kubernetes:/prod:shop:deployment/cart ns=shop name=cart uid=d-uid identity=[deployment=cart] labels={}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> deployment urn:kubernetes:/prod:shop:deployment/cart",
			},
		},
		{
			name: "statefulset",
			res:  MapStatefulSet(testURNs, &appsv1.StatefulSet{ObjectMeta: objectMeta("shop", "db", "s-uid", labels)}),
			want: []string{
				"component statefulset urn:kubernetes:/prod:shop:statefulset/db ns=shop name=db uid=s-uid identity=[statefulset=db] labels={app=cart}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> statefulset urn:kubernetes:/prod:shop:statefulset/db",
			},
		},
		{
			name: "statefulset owned by a CRD",
			res:  MapStatefulSet(testURNs, &appsv1.StatefulSet{ObjectMeta: objectMeta("shop", "db", "s-uid", nil, argo...)}),
			want: []string{
				"component statefulset urn:kubernetes:/prod:shop:statefulset/db ns=shop name=db uid=s-uid identity=[statefulset=db] labels={}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> statefulset urn:kubernetes:/prod:shop:statefulset/db",
			},
		},
		{
			name: "daemonset",
			res:  MapDaemonSet(testURNs, &appsv1.DaemonSet{ObjectMeta: objectMeta("kube-system", "kube-proxy", "ds-uid", map[string]string{"k8s-app": "kube-proxy"})}),
			want: []string{
				"component daemonset urn:kubernetes:/prod:kube-system:daemonset/kube-proxy ns=kube-system name=kube-proxy uid=ds-uid identity=[daemonset=kube-proxy] labels={k8s-app=kube-proxy}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/kube-system -> daemonset urn:kubernetes:/prod:kube-system:daemonset/kube-proxy",
			},
		},
		{
			name: "daemonset owned by a CRD",
			res:  MapDaemonSet(testURNs, &appsv1.DaemonSet{ObjectMeta: objectMeta("kube-system", "kube-proxy", "ds-uid", nil, argo...)}),
			want: []string{
				"component daemonset urn:kubernetes:/prod:kube-system:daemonset/kube-proxy ns=kube-system name=kube-proxy uid=ds-uid identity=[daemonset=kube-proxy] labels={}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/kube-system -> daemonset urn:kubernetes:/prod:kube-system:daemonset/kube-proxy",
			},
		},
		{
			name: "cronjob",
			res:  MapCronJob(testURNs, &batchv1.CronJob{ObjectMeta: objectMeta("shop", "backup", "cj-uid", map[string]string{"app": "backup"})}),
			want: []string{
				"component cronjob urn:kubernetes:/prod:shop:cronjob/backup ns=shop name=backup uid=cj-uid identity=[cronjob=backup] labels={app=backup}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> cronjob urn:kubernetes:/prod:shop:cronjob/backup",
			},
		},
		{
			name: "cronjob owned by a CRD",
			res:  MapCronJob(testURNs, &batchv1.CronJob{ObjectMeta: objectMeta("shop", "backup", "cj-uid", nil, argo...)}),
			want: []string{
				"component cronjob urn:kubernetes:/prod:shop:cronjob/backup ns=shop name=backup uid=cj-uid identity=[cronjob=backup] labels={}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> cronjob urn:kubernetes:/prod:shop:cronjob/backup",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, tt.res, tt.want)
		})
	}
}
