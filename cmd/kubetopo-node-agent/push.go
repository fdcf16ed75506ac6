package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"

	"github.com/kubetopo/kubetopo/internal/nodeagent"
	"github.com/kubetopo/kubetopo/internal/push"
	"github.com/kubetopo/kubetopo/internal/republish"
)

// pushFlags are the optional remote-write flags.
type pushFlags struct {
	url, apiKeyFile, apiKeyHeader *string
	basicAuth                     *bool
	queue                         *int

	queueRun func(context.Context) error
	pusher   *nodeagent.Pusher
}

func addPushFlags(app *kingpin.Application) *pushFlags {
	return &pushFlags{
		url:          app.Flag("remote-write.url", "Push every scrape round's series to this remote-write 1.0 URL (the kubetopo receiver). Empty: no push.").Default("").String(),
		apiKeyFile:   app.Flag("remote-write.api-key-file", "File holding the API key for the receiver.").Default("").String(),
		apiKeyHeader: app.Flag("remote-write.api-key-header", "Header carrying the API key; '-' for none.").Default(push.DefaultAPIKeyHeader).String(),
		basicAuth:    app.Flag("remote-write.api-key-basic-auth", "Also send the API key as basic auth user 'apikey'.").Bool(),
		queue:        app.Flag("remote-write.queue-batches", "Batches (2000 series each) held while the receiver is unreachable.").Default("64").Int(),
	}
}

func (f *pushFlags) build(cluster string, logger log.Logger, reg prometheus.Registerer) (*pushFlags, error) {
	if *f.url == "" {
		return f, nil
	}
	var key string
	if *f.apiKeyFile != "" {
		b, err := os.ReadFile(*f.apiKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--remote-write.api-key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	c, err := push.New(push.Options{
		URL: *f.url, APIKey: key, APIKeyHeader: *f.apiKeyHeader, APIKeyBasicAuth: *f.basicAuth,
		Stream: "node-agent", UserAgent: name + "/" + version.Version, Logger: logger, Registerer: reg,
	})
	if err != nil {
		return nil, fmt.Errorf("--remote-write.url: %w", err)
	}
	q, err := push.NewQueue(c, *f.queue, reg)
	if err != nil {
		return nil, err
	}
	f.queueRun, f.pusher = q.Run, nodeagent.NewPusher(q, 2000, logger)
	return f, nil
}

func (f *pushFlags) afterRound(ctx context.Context, pages map[string]*republish.Page) {
	if f.pusher != nil {
		f.pusher.AfterRound(ctx, pages)
	}
}

func (f *pushFlags) run(ctx context.Context) error {
	if f.queueRun == nil {
		return nil
	}
	return f.queueRun(ctx)
}
