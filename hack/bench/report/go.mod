module github.com/kubetopo/kubetopo/hack/bench/report

go 1.26.8

require golang.org/x/image v0.48.0
