package cosmos_test

import (
	"testing"
	"time"

	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/cosmos"
	"example.com/graphmcp/handler/store/cosmos/cosmostest"
	"example.com/graphmcp/handler/store/storetest"
)

func TestContract(t *testing.T) {
	endpoint := cosmostest.Start(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		st, err := cosmos.New(endpoint, cosmostest.Credential{}, &cosmos.Options{
			Database: cosmostest.NewDatabaseName(), CreateIfMissing: true,
			ClientOptions: cosmostest.ClientOptions(), Now: now,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
