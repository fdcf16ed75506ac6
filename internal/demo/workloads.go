package demo

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// revisionAnnotation numbers a Deployment's ReplicaSets, as the Deployment
// controller does.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// fireCronJob runs platform/nightly-report: the running Job finishes (its
// pods succeed), the next Job starts with a running pod, and only the last
// keepJobs Jobs are kept, older ones deleted with their pods.
func (s *Simulator) fireCronJob(ctx context.Context) (string, error) {
	cj, err := s.client.BatchV1().CronJobs(nsPlatform).Get(ctx, cronJobName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	jobsAPI := s.client.BatchV1().Jobs(nsPlatform)
	list, err := jobsAPI.List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	var jobs []batchv1.Job
	for _, j := range list.Items {
		if controlledBy(&j, "CronJob", cj.Name) {
			jobs = append(jobs, j)
		}
	}
	number := func(j *batchv1.Job) int64 {
		n, _ := strconv.ParseInt(strings.TrimPrefix(j.Name, cj.Name+"-"), 10, 64)
		return n
	}
	sort.Slice(jobs, func(a, b int) bool { return number(&jobs[a]) < number(&jobs[b]) })

	// concurrencyPolicy Forbid: the previous run ends before the next starts.
	var finished []string
	for i := range jobs {
		j := &jobs[i]
		pods, err := s.podsOf(ctx, nsPlatform, "Job", j.Name)
		if err != nil {
			return "", err
		}
		for k := range pods {
			p := &pods[k]
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			p.Status.Phase = corev1.PodSucceeded
			if _, err := s.client.CoreV1().Pods(nsPlatform).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				return "", err
			}
			finished = append(finished, p.Name)
		}
		if j.Status.Active > 0 || j.Status.Succeeded == 0 {
			j.Status.Active, j.Status.Succeeded = 0, 1
			if _, err := jobsAPI.UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
				return "", err
			}
		}
	}

	n := int64(1)
	if len(jobs) > 0 {
		n = number(&jobs[len(jobs)-1]) + 1
	}
	labels := cloneMap(cj.Spec.JobTemplate.Labels)
	if len(labels) == 0 && len(jobs) > 0 {
		labels = cloneMap(jobs[len(jobs)-1].Labels)
	}
	name := fmt.Sprintf("%s-%d", cj.Name, n)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: nsPlatform, Name: name, UID: s.uid(), Labels: labels,
			OwnerReferences: []metav1.OwnerReference{controllerRef("batch/v1", "CronJob", cj)},
		},
		Spec:   *cj.Spec.JobTemplate.Spec.DeepCopy(),
		Status: batchv1.JobStatus{Active: 1},
	}
	job.Spec.ManualSelector = ptr.To(true)
	job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job-name": name}}
	job.Spec.Template.Labels = withLabel(job.Spec.Template.Labels, "job-name", name)
	if job, err = jobsAPI.Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	pod, err := s.createPod(ctx, podFrom(nsPlatform, &job.Spec.Template), name, controllerRef("batch/v1", "Job", job))
	if err != nil {
		return "", err
	}

	var deleted []string
	for all := append(jobs, *job); len(all) > keepJobs; all = all[1:] {
		old := &all[0]
		pods, err := s.podsOf(ctx, nsPlatform, "Job", old.Name)
		if err != nil {
			return "", err
		}
		for k := range pods {
			if err := s.deletePod(ctx, &pods[k]); err != nil {
				return "", err
			}
		}
		if err := jobsAPI.Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return "", err
		}
		deleted = append(deleted, old.Name)
	}
	return fmt.Sprintf("CronJob %s/%s fired: Job %s started Pod %s on %s (pods finished: %s; old Jobs deleted: %s)",
		nsPlatform, cj.Name, name, pod.Name, pod.Spec.NodeName, names(finished), names(deleted)), nil
}

// rolloutCart rolls shop/cart out to a new image: a new ReplicaSet with a new
// pod-template-hash takes over the pods, the old one is scaled to 0, and only
// keepOldRS old ReplicaSets are kept.
func (s *Simulator) rolloutCart(ctx context.Context) (string, error) {
	deps := s.client.AppsV1().Deployments(nsShop)
	rsAPI := s.client.AppsV1().ReplicaSets(nsShop)
	d, err := deps.Get(ctx, cart, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	cur, old, err := s.replicaSets(ctx, d)
	if err != nil {
		return "", err
	}
	rev := revision(cur) + 1
	tag := fmt.Sprintf("1.%d", rev)
	var hash string
	for {
		hash = s.randString(10)
		if _, err := rsAPI.Get(ctx, d.Name+"-"+hash, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		} else if err != nil {
			return "", err
		}
	}
	replicas := ptrValue(d.Spec.Replicas)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: nsShop, Name: d.Name + "-" + hash, UID: s.uid(),
			Labels:          withLabel(cur.Labels, "pod-template-hash", hash),
			Annotations:     map[string]string{revisionAnnotation: strconv.FormatInt(rev, 10)},
			OwnerReferences: []metav1.OwnerReference{controllerRef("apps/v1", "Deployment", d)},
		},
		Spec: *cur.Spec.DeepCopy(),
	}
	rs.Spec.Replicas = ptr.To(replicas)
	if rs.Spec.Selector != nil {
		rs.Spec.Selector.MatchLabels = withLabel(rs.Spec.Selector.MatchLabels, "pod-template-hash", hash)
	}
	rs.Spec.Template.Labels = withLabel(rs.Spec.Template.Labels, "pod-template-hash", hash)
	setImageTag(rs.Spec.Template.Spec.Containers, tag)
	if rs, err = rsAPI.Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		return "", err
	}

	pods, err := s.podsOf(ctx, nsShop, "ReplicaSet", cur.Name)
	if err != nil {
		return "", err
	}
	ref := controllerRef("apps/v1", "ReplicaSet", rs)
	var created []string
	for i := 0; i < int(replicas); i++ {
		var tmpl *corev1.Pod
		if len(pods) > 0 {
			tmpl = pods[i%len(pods)].DeepCopy()
		} else {
			tmpl = podFrom(nsShop, &cur.Spec.Template)
		}
		tmpl.Labels = withLabel(tmpl.Labels, "pod-template-hash", hash)
		setImageTag(tmpl.Spec.Containers, tag)
		p, err := s.createPod(ctx, tmpl, rs.Name, ref)
		if err != nil {
			return "", err
		}
		created = append(created, p.Name)
	}
	for i := range pods {
		if err := s.deletePod(ctx, &pods[i]); err != nil {
			return "", err
		}
	}
	cur.Spec.Replicas = ptr.To[int32](0)
	if _, err := rsAPI.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return "", err
	}
	d.Annotations = withLabel(d.Annotations, revisionAnnotation, strconv.FormatInt(rev, 10))
	setImageTag(d.Spec.Template.Spec.Containers, tag)
	if _, err := deps.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		return "", err
	}

	var pruned []string
	history := append(old, *cur)
	for _, h := range history[:max(0, len(history)-keepOldRS)] {
		if err := rsAPI.Delete(ctx, h.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return "", err
		}
		pruned = append(pruned, h.Name)
	}
	return fmt.Sprintf("rolled out Deployment %s/%s to :%s: ReplicaSet %s (pods %s) replaces %s (scaled to 0; old ReplicaSets deleted: %s)",
		nsShop, d.Name, tag, rs.Name, names(created), cur.Name, names(pruned)), nil
}

// podFrom returns a pod of namespace ns shaped by a pod template.
func podFrom(ns string, t *corev1.PodTemplateSpec) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Labels: cloneMap(t.Labels)}, Spec: *t.Spec.DeepCopy()}
}

func controlledBy(obj metav1.Object, kind, name string) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && ref.Kind == kind && ref.Name == name
}

// controllerRef is the owner reference a controller puts on what it creates.
func controllerRef(apiVersion, kind string, owner metav1.Object) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}
}

// revision is a ReplicaSet's revision; the scenario's own have none (0).
func revision(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[revisionAnnotation], 10, 64)
	return n
}

func setImageTag(cs []corev1.Container, tag string) {
	for i := range cs {
		img := cs[i].Image
		if j := strings.LastIndexByte(img, ':'); j > strings.LastIndexByte(img, '/') {
			img = img[:j]
		}
		cs[i].Image = img + ":" + tag
	}
}

// withLabel returns a copy of m with k set to v.
func withLabel(m map[string]string, k, v string) map[string]string {
	out := cloneMap(m)
	out[k] = v
	return out
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	maps.Copy(out, m)
	return out
}

func ptrValue(p *int32) int32 {
	if p == nil {
		return 1 // the API's default for replicas
	}
	return *p
}

// names lists names for a log line.
func names(ns []string) string {
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}
