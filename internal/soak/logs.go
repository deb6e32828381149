package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"

	"example.com/graphmcp/internal/localstack"
	"example.com/graphmcp/internal/syncbuf"
)

// logSet gathers the log lines of every process of the run: each handler process (stdout and
// stderr), the APIM emulator (output and its trace/event records) and the Cosmos emulator.
type logSet struct {
	mu      sync.Mutex
	buffers map[string]*syncbuf.Buffer
	lines   map[string][]string
}

func (l *logSet) writer(source string) io.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buffers == nil {
		l.buffers = map[string]*syncbuf.Buffer{}
	}
	b := &syncbuf.Buffer{}
	l.buffers[source] = b
	return b
}

func (l *logSet) add(source string, lines []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines = map[string][]string{}
	}
	l.lines[source] = append(l.lines[source], lines...)
}

// addHandlers adds the output of every handler process the stack started.
func (l *logSet) addHandlers(st *localstack.Stack) {
	for i, p := range st.Handlers() {
		l.add(fmt.Sprintf("handler #%d stdout", i+1), p.Stdout())
		l.add(fmt.Sprintf("handler #%d stderr", i+1), strings.Split(p.Stderr(), "\n"))
	}
}

// addGatewayEvents adds the emulator's trace, metric and event-hub records (read before the
// stack closes: they live in its temporary directory).
func (l *logSet) addGatewayEvents(st *localstack.Stack) error {
	events, err := st.Gateway.Events()
	var lines []string
	for _, e := range events {
		b, _ := json.Marshal(e)
		lines = append(lines, string(b))
	}
	l.add("gateway events", lines)
	return err
}

// all returns every source's lines.
func (l *logSet) all() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]string{}
	for k, v := range l.lines {
		out[k] = v
	}
	for k, b := range l.buffers {
		out[k] = append(out[k], strings.Split(b.String(), "\n")...)
	}
	return out
}

// Leak is a secret found in a log line: what kind of value, where, and which line (never the value).
type Leak struct {
	Kind, Source string
	Line         int
}

// formatPatterns are the shapes of what the project issues, found even when the exact value
// was never seen by a client (an Entra token the handler obtained, a handle it minted).
func formatPatterns(keyIDs []string) map[string]*regexp.Regexp {
	quoted := make([]string, len(keyIDs))
	for i, k := range keyIDs {
		quoted[i] = regexp.QuoteMeta(k)
	}
	return map[string]*regexp.Regexp{
		"JWT (Entra, managed-identity or Graph token)":  regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`),
		"sealed value (MCP access token, code payload)": regexp.MustCompile(`\b(?:` + strings.Join(quoted, "|") + `)\.[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{43}\b`),
		"refresh token handle":                          regexp.MustCompile(`\b[A-Z2-7]{26}\.[A-Za-z0-9_-]{43}\b`),
		"bearer credential":                             regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}`),
		"signed cookie":                                 regexp.MustCompile(`__Host-mcp-[a-z]+=[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{43}`),
	}
}

// scanSecrets looks for every known secret value (exactly) and every issued format in every
// line. Values are indexed by a 12-byte prefix so each line is read once.
func scanSecrets(logs map[string][]string, secrets map[string]string, patterns map[string]*regexp.Regexp) []Leak {
	const p = 12
	byPrefix := map[string][]string{}
	for v := range secrets {
		byPrefix[v[:p]] = append(byPrefix[v[:p]], v)
	}
	var leaks []Leak
	sources := make([]string, 0, len(logs))
	for s := range logs {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, src := range sources {
		for n, line := range logs[src] {
			found := ""
			for i := 0; i+p <= len(line) && found == ""; i++ {
				for _, v := range byPrefix[line[i:i+p]] {
					if strings.HasPrefix(line[i:], v) {
						found = secrets[v]
						break
					}
				}
			}
			for kind, re := range patterns {
				if found == "" && re.MatchString(line) {
					found = kind
				}
			}
			if found != "" {
				leaks = append(leaks, Leak{Kind: found, Source: src, Line: n + 1})
			}
		}
	}
	return leaks
}
