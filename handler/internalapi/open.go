package internalapi

import (
	"fmt"
	"log/slog"
	"net/http"

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
