package internalapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"example.com/graphmcp/handler/cimd"
	"example.com/graphmcp/handler/config"
	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/bolt"
	"example.com/graphmcp/handler/store/cosmos"
)

// Open opens the store described by cfg (Cosmos DB with an Entra credential, or the embedded
// bbolt file) and returns the API handler to mount at "/internal/" and a function that closes
// the store at shutdown. getenv is os.Getenv in production (for the credential's environment).
func Open(cfg config.StoreConfig, getenv func(string) string, logger *slog.Logger) (http.Handler, func() error, error) {
	var (
		st  store.Store
		err error
	)
	switch cfg.Kind {
	case config.StoreCosmos:
		cred, cerr := cosmos.NewCredential(getenv, cfg.ManagedIdentityClientID)
		if cerr != nil {
			return nil, nil, cerr
		}
		st, err = cosmos.New(cfg.CosmosEndpoint, cred, &cosmos.Options{Database: cfg.CosmosDatabase, CreateIfMissing: cfg.CosmosCreateIfMissing})
		if err == nil {
			logger.Info("state store: Cosmos DB", slog.String("endpoint", cfg.CosmosEndpoint), slog.String("database", cfg.CosmosDatabase))
		}
	case config.StoreEmbedded:
		st, err = bolt.Open(cfg.File, nil)
		if err == nil {
			logger.Info("state store: embedded file", slog.String("file", cfg.File))
		}
	default:
		return nil, nil, fmt.Errorf("state store: unknown STATE_STORE %q (use cosmos or embedded)", cfg.Kind)
	}
	if err != nil {
		return nil, nil, err
	}
	h := New(st, cimd.New(nil), &Options{Logger: logger, RequireFunctionsHost: cfg.RequireFunctionsHost})
	return h, st.Close, nil
}

// Opening is a state store being opened in the background ([NewOpening], [Opening.Start]). The
// handler listens (and answers the host's GET / readiness ping) without waiting for it:
// /internal/ requests wait until the store is open ([Opening.ServeHTTP]), and [Opening.Failed]
// tells main to exit when it cannot be opened.
type Opening struct {
	done   chan struct{}
	failed chan error
	h      http.Handler
	close  func() error
	err    error
}

// NewOpening returns an Opening to mount at /internal/ before [Opening.Start] opens the store,
// so that main can build the server around it and start the store after the server's JWKS
// request.
func NewOpening() *Opening {
	return &Opening{done: make(chan struct{}), failed: make(chan error, 1)}
}

// maxStartDelay bounds how long [Opening.Start] waits for its after channel: an Entra that
// does not answer the JWKS request must not hold the store back.
const maxStartDelay = time.Second

// Start opens the store described by cfg ([Open]) on its own goroutine once after is closed (nil:
// at once; at most [maxStartDelay] later). main passes the server's JWKSRequested: on a busy CPU
// the embedded file's fsync or Cosmos's connection would otherwise take turns with the JWKS
// request the handler needs to be ready, and nothing waits for the store at start. Call it once.
func (o *Opening) Start(after <-chan struct{}, cfg config.StoreConfig, getenv func(string) string, logger *slog.Logger) {
	go func() {
		defer close(o.done)
		if after != nil {
			t := time.NewTimer(maxStartDelay)
			select {
			case <-after:
			case <-t.C:
			}
			t.Stop()
		}
		o.h, o.close, o.err = Open(cfg, getenv, logger)
		if o.err != nil {
			o.failed <- o.err
		}
	}()
}

// Failed delivers the error, once, if the store cannot be opened; nothing if it opens. main
// selects on it next to the server's Serve, so a store that fails after the handler started
// listening still stops the process (exit 1) instead of leaving /internal/ unusable.
func (o *Opening) Failed() <-chan error { return o.failed }

// Close waits for the open started by [Opening.Start] to end and closes the store if it opened
// (at shutdown).
func (o *Opening) Close() error {
	<-o.done
	if o.err != nil {
		return nil
	}
	return o.close()
}

// ServeHTTP waits for the store, then serves the API (503 if it failed to open; the process
// exits in that case anyway). A request whose client gives up while waiting gets nothing.
func (o *Opening) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-o.done:
	case <-r.Context().Done():
		return
	}
	if o.err != nil {
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Code: "store_unavailable",
			Description: "the state store could not be opened; see the handler's log"})
		return
	}
	o.h.ServeHTTP(w, r)
}
