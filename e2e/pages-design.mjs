// Looks at the pages a person meets during sign-in — the gateway's consent page, its error page,
// its page after a Graph consent link, the Entra stand-in's sign-in and error pages — in headless Chromium (Debian's /usr/bin/chromium
// through playwright-core), for e2e/gateway_pages_test.go. Input: a JSON array of scenarios on
// stdin, each {name, url, then?}; output: one `RESULT {...}` JSON line per scenario.
//
// For every page, at 360 px and 1,280 px wide, in light and dark mode (prefers-color-scheme):
// a full-page screenshot written to $SCREENSHOT_DIR/<name>-<width>-<scheme>.png (and, at 1,280 px,
// the card alone to <name>-card-<scheme>.png, for documentation), an axe-core scan
// (the violations, by rule id and target), whether the page is wider than the window, and the
// computed colours that show the stylesheet applied. Once per page: the CSP header, the text of
// its <style> elements (the Go test hashes it against the header), the CSP errors Chromium
// logged, the number of script and img elements, and the text of the elements hostile input
// lands in.
//
// then: "signin" — click Allow on the consent page and report the Entra stand-in's sign-in page
// it leads to; "signin-error" — the same, then sign in with a wrong password.
// Env: CHROMIUM, SCREENSHOT_DIR, AXE (path of axe.min.js), SIGNIN_USER.
import { launchChromium, readScenarios, report } from './chromium-harness.mjs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const scenarios = await readScenarios();
const axeSource = await readFile(process.env.AXE, 'utf8');
const outDir = process.env.SCREENSHOT_DIR;
const browser = await launchChromium(['--font-render-hinting=none']);

// navigate runs fn, which starts a navigation, and returns the main document's response.
async function navigate(page, fn) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: 30000 }), fn()]);
  return resp;
}

// look records what one rendering of the page shows.
async function look(page, name, width, scheme) {
  await page.setViewportSize({ width, height: 900 });
  await page.emulateMedia({ colorScheme: scheme });
  const file = path.join(outDir, `${name}-${width}-${scheme}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (width > 1000) {
    // The card alone with a margin of page around it, for documentation (README shows one).
    const box = await page.locator('.card').boundingBox();
    await page.screenshot({ path: path.join(outDir, `${name}-card-${scheme}.png`), fullPage: true,
      clip: { x: box.x - 24, y: box.y - 24, width: box.width + 48, height: box.height + 48 } });
  }
  // page.evaluate runs through the DevTools protocol, which the page's CSP (no script at all)
  // does not govern; the page itself still runs no script.
  await page.evaluate(axeSource);
  const axe = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map(v => ({ id: v.id, impact: v.impact, targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }));
  });
  const layout = await page.evaluate(() => {
    const px = (sel, prop) => { const el = document.querySelector(sel); return el ? getComputedStyle(el)[prop] : null; };
    return {
      scrollWidth: document.documentElement.scrollWidth,
      bodyFont: px('body', 'fontFamily'),
      bodyBackground: px('body', 'backgroundColor'),
      primaryBackground: px('.primary, #submit', 'backgroundColor'),
      destBorder: px('.dest', 'borderLeftColor'),
    };
  });
  return { width, scheme, file, axe, ...layout };
}

for (const sc of scenarios) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const logs = [];
  page.on('console', m => logs.push(m.text()));
  try {
    let resp = await page.goto(sc.url, { waitUntil: 'load' });
    if (sc.then === 'signin' || sc.then === 'signin-error') {
      resp = await navigate(page, () => page.click('#approve'));
      if (sc.then === 'signin-error') {
        await page.fill('#username', process.env.SIGNIN_USER);
        await page.fill('#password', 'not-the-password');
        resp = await navigate(page, () => page.click('#submit'));
      }
    }
    const headers = resp ? await resp.allHeaders() : {};
    const doc = await page.evaluate(() => ({
      styles: [...document.querySelectorAll('style')].map(s => s.textContent),
      styleAttributes: document.querySelectorAll('[style]').length,
      scripts: document.scripts.length,
      images: document.images.length,
      clientName: document.querySelector('#client-name')?.textContent ?? null,
      redirectHost: document.querySelector('#redirect-host')?.textContent ?? null,
      redirectUri: document.querySelector('#redirect-uri')?.textContent ?? null,
      redirectKind: document.querySelector('#redirect-kind')?.textContent ?? null,
      clientIdHost: document.querySelector('#client-id-host')?.textContent ?? null,
      clientIdUrl: document.querySelector('#client-id-url')?.textContent ?? null,
      loopbackWarning: document.querySelector('#loopback-warning') !== null,
      result: document.querySelector('#result')?.textContent ?? null,
      bodyText: document.body.textContent,
      destWarn: document.querySelector('.dest')?.classList.contains('warn') ?? null,
      errorText: document.querySelector('#error')?.textContent ?? null,
      title: document.title,
      h1: document.querySelector('h1')?.textContent ?? null,
    }));
    const looks = [];
    for (const scheme of ['light', 'dark']) {
      for (const width of [360, 1280]) {
        looks.push(await look(page, sc.name, width, scheme));
      }
    }
    report(sc.name, { url: page.url(), status: resp ? resp.status() : 0, csp: headers['content-security-policy'] || '',
      ...doc, looks, cspErrors: logs.filter(t => /Content Security Policy/i.test(t)) });
  } catch (e) {
    report(sc.name, { error: String(e && e.message || e) });
  } finally {
    await context.close();
  }
}
await browser.close();
