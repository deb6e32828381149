package mcpserver

import (
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/graphtools"
)

// NewSDKServer returns a go-sdk server holding tools, the same server whichever transport
// carries it: Streamable HTTP here (one per tool set, see [Handler]) or stdio in local mode
// (package stdio). schemas may be nil.
func NewSDKServer(tools []graphtools.Tool, deps *graphtools.Deps, version string, logger *slog.Logger, schemas *mcp.SchemaCache) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "graphmcp", Title: "Microsoft Graph tools", Version: version}, &mcp.ServerOptions{
		Instructions: "Tools that read the signed-in user's Microsoft 365 data through Microsoft Graph, on the user's behalf.",
		Logger:       logger,
		SchemaCache:  schemas,
		Capabilities: &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{}, Tools: &mcp.ToolCapabilities{}},
	})
	for _, t := range tools {
		t.AddTo(s, deps)
	}
	return s
}
