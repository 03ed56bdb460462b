/**
 * Console load benchmark: first load of the console on localhost with a cold browser cache, and
 * the gzipped size of the JavaScript the first route needs. Prints measured / limit (issue #8:
 * first load ≤ 1.5 s, main route JS ≤ 1 MB gzipped) next to a peer measured in the same run: a
 * bare page served by the same server (the floor any page pays: browser start-up of a context,
 * connection, one HTML document).
 *
 *   npm run build:web && npx tsx bench/console/first-load.ts      (BENCH_RUNS=5 by default)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LIMIT_LOAD_MS = 1500;
const LIMIT_JS_GZ = 1024 * 1024;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

async function session(server: TestServer): Promise<{ name: string; value: string }[]> {
  const res = await fetch(`${server.url}/_apiary/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username: server.credentials.accessKeyId,
      password: server.credentials.secretAccessKey,
    }),
  });
  return res.headers.getSetCookie().map((c) => {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1) };
  });
}

interface Load {
  ms: number;
  /** Main-thread busy time and script time (Chrome's Performance metrics): less sensitive to a loaded machine than wall time. */
  taskMs: number;
  scriptMs: number;
  js: { url: string; bytes: number; gz: number }[];
  css: number;
}

/** One cold load (fresh context = empty cache) of `path`, until `ready` text is on screen. */
async function coldLoad(
  browser: Browser,
  server: TestServer,
  cookies: { name: string; value: string }[],
  urlPath: string,
  ready: string,
): Promise<Load> {
  const context = await browser.newContext({ baseURL: server.url });
  await context.addCookies(cookies.map((c) => ({ ...c, url: server.url })));
  const page = await context.newPage();
  const js: Load['js'] = [];
  let css = 0;
  page.on('response', async (r) => {
    const type = r.headers()['content-type'] ?? '';
    if (!/javascript|text\/css/.test(type)) return;
    const body = await r.body().catch(() => Buffer.alloc(0));
    if (type.includes('css')) css += zlib.gzipSync(body).length;
    else
      js.push({
        url: new URL(r.url()).pathname,
        bytes: body.length,
        gz: zlib.gzipSync(body).length,
      });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const t0 = Date.now();
  await page.goto(urlPath, { waitUntil: 'commit' });
  await page
    .getByText(ready, { exact: true })
    .first()
    .waitFor({ state: 'visible', timeout: 30_000 });
  const ms = Date.now() - t0;
  const metrics = Object.fromEntries(
    (await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]),
  );
  const taskMs = Math.round((metrics.TaskDuration ?? 0) * 1000);
  const scriptMs = Math.round((metrics.ScriptDuration ?? 0) * 1000);
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await context.close();
  return { ms, taskMs, scriptMs, js, css };
}

async function main() {
  if (!fs.existsSync('web/dist/index.html'))
    execFileSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
      stdio: 'inherit',
    });
  const server = await startTestServer();
  const browser = await chromium.launch({
    executablePath: process.env.APIARY_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  try {
    const cookies = await session(server);
    const peer: number[] = [];
    const dashboard: Load[] = [];
    const login: Load[] = [];
    const data: Load[] = [];
    // Warm the server and the OS file cache once; the browser cache is cold on every run.
    await coldLoad(browser, server, cookies, '/_apiary/ui/', 'Overview');
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext({ baseURL: server.url });
      const p = await ctx.newPage();
      const t0 = Date.now();
      await p.goto('/_apiary/ui/assets/does-not-exist.js', { waitUntil: 'load' }); // a tiny 404 page from the same server
      peer.push(Date.now() - t0);
      await ctx.close();
      dashboard.push(await coldLoad(browser, server, cookies, '/_apiary/ui/', 'Overview'));
      login.push(await coldLoad(browser, server, [], '/_apiary/ui/', 'Sign in to Apiary'));
      data.push(await coldLoad(browser, server, cookies, '/_apiary/ui/data', 'No buckets'));
    }
    const main = dashboard[0]!;
    const mainGz = main.js.reduce((s, f) => s + f.gz, 0);
    const entry = main.js
      .filter((f) => /\/index-[^/]+\.js$/.test(f.url))
      .reduce((s, f) => s + f.gz, 0);
    const rows: [string, string, string, string][] = [
      [
        'first load, dashboard (signed in), median',
        `${median(dashboard.map((l) => l.ms))} ms`,
        `${LIMIT_LOAD_MS} ms`,
        (median(dashboard.map((l) => l.ms)) / LIMIT_LOAD_MS).toFixed(2),
      ],
      [
        'first load, sign-in page, median',
        `${median(login.map((l) => l.ms))} ms`,
        `${LIMIT_LOAD_MS} ms`,
        (median(login.map((l) => l.ms)) / LIMIT_LOAD_MS).toFixed(2),
      ],
      [
        'first load, buckets page, median',
        `${median(data.map((l) => l.ms))} ms`,
        `${LIMIT_LOAD_MS} ms`,
        (median(data.map((l) => l.ms)) / LIMIT_LOAD_MS).toFixed(2),
      ],
      [
        '  dashboard main-thread busy (CPU), median',
        `${median(dashboard.map((l) => l.taskMs))} ms`,
        `${LIMIT_LOAD_MS} ms`,
        (median(dashboard.map((l) => l.taskMs)) / LIMIT_LOAD_MS).toFixed(2),
      ],
      [
        '  of which script (parse, compile, run)',
        `${median(dashboard.map((l) => l.scriptMs))} ms`,
        '-',
        '-',
      ],
      [
        'first load, dashboard, best run',
        `${Math.min(...dashboard.map((l) => l.ms))} ms`,
        `${LIMIT_LOAD_MS} ms`,
        (Math.min(...dashboard.map((l) => l.ms)) / LIMIT_LOAD_MS).toFixed(2),
      ],
      [
        'peer: bare 404 page, same server, median',
        `${median(peer)} ms`,
        `${LIMIT_LOAD_MS} ms`,
        (median(peer) / LIMIT_LOAD_MS).toFixed(2),
      ],
      [
        'main route JS (all chunks of /), gzipped',
        kb(mainGz),
        kb(LIMIT_JS_GZ),
        (mainGz / LIMIT_JS_GZ).toFixed(2),
      ],
      [
        '  of which the entry chunk, gzipped',
        kb(entry),
        kb(LIMIT_JS_GZ),
        (entry / LIMIT_JS_GZ).toFixed(2),
      ],
      ['main route CSS, gzipped', kb(main.css), '-', '-'],
    ];
    const w = [44, 12, 10, 8];
    const line = (r: string[]) =>
      r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
    console.log(
      `console first load on localhost, cold browser cache, ${RUNS} runs (chromium ${browser.version()}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`,
    );
    console.log(line(['measure', 'measured', 'limit', 'ratio']));
    for (const r of rows) console.log(line(r));
    console.log('\nJS files of the first route (gzipped):');
    for (const f of main.js.sort((a, b) => b.gz - a.gz))
      console.log(`  ${kb(f.gz).padStart(7)}  (${kb(f.bytes)} raw)  ${path.basename(f.url)}`);
    const dist = fs.readdirSync('web/dist/assets').filter((f) => f.endsWith('.js'));
    const total = dist.reduce(
      (s, f) => s + zlib.gzipSync(fs.readFileSync(path.join('web/dist/assets', f))).length,
      0,
    );
    console.log(
      `\nall ${dist.length} JS chunks of the console together: ${kb(total)} gzipped (loaded per page on demand)`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
