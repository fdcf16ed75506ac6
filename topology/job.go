package topology

import batchv1 "k8s.io/api/batch/v1"

// MapJob maps a Job: the CronJob that created it, or, when it has none, its
// namespace encloses it. KSM names the Job label job_name (job is Prometheus').
func MapJob(u URNs, j *batchv1.Job) Result {
	var r Result
	c := objectComponent(u, TypeJob, j, Label{"job_name", j.Name})
	r.add(c)
	if typ, owner, ok := modelledOwner(u, j); ok && typ == TypeCronJob {
		r.relate(RelCreates, typ, owner, c.Type, c.URN)
	} else {
		r.enclosedBy(u, c)
	}
	return r
}
