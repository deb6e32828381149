// Drives the gateway's consent page in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) for e2e/gateway_consent_test.go. Input: a JSON array of scenarios on stdin,
// each {name, kind, authorizeUrl, redirectPrefix}; output: one `RESULT {...}` JSON line per
// scenario. Cookie values are never printed, only their attributes.
//
// kinds:
//   approve       open the authorize URL, check the page, click Allow; report the final redirect
//   deny          the same, click Deny
//   forged-csrf   change the hidden CSRF token before clicking Allow
//   missing-csrf  remove the hidden CSRF token before clicking Allow
//   frame         load the consent page inside an iframe of another origin
//   cross-origin  submit a copy of the consent form from another origin
//
// The local CA is not imported into the browser (chromium-harness.mjs says why). Env: CHROMIUM
// (executable path), SIGNIN_USER and SIGNIN_PASSWORD (typed into the Entra stand-in's sign-in
// page after approval).
import { launchChromium, readScenarios, report } from './chromium-harness.mjs';

const scenarios = await readScenarios();
const browser = await launchChromium();

function cookieAttrs(cookies) {
  return cookies.map(c => ({ name: c.name, secure: c.secure, httpOnly: c.httpOnly, sameSite: c.sameSite,
    path: c.path, domain: c.domain, hasExpiry: c.expires > 0, valueLength: c.value.length }));
}

async function openConsent(page, sc) {
  const resp = await page.goto(sc.authorizeUrl, { waitUntil: 'load' });
  const headers = resp ? await resp.allHeaders() : {};
  return {
    url: page.url(),
    status: resp ? resp.status() : 0,
    csp: headers['content-security-policy'] || '',
    xfo: headers['x-frame-options'] || '',
    cacheControl: headers['cache-control'] || '',
    clientName: await page.textContent('#client-name').catch(() => null),
    redirectHost: await page.textContent('#redirect-host').catch(() => null),
    scopes: await page.textContent('#scopes').catch(() => null),
  };
}

// submitAndWait clicks a button and waits for the navigation it starts, redirects included:
// it ends either at the client's redirect URI (the flow left the gateway) or at a gateway page.
async function submitAndWait(page, sc, selector) {
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: 30000 }),
    page.click(selector),
  ]);
  if (page.url().startsWith(sc.redirectPrefix)) return { redirect: page.url() };
  if (await page.$('#password')) {
    // The Entra stand-in's sign-in page: sign in as the test user, like a person would.
    await page.fill('#username', process.env.SIGNIN_USER);
    await page.fill('#password', process.env.SIGNIN_PASSWORD);
    const [resp2] = await Promise.all([
      page.waitForNavigation({ waitUntil: 'load', timeout: 30000 }),
      page.click('form button'),
    ]);
    if (page.url().startsWith(sc.redirectPrefix)) return { redirect: page.url(), signedIn: true };
    return { page: page.url(), status: resp2 ? resp2.status() : 0, text: await page.textContent('body').catch(() => '') };
  }
  return { page: page.url(), status: resp ? resp.status() : 0, text: await page.textContent('body').catch(() => '') };
}

for (const sc of scenarios) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const consoleMessages = [];
  page.on('console', m => consoleMessages.push(m.text()));
  try {
    if (sc.kind === 'frame') {
      await page.route('https://framer.test/**', r => r.fulfill({ status: 200, contentType: 'text/html',
        body: `<!doctype html><iframe id="f" src="${sc.consentUrl}" width="600" height="400"></iframe>` }));
      await page.goto('https://framer.test/', { waitUntil: 'load' });
      const frame = page.frames().find(f => f !== page.mainFrame());
      const frameUrl = frame ? frame.url() : '';
      const framedText = frame ? await frame.textContent('body').catch(() => null) : null;
      report(sc.name, { frameUrl, framedHasConsent: !!(framedText && framedText.includes('Allow')), console: consoleMessages });
      continue;
    }
    const info = await openConsent(page, sc);
    const cookies = cookieAttrs(await context.cookies());
    if (sc.kind === 'forged-csrf') {
      await page.$eval('input[name=csrf]', el => { el.value = el.value.split('').reverse().join(''); });
    }
    if (sc.kind === 'missing-csrf') {
      await page.$eval('input[name=csrf]', el => el.remove());
    }
    if (sc.kind === 'cross-origin') {
      // Copy the form's fields and post them from another origin.
      const fields = await page.$$eval('form input', els => els.map(e => [e.name, e.value]));
      const inputs = fields.map(([n, v]) => `<input type="hidden" name="${n}" value="${v.replace(/"/g, '&quot;')}">`).join('');
      const action = new URL('/consent', sc.authorizeUrl).toString();
      await page.route('https://attacker.test/**', r => r.fulfill({ status: 200, contentType: 'text/html',
        body: `<!doctype html><form id="f" method="post" action="${action}">${inputs}<input type="hidden" name="action" value="approve"><button id="go">go</button></form>` }));
      await page.goto('https://attacker.test/', { waitUntil: 'load' });
      const out = await submitAndWait(page, sc, '#go');
      report(sc.name, { info, out });
      continue;
    }
    const button = sc.kind === 'deny' ? '#deny' : '#approve';
    const out = await submitAndWait(page, sc, button);
    const after = cookieAttrs(await context.cookies());
    report(sc.name, { info, cookiesAtConsent: cookies, cookiesAfter: after, out });
  } catch (e) {
    report(sc.name, { error: String(e && e.message || e) });
  } finally {
    await context.close();
  }
}
await browser.close();
