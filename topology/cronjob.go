package topology

import batchv1 "k8s.io/api/batch/v1"

// MapCronJob maps a CronJob; its namespace always encloses it.
func MapCronJob(u URNs, o *batchv1.CronJob) Result {
	var r Result
	c := objectComponent(u, TypeCronJob, o, Label{"cronjob", o.Name})
	r.add(c)
	r.enclosedBy(u, c)
	return r
}
