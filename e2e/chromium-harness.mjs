// What the headless-Chromium scripts of this folder (gateway-consent.mjs, pages-design.mjs)
// share: the scenarios arrive as a JSON array on stdin, results leave as `RESULT {...}` lines on
// stdout (read by runChromiumScript in chromium_test.go), and Chromium is Debian's
// /usr/bin/chromium (or $CHROMIUM) through playwright-core.
//
// The local CA is not imported into the browser: these tests use ignoreHTTPSErrors and
// --ignore-certificate-errors (without the flag Chromium still probes and aborts TLS handshakes,
// which the servers log).
import { chromium } from 'playwright-core';

// readScenarios returns the JSON array given on stdin.
export async function readScenarios() {
  return JSON.parse(await new Promise((res) => {
    let s = '';
    process.stdin.on('data', (d) => { s += d; });
    process.stdin.on('end', () => res(s));
  }));
}

// launchChromium starts headless Chromium with the flags every script needs, plus extraArgs.
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--ignore-certificate-errors', ...extraArgs],
  });
}

// report writes one scenario's result.
export function report(name, data) {
  process.stdout.write('RESULT ' + JSON.stringify({ name, ...data }) + '\n');
}
