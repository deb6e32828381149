package localstack

import (
	"errors"
	"fmt"
	"maps"
	"strconv"

	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/funchost"
	"example.com/graphmcp/internal/handlerproc"
)

// addEnv adds the handler variables these options choose to env.
func (h HandlerOptions) addEnv(env map[string]string) {
	if h.CosmosEndpoint != "" {
		db := h.CosmosDatabase
		if db == "" {
			db = "mcpgateway"
		}
		env["STATE_STORE"] = "cosmos"
		env["COSMOS_ENDPOINT"] = h.CosmosEndpoint
		env["COSMOS_DATABASE"] = db
		env["COSMOS_CREATE_IF_MISSING"] = "true"
		env["AZURE_TOKEN_CREDENTIALS"] = "prod" // the function's managed identity, as in Azure
		delete(env, "STATE_FILE")
	}
	maps.Copy(env, h.Env)
}

// startHostAndHandler starts the handler (first, on a port it is retried on until it binds it)
// and the Functions-host stand-in in front of it; with HandlerOptions.Restart the stand-in
// starts the handler itself and again whenever it exits.
func (s *Stack) startHostAndHandler(env map[string]string) error {
	if s.opts.Handler.Restart {
		host, err := funchost.Start(&funchost.Options{
			FunctionKeys: []string{s.FunctionKey},
			Launch:       func() (funchost.Worker, error) { return s.launchHandler(env) },
		})
		if err != nil {
			return fmt.Errorf("localstack: functions host stand-in: %w", err)
		}
		s.Host = host
		s.closers = append(s.closers, host.Close) // stops the current handler too
		return nil
	}
	p, err := s.launchHandler(env)
	if p != nil {
		s.closers = append(s.closers, func() { p.Stop() })
	}
	if err != nil {
		return err
	}
	if s.Host, err = funchost.Start(&funchost.Options{Backend: p.URL(), FunctionKeys: []string{s.FunctionKey}}); err != nil {
		return fmt.Errorf("localstack: functions host stand-in: %w", err)
	}
	s.closers = append(s.closers, s.Host.Close)
	return nil
}

// launchHandler starts one handler process and records it. A restart tries the previous
// process's port first, so the host's backend stays where it was when it can.
func (s *Stack) launchHandler(env map[string]string) (*handlerproc.Process, error) {
	s.handlersMu.Lock()
	var prev *handlerproc.Process
	if n := len(s.handlers); n > 0 {
		prev = s.handlers[n-1]
	}
	s.handlersMu.Unlock()
	var p *handlerproc.Process
	var err error
	if prev != nil {
		fixed := maps.Clone(env)
		fixed["FUNCTIONS_CUSTOMHANDLER_PORT"] = strconv.Itoa(prev.Port())
		p, err = handlerproc.StartProcess(&handlerproc.Options{Env: fixed})
		if errors.Is(err, freeport.ErrTaken) {
			p, err = handlerproc.StartProcess(&handlerproc.Options{Env: env})
		}
	} else {
		p, err = handlerproc.StartProcess(&handlerproc.Options{Env: env})
	}
	if p != nil {
		s.handlersMu.Lock()
		s.handlers = append(s.handlers, p)
		if s.Handler == nil {
			s.Handler = p
		}
		s.handlersMu.Unlock()
	}
	if err != nil {
		return p, fmt.Errorf("localstack: handler: %w", err)
	}
	return p, nil
}

// Handlers returns every handler process started so far, oldest first: with
// HandlerOptions.Restart, the ones that exited and the one serving now (the last).
func (s *Stack) Handlers() []*handlerproc.Process {
	s.handlersMu.Lock()
	defer s.handlersMu.Unlock()
	return append([]*handlerproc.Process(nil), s.handlers...)
}

// CurrentHandler is the handler process started last (the one serving, unless it just exited).
func (s *Stack) CurrentHandler() *handlerproc.Process {
	s.handlersMu.Lock()
	defer s.handlersMu.Unlock()
	return s.handlers[len(s.handlers)-1]
}
