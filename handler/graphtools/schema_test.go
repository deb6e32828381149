package graphtools

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestInputSchemasAreGoSDKs: the schema a tool hands go-sdk (and validates CallDirect's
// arguments with) is the one go-sdk infers by itself from the same input type, as a client
// sees it in tools/list.
func TestInputSchemasAreGoSDKs(t *testing.T) {
	listed := func(add func(*mcp.Server)) map[string]string {
		t.Helper()
		s := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
		add(s)
		st, ct := mcp.NewInMemoryTransports()
		ctx := context.Background()
		ss, err := s.Connect(ctx, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Close()
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, tool := range res.Tools {
			b, _ := json.Marshal(tool.InputSchema)
			out[tool.Name] = string(b)
		}
		return out
	}
	ours := listed(func(s *mcp.Server) {
		for _, tool := range Tools() {
			tool.AddTo(s, (&Deps{}).Defaults())
		}
	})
	inferred := listed(func(s *mcp.Server) {
		infer := func(name string) *mcp.Tool { return &mcp.Tool{Name: name} }
		nop := func(context.Context, *mcp.CallToolRequest, any) (*mcp.CallToolResult, any, error) {
			return nil, nil, nil
		}
		mcp.AddTool(s, infer(userDetails.Name), func(ctx context.Context, r *mcp.CallToolRequest, _ userDetailsIn) (*mcp.CallToolResult, any, error) {
			return nop(ctx, r, nil)
		})
		mcp.AddTool(s, infer(upcomingEvents.Name), func(ctx context.Context, r *mcp.CallToolRequest, _ upcomingEventsIn) (*mcp.CallToolResult, any, error) {
			return nop(ctx, r, nil)
		})
		mcp.AddTool(s, infer(recentMail.Name), func(ctx context.Context, r *mcp.CallToolRequest, _ recentMailIn) (*mcp.CallToolResult, any, error) {
			return nop(ctx, r, nil)
		})
		mcp.AddTool(s, infer(recentFiles.Name), func(ctx context.Context, r *mcp.CallToolRequest, _ recentFilesIn) (*mcp.CallToolResult, any, error) {
			return nop(ctx, r, nil)
		})
	})
	if len(ours) != len(Tools()) || len(ours) != len(inferred) {
		t.Fatalf("listed %d and %d tools, want %d", len(ours), len(inferred), len(Tools()))
	}
	for name, schema := range inferred {
		if ours[name] != schema {
			t.Errorf("%s: our input schema\n%s\ngo-sdk's\n%s", name, ours[name], schema)
		}
	}
}
