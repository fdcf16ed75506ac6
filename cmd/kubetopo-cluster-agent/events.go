package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"

	"github.com/kubetopo/kubetopo/internal/events"
	"github.com/kubetopo/kubetopo/internal/push"
)

type remoteWriteFlags struct {
	url, keyFile, keyHeader string
	basicAuth               bool
	timeout                 time.Duration
}

// remoteWriteConfig builds one push.Client per stream from the flags.
type remoteWriteConfig struct {
	opts push.Options
}

// remoteWrite validates the --remote-write.* flags; nil when no URL is given.
func remoteWrite(f remoteWriteFlags, reg prometheus.Registerer, logger log.Logger) (*remoteWriteConfig, error) {
	if f.url == "" {
		if f.keyFile != "" {
			return nil, errors.New("--remote-write.api-key-file is set but --remote-write.url is not")
		}
		return nil, nil
	}
	var key string
	if f.keyFile != "" {
		b, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--remote-write.api-key-file: %w", err)
		}
		if key = strings.TrimSpace(string(b)); key == "" {
			return nil, fmt.Errorf("--remote-write.api-key-file: %s is empty", f.keyFile)
		}
	}
	if f.basicAuth && key == "" {
		return nil, errors.New("--remote-write.api-key-basic-auth needs --remote-write.api-key-file")
	}
	c := &remoteWriteConfig{opts: push.Options{
		URL: f.url, APIKey: key, APIKeyHeader: f.keyHeader, APIKeyBasicAuth: f.basicAuth, Timeout: f.timeout,
		UserAgent: name + "/" + version.Version, Logger: logger,
	}}
	if _, err := c.stream("check", prometheus.NewRegistry()); err != nil {
		return nil, fmt.Errorf("--remote-write.url: %w", err)
	}
	return c, nil
}

func (c *remoteWriteConfig) stream(stream string, reg prometheus.Registerer) (*push.Client, error) {
	o := c.opts
	o.Stream, o.Registerer = stream, reg
	return push.New(o)
}

// eventPipeline validates the --events.* flags and builds the pipeline.
func eventPipeline(cluster, overrides, checkpoint string, messageMax, batch int, rw *remoteWriteConfig, reg prometheus.Registerer, logger log.Logger) (*events.Pipeline, error) {
	var o map[string]events.Category
	if overrides != "" {
		var err error
		if o, err = events.LoadOverrides(overrides); err != nil {
			return nil, fmt.Errorf("--events.category-overrides: %w", err)
		}
	}
	if messageMax < 64 {
		return nil, fmt.Errorf("--events.message-max-bytes %d: want at least 64", messageMax)
	}
	opts := events.Options{
		Cluster: cluster, Categorizer: events.NewCategorizer(o), CheckpointFile: checkpoint,
		BatchSize: batch, MessageMax: messageMax, Logger: logger, Registerer: reg,
	}
	if rw != nil {
		w, err := rw.stream("events", reg)
		if err != nil {
			return nil, err
		}
		opts.Writer = w
	}
	return events.New(opts)
}
