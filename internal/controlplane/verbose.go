package controlplane

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
)

// Check is one named check of the apiserver's /readyz or /livez, as the
// verbose answer lists it: "[+]etcd ok" or "[-]etcd failed: reason withheld".
type Check struct {
	Name string
	OK   bool
}

// parseVerbose parses the answer of /readyz?verbose or /livez?verbose (the
// same for /healthz): one line per check, then "<endpoint> check passed" or
// "<endpoint> check failed". The apiserver sends the same body with status
// 200 or 500: the status says whether the endpoint passed, the body which
// checks failed.
func parseVerbose(body []byte) ([]Check, error) {
	var checks []Check
	verdict := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "[+]"), strings.HasPrefix(line, "[-]"):
			name, _, _ := strings.Cut(line[3:], " ")
			if name == "" {
				return nil, errors.New("a check line without a name: " + truncate(line))
			}
			checks = append(checks, Check{Name: name, OK: line[1] == '+'})
		case strings.HasSuffix(line, " check passed"), strings.HasSuffix(line, " check failed"):
			verdict = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !verdict && len(checks) == 0 {
		return nil, errors.New("not a verbose health answer: " + truncate(string(body)))
	}
	return checks, nil
}

func truncate(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
