// Drives README's "MCP Inspector (web UI), step by step" walk-through in headless Chromium:
// add the server in the Inspector's web UI, connect, allow on the gateway's consent page, sign in
// at the Entra stand-in, list the tools and execute get_graph_user_details.
// Env: PLAYWRIGHT (path of playwright-core's index.mjs), CHROMIUM, INSPECTOR_URL, MCP_URL, UPN, PASSWORD.
// Prints `STEP <name>` as it goes and one `RESULT {...}` line; never prints URLs with codes or tokens.
const { chromium } = await import(process.env.PLAYWRIGHT);

const step = (name) => console.log(`STEP ${name}`);
const where = (page) => { const u = new URL(page.url()); return u.origin + u.pathname; };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
// The pages of the local stack are served by certificates from the test's throw-away CA; a
// person imports that CA (README), the test lets the browser accept it.
const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
ctx.setDefaultTimeout(20000);
const page = await ctx.newPage();
try {
  step('open');
  await page.goto(process.env.INSPECTOR_URL);
  step('add-server');
  await page.getByRole('button', { name: 'Add Servers' }).click();
  await page.getByText('+ Add manually').click();
  await page.getByPlaceholder('my-server').fill('graph');
  await page.locator('input[value="stdio (local process)"]').click();
  await page.locator('[role=option][value=streamable-http]').click();
  await page.getByPlaceholder('https://example.com/mcp').fill(process.env.MCP_URL);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  step('connect');
  await page.getByRole('switch', { name: 'Connect or disconnect "graph"' }).check({ force: true });
  await page.waitForURL((u) => u.pathname === '/consent');
  step('consent');
  const consent = await page.locator('body').innerText();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((u) => u.pathname.endsWith('/oauth2/v2.0/authorize'));
  step('sign-in');
  await page.fill('#username', process.env.UPN);
  await page.fill('#password', process.env.PASSWORD);
  await page.click('#submit');
  await page.getByText('Connected', { exact: true }).waitFor();
  step('tools');
  await page.getByText('Tools', { exact: true }).click();
  await page.getByText('get_graph_user_details').waitFor();
  const tools = await page.getByText(/^(get|list)_[a-z_]+$/).allInnerTexts();
  await page.getByText('get_graph_user_details').click();
  await page.getByRole('button', { name: 'Execute Tool' }).click();
  await page.getByText('Results', { exact: true }).waitFor();
  const results = await page.locator('body').innerText();
  console.log('RESULT ' + JSON.stringify({
    consent_names_client: consent.includes('MCP Inspector'),
    tools: [...new Set(tools)].sort(),
    profile_shown: results.includes('"displayName": "Adele Vance"'),
  }));
} catch (e) {
  console.log(`FAILED at ${where(page)}: ${String(e.message).split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
