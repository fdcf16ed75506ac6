package topology

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMapJob(t *testing.T) {
	const (
		jobURN   = "urn:kubernetes:/prod:shop:job/backup-28391"
		jobComp  = "component job " + jobURN + " ns=shop name=backup-28391 uid=job-uid identity=[job_name=backup-28391] labels={app=backup}"
		enclosed = "relation encloses namespace urn:kubernetes:/prod:namespace/shop -> job " + jobURN
	)
	tests := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   []string
	}{
		{
			name:   "created by its CronJob",
			labels: map[string]string{"app": "backup"},
			owners: []metav1.OwnerReference{controllerRef("batch/v1", "CronJob", "backup")},
			want: []string{
				jobComp,
				"relation creates cronjob urn:kubernetes:/prod:shop:cronjob/backup -> job " + jobURN,
			},
		},
		{
			name:   "no owner: enclosed by its namespace",
			labels: map[string]string{"app": "backup"},
			want:   []string{jobComp, enclosed},
		},
		{
			name:   "owned by an unknown CRD: enclosed by its namespace",
			labels: map[string]string{"app": "backup"},
			owners: []metav1.OwnerReference{controllerRef("kubeflow.org/v1", "PyTorchJob", "train")},
			want:   []string{jobComp, enclosed},
		},
		{
			name:   "CronJob owner that is not the controller: enclosed by its namespace",
			labels: map[string]string{"app": "backup"},
			owners: []metav1.OwnerReference{ownerRef("batch/v1", "CronJob", "backup")},
			want:   []string{jobComp, enclosed},
		},
		{
			name: "no labels: empty label map",
			want: []string{
				"component job " + jobURN + " ns=shop name=backup-28391 uid=job-uid identity=[job_name=backup-28391] labels={}",
				enclosed,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &batchv1.Job{ObjectMeta: objectMeta("shop", "backup-28391", "job-uid", tt.labels, tt.owners...)}
			assertResult(t, MapJob(testURNs, j), tt.want)
		})
	}
}
