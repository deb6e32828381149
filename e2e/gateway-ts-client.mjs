// Headless MCP TypeScript SDK client for the gateway end-to-end tests (driven by
// e2e/gateway_clients_test.go). It connects to MCP_URL with an OAuthClientProvider:
// dynamic registration, PKCE S256 and `resource` are the SDK's own. The "browser" is the Go
// test: redirectToAuthorization prints `AUTHORIZE_URL <url>` on stdout and reads the final
// redirect (to this client's redirect_uri, with code/state/iss) from stdin, one line.
//
// Then it calls get_graph_user_details, waits until the access token has expired (the test's
// gateway issues short-lived tokens), and calls again: the SDK sees the 401, refreshes with the
// refresh token and retries. Every step is printed as one JSON line `RESULT {...}`; tokens are
// never printed, only their lengths.
//
// Env: MCP_URL, REDIRECT_URL (loopback, nobody listens: the Go test stops at the redirect),
// WAIT_FOR_EXPIRY=1 to run the refresh step, NODE_EXTRA_CA_CERTS for the local CA.
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const mcpUrl = new URL(process.env.MCP_URL);
const redirectUrl = process.env.REDIRECT_URL;
const rl = createInterface({ input: process.stdin });
const lines = rl[Symbol.asyncIterator]();

function report(step, data) {
  process.stdout.write('RESULT ' + JSON.stringify({ step, ...data }) + '\n');
}

class HeadlessProvider {
  constructor() {
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._state = undefined;
    this.code = undefined;
    this.tokenSaves = 0;
    this.savedAt = 0;
  }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return {
      client_name: 'graphmcp e2e TypeScript SDK client',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    };
  }
  state() {
    this._state = crypto.randomUUID();
    return this._state;
  }
  clientInformation() { return this._client; }
  saveClientInformation(info) { this._client = info; }
  tokens() { return this._tokens; }
  saveTokens(tokens) {
    this._tokens = tokens;
    this.tokenSaves++;
    this.savedAt = Date.now();
    report('tokens', { saves: this.tokenSaves, access_token_length: tokens.access_token.length,
      has_refresh_token: !!tokens.refresh_token, expires_in: tokens.expires_in, token_type: tokens.token_type });
  }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }
  async redirectToAuthorization(url) {
    process.stdout.write('AUTHORIZE_URL ' + url.toString() + '\n');
    const { value, done } = await lines.next();
    if (done) throw new Error('stdin closed before the redirect arrived');
    const back = new URL(value.trim());
    if (back.searchParams.get('state') !== this._state) throw new Error('state mismatch in the authorization response');
    if (back.searchParams.get('error')) throw new Error('authorization failed: ' + back.searchParams.get('error'));
    report('redirect', { iss: back.searchParams.get('iss'), code_length: (back.searchParams.get('code') || '').length });
    this.code = back.searchParams.get('code');
  }
}

function textOf(result) {
  return (result.content || []).filter(c => c.type === 'text').map(c => c.text).join('\n');
}

const provider = new HeadlessProvider();
const client = new Client({ name: 'graphmcp-e2e-ts', version: '0.0.1' });
let transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
try {
  await client.connect(transport);
  throw new Error('connected without authorization: the gateway admitted an unauthenticated client');
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
await transport.finishAuth(provider.code);
transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
await client.connect(transport);
const tools = await client.listTools();
report('tools', { names: tools.tools.map(t => t.name) });
let r = await client.callTool({ name: 'get_graph_user_details', arguments: {} });
report('call', { isError: !!r.isError, text: textOf(r) });

if (process.env.WAIT_FOR_EXPIRY === '1') {
  // Wait for the access token's own expiry (expires_in, seconds): this is the event under test.
  const ms = provider.savedAt + (provider.tokens().expires_in + 1) * 1000 - Date.now();
  if (ms > 0) await new Promise(res => setTimeout(res, ms));
  const before = provider.tokenSaves;
  r = await client.callTool({ name: 'get_graph_user_details', arguments: {} });
  report('call-after-expiry', { isError: !!r.isError, text: textOf(r), refreshed: provider.tokenSaves > before });
}
await client.close();
report('done', {});
rl.close();
process.exit(0);
