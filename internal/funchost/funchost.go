// Package funchost is a stand-in for the Azure Functions host in front of a custom handler,
// so that tests can put the real handler binary behind the same routing, key checks and
// request rewriting it meets in Azure — without the Functions host, which cannot be installed
// offline.
//
// It models the host's enableProxyingHttpRequest mode (YARP's default forwarder):
//
//	srv, err := funchost.Start(&funchost.Options{
//		Backend:    "http://127.0.0.1:" + handlerPort, // where the custom handler listens
//		PublicHost: "myapp.azurewebsites.net",          // the Host the handler must accept
//		FunctionKeys: []string{key},                     // for authLevel "function" routes
//	})
//	defer srv.Close()
//	resp, err := http.Post(srv.URL()+"/mcp", "application/json", body)
//
// What it reproduces (source: Azure/azure-functions-host WebScriptHostHttpRoutesManager and
// DefaultHttpProxyService, YARP HttpTransformer.Default):
//   - Routing from the repository's real host.json (extensions.http.routePrefix, default "api";
//     the "mcp-custom-handler" configuration profile's catch-all) and functions/*/function.json
//     (route template, methods, authLevel). The host registers each function's route with an
//     HttpMethodRouteConstraint, so a method outside `methods` makes the route not match at all:
//     the answer is 404, not 405. Routes are tried in function-name order, first match wins.
//   - Keys: authLevel function/admin needs x-functions-key (preferred) or the `code` query
//     parameter; a missing or wrong key is 401 with an empty body. Function and host keys are
//     modelled by Options.FunctionKeys, the master key (the only key for admin) by MasterKey.
//   - Forwarding: same method, path, query and body; every header copied, including the public
//     Host (YARP's default transformer does not replace Host) and the key header. The `code`
//     parameter is NOT stripped: the host authorises but does not rewrite the request, so the
//     handler sees it and must never log query strings. Added: x-ms-invocation-id,
//     X-Azure-Functions-InvocationId (same GUID), X-Azure-Functions-HostVersion.
//   - Streaming: responses are flushed as they arrive (chunked and text/event-stream pass through).
//   - An unreachable handler gives 502, as YARP does.
//
// What it does not model: the platform front end's TLS, CORS, Easy Auth, the host's own /admin
// and /runtime endpoints, its home page on "/", route constraints ({id:int}), timeouts.
package funchost
