// undici-bearer.mjs — stands in for the `undici` module inside @modelcontextprotocol/conformance
// (inject-bearer.mjs redirects that one import here with a module resolve hook). The suite's
// dns-rebinding-protection scenario sends its requests with undici's request() rather than
// fetch, so without this they would carry no token and an authenticated server could only
// answer 401, which proves nothing about its Host check. Everything else is undici unchanged.
export * from 'undici';
import { request as undiciRequest } from 'undici';

const token = process.env.MCP_BEARER_TOKEN;
const wanted = process.env.MCP_BEARER_ORIGIN ? new URL(process.env.MCP_BEARER_ORIGIN).origin : '';

export function request(url, options = {}) {
  let target = '';
  try {
    target = new URL(String(url)).origin;
  } catch {
    // leave target empty: not our server
  }
  if (!token || target !== wanted) {
    return undiciRequest(url, options);
  }
  const headers = { ...(options.headers ?? {}) };
  const has = Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
  if (!has) {
    headers.authorization = `Bearer ${token}`;
  }
  return undiciRequest(url, { ...options, headers });
}
