// inject-bearer.mjs — preload for Node tools that speak MCP over fetch but have no auth option
// (the conformance suite's server mode). Load it with
//
//   NODE_OPTIONS="--import /abs/path/e2e/inject-bearer.mjs" \
//   MCP_BEARER_TOKEN=<token> MCP_BEARER_ORIGIN=http://127.0.0.1:PORT  conformance server --url …
//
// It wraps globalThis.fetch so that requests to MCP_BEARER_ORIGIN (required, so the token cannot
// leak to any other host) carry `authorization: Bearer $MCP_BEARER_TOKEN`, unless the caller set
// an Authorization header itself. The conformance suite's dns-rebinding-protection scenario uses
// undici's request() instead of fetch; a module resolve hook points the suite's `undici` import at
// undici-bearer.mjs, which adds the same header there. Other code using undici or node:http
// directly stays unauthenticated. Nothing is printed: the token must never reach a log.

import { register } from 'node:module';

const token = process.env.MCP_BEARER_TOKEN;
const origin = process.env.MCP_BEARER_ORIGIN;

if (token && !origin) {
  // Fail loudly instead of sending the token everywhere.
  throw new Error('inject-bearer.mjs: MCP_BEARER_ORIGIN must be set (e.g. http://127.0.0.1:8080) when MCP_BEARER_TOKEN is');
}

if (token && origin) {
  const wanted = new URL(origin).origin;
  const original = globalThis.fetch;
  globalThis.fetch = function fetchWithBearer(input, init) {
    const url = input instanceof Request ? input.url : String(input);
    let target;
    try {
      target = new URL(url).origin;
    } catch {
      return original(input, init);
    }
    if (target !== wanted) {
      return original(input, init);
    }
    if (input instanceof Request) {
      const req = new Request(input, init);
      if (!req.headers.has('authorization')) {
        req.headers.set('authorization', `Bearer ${token}`);
      }
      return original(req);
    }
    const headers = new Headers(init?.headers);
    if (!headers.has('authorization')) {
      headers.set('authorization', `Bearer ${token}`);
    }
    return original(input, { ...init, headers });
  };

  // Redirect `import … from "undici"` made by the conformance suite (and only by it) to the
  // wrapper. The hook runs on the loader thread, so it is passed as a data: URL module.
  const wrapper = new URL('./undici-bearer.mjs', import.meta.url).href;
  const hook = `
    export async function resolve(specifier, context, next) {
      if (specifier === 'undici' && context.parentURL && context.parentURL.includes('/@modelcontextprotocol/conformance/')) {
        return { url: ${JSON.stringify(wrapper)}, shortCircuit: true };
      }
      return next(specifier, context);
    }`;
  register('data:text/javascript,' + encodeURIComponent(hook));
}
