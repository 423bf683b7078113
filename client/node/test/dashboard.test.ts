// dashboard: avesd's page (/) in a real browser, Debian's chromium headless
// driven through chromedriver (selenium-webdriver), against the harness's
// avesd with authentication on. The state it shows is driven through the
// RPCs with this package's client; each view's screenshot is written to
// AVES_TEST_ARTIFACTS (tests/integration/client/node_client_pgtest.cc).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {Builder, By, logging, type WebDriver} from 'selenium-webdriver';
import * as chrome from 'selenium-webdriver/chrome';

import {type AvesClient, JobStatus} from '../src';
import {client, database, token, uuid} from './support';

const httpBase = () => `http://${process.env.AVES_HTTP_ADDRESS}`;
const artifacts = process.env.AVES_TEST_ARTIFACTS ??
    fs.mkdtempSync(path.join(os.tmpdir(), 'aves-dashboard-'));

let aves: AvesClient;
let driver: WebDriver;

before(async () => {
  aves = client();
  fs.mkdirSync(artifacts, {recursive: true});
  const options = new chrome.Options();
  options.setChromeBinaryPath(
      process.env.AVES_TEST_CHROMIUM ?? '/usr/bin/chromium');
  // --no-sandbox: the tests may run as root, where chromium's sandbox
  // refuses to start.
  options.addArguments(
      '--headless=new', '--no-sandbox', '--disable-gpu',
      '--disable-dev-shm-usage', '--window-size=1400,1100');
  const logs = new logging.Preferences();
  logs.setLevel(logging.Type.BROWSER, logging.Level.ALL);
  options.setLoggingPrefs(logs);
  driver =
      await new Builder()
          .forBrowser('chrome')
          .setChromeOptions(options)
          .setChromeService(new chrome.ServiceBuilder(
              process.env.AVES_TEST_CHROMEDRIVER ?? '/usr/bin/chromedriver'))
          .build();
});

after(async () => {
  await driver?.quit();
  aves?.close();
});

/** The page's console errors since the last call, but those `allowed`. */
async function consoleErrors(allowed: RegExp[] = []): Promise<string[]> {
  const entries = await driver.manage().logs().get(logging.Type.BROWSER);
  return entries.filter((e) => e.level.value >= logging.Level.SEVERE.value)
      .map((e) => e.message)
      .filter((m) => !allowed.some((r) => r.test(m)));
}

async function screenshot(name: string): Promise<void> {
  const file = path.join(artifacts, `${name}.png`);
  fs.writeFileSync(file, await driver.takeScreenshot(), 'base64');
  console.log(`screenshot: ${file}`);
}

/** Waits (bounded) until `css` matches; returns the first match. */
async function element(css: string, timeoutMs = 10_000) {
  await driver.wait(
      async () => (await driver.findElements(By.css(css))).length > 0,
      timeoutMs, `nothing matched ${css} in ${timeoutMs} ms`);
  return driver.findElement(By.css(css));
}

// The page re-renders its view on every refresh (every 500 ms on jobs), so an
// element found now may be gone at the next call: reads and clicks happen in
// the page, in one step.
/** An attribute (or the text, for "text") of the first match; null: none. */
async function read(css: string, what = 'text'): Promise<string|null> {
  return driver.executeScript(
      'const e = document.querySelector(arguments[0]);' +
          'return e === null ? null : arguments[1] === "text" ? ' +
          'e.textContent : e.getAttribute(arguments[1]);',
      css, what);
}
async function count(css: string): Promise<number> {
  return driver.executeScript(
      'return document.querySelectorAll(arguments[0]).length;', css);
}
async function click(css: string): Promise<void> {
  await element(css);
  await driver.executeScript(
      'document.querySelector(arguments[0]).click();', css);
}

async function show(view: string, ready: string): Promise<void> {
  await driver.get(`${httpBase()}/#${view}`);
  await element(`[data-view="${view}"] ${ready}`);
}

async function signIn(role: string): Promise<void> {
  // Cleared from a file of the page's origin that runs no script, so no
  // call of the page is in flight with the old token.
  await driver.get(`${httpBase()}/static/dashboard.css`);
  await driver.executeScript('sessionStorage.clear();');
  await driver.get(`${httpBase()}/`);
  const dialog = await element('#signin[open]');
  await dialog.findElement(By.id('token')).sendKeys(token(role));
  await dialog.findElement(By.id('signin-submit')).click();
  await driver.wait(
      async () => ((await read('#who')) ?? '').includes(`node-${role}`), 10_000,
      `not signed in as node-${role}`);
}

interface Answer {
  status: number;
  json: () =>
      Promise<any>;  // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function fetchApi(
    method: string, role: string|null, body = {}): Promise<Answer> {
  const headers: Record<string, string> = {'Content-Type': 'application/json'};
  if (role) headers.Authorization = `Bearer ${token(role)}`;
  return fetch(
      `${httpBase()}/api/${method}`,
      {method: 'POST', headers, body: JSON.stringify(body)});
}

describe('dashboard', () => {
  test('the API needs a token and takes the RPCs\' roles', async () => {
    assert.equal(
        (await fetchApi('AdminService/GetPoolStats', null)).status, 401);
    const pool = await fetchApi('AdminService/GetPoolStats', 'dashboard');
    assert.equal(pool.status, 200);
    assert.ok(Number((await pool.json()).max) > 0);
    // Read-only: no action with a dashboard token.
    const analyze = await fetchApi('AdminService/RunAnalyze', 'dashboard');
    assert.equal(analyze.status, 403);
    assert.equal((await analyze.json()).code, 'PERMISSION_DENIED');
    // A frontend token may not read the service's state.
    assert.equal(
        (await fetchApi('AdminService/GetPoolStats', 'frontend')).status, 403);
    // A bad body is the caller's mistake, named.
    const bad = await fetchApi(
        'AdminService/GetRpcStats', 'dashboard', {window: 'soon'});
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /window/);
  });

  test(
      'a wrong token is refused at sign-in, a dashboard token signs in',
      async () => {
        await driver.get(`${httpBase()}/`);
        const dialog = await element('#signin[open]');
        await dialog.findElement(By.id('token')).sendKeys('not-a-token');
        await dialog.findElement(By.id('signin-submit')).click();
        await driver.wait(
            async () =>
                (await driver.findElement(By.id('signin-error')).getText())
                    .includes('refused'),
            10_000, 'the wrong token was not refused');
        await signIn('dashboard');
        assert.deepEqual(await consoleErrors(), []);
      });

  test('overview: the methods called, with rates and p99', async () => {
    for (let i = 0; i < 20; i++) {
      await aves.cache.get({
        userId: uuid(),
        exerciseType: 'visual_discrimination',
        difficultyLevel: 1,
      });
    }
    await show('overview', '[data-tile="requests"]');
    // Points every second (AVES_RPC_STATS_INTERVAL_MS), the page every 2 s.
    await element(
        '[data-view="overview"] tr[data-method^="ExerciseCacheService."]',
        15_000);
    await element('[data-chart="rps"] canvas');
    await screenshot('overview');
    assert.deepEqual(await consoleErrors(), []);
  });

  test('jobs: a progress bar reaches the driven value within 2 s', async () => {
    const job =
        await aves.jobs.create({jobType: 'ai_annotation', totalItems: 200});
    await aves.jobs.updateProgress({
      id: job.id,
      status: JobStatus.JOB_STATUS_PROCESSING,
      processedItemsDelta: 20,
    });
    await show('jobs', `[data-job-id="${job.id}"]`);
    await aves.jobs.updateProgress({id: job.id, processedItemsDelta: 120});
    const driven = Date.now();
    const bar = `[data-job-row="${job.id}"] [data-job-id="${job.id}"]`;
    await driver.wait(
        async () => (await read(bar, 'data-processed')) === '140', 2000,
        'the bar did not reach 140 of 200 within 2 s');
    const tookMs = Date.now() - driven;
    assert.match(
        (await read(`${bar} .done`, 'style')) ?? '', /width:\s*70(\.0)?%/);
    console.log(`progress bar moved ${tookMs} ms after the RPC`);
    await screenshot('jobs');

    // A job's errors, paged from the details.
    await aves.jobs.appendErrors(
        job.id,
        Array.from(
            {length: 25},
            (_, i) => ({itemIndex: i, errorMessage: `<b>bad item ${i}</b>`})));
    await click(`[data-job-row="${job.id}"]`);
    const errorRows = '#job-details tr[data-error-id]';
    await driver.wait(
        async () => (await count(errorRows)) === 20, 5000,
        'the first page is not 20 errors');
    // Text from the service is text, never markup.
    assert.match((await read(errorRows)) ?? '', /<b>bad item 24<\/b>/);
    assert.equal(await count('#job-details b'), 0);
    await screenshot('job-details');
    await click('#errors-next:not([disabled])');
    await driver.wait(
        async () => (await count(errorRows)) === 5, 5000,
        'the second page is not the 5 oldest errors');
    assert.deepEqual(await consoleErrors(), []);
  });

  test('queries: a slow statement the test drives appears', async () => {
    const job = await aves.jobs.create({jobType: 'ai_annotation'});
    await show('queries', '[data-tile="slow"]');
    // GetJob waits behind a lock the test holds for 600 ms: slower than
    // AVES_SLOW_QUERY_MS (200).
    const pg = await database();
    try {
      await pg.query('BEGIN');
      await pg.query('LOCK TABLE batch_jobs IN ACCESS EXCLUSIVE MODE');
      const read = aves.jobs.get(job.id);
      await new Promise((resolve) => setTimeout(resolve, 600));
      await pg.query('COMMIT');
      assert.equal((await read).id, job.id);
    } finally {
      await pg.end();
    }
    await element(
        '[data-view="queries"] tr[data-rpc="BatchJobService.GetJob"]', 10_000);
    await screenshot('queries');
    assert.deepEqual(await consoleErrors(), []);
  });

  test('loads: a bulk load in progress, with its rows', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => release = resolve);
    const category = `dash-${uuid()}`;
    async function* rows() {
      for (let i = 0; i < 300; i++) {
        yield [`palabra ${i}`, `word ${i}`, category];
        // After two batches, hold the load open until the test has seen it.
        if (i === 199) await held;
      }
    }
    const load = aves.bulk.load({
      table: 'vocabulary',
      columns: ['spanish_term', 'english_term', 'category'],
      rows: rows(),
      batchSize: 100,
      chunkRows: 50,
      totalRows: 300,
    });
    try {
      await show('loads', 'h2');
      await element('[data-view="loads"] tr[data-load]', 10_000);
      await driver.wait(
          async () => Number(await read(
                          '[data-view="loads"] tr[data-load] [data-processed]',
                          'data-processed')) >= 100,
          10_000, 'the load\'s committed rows never showed');
      await screenshot('loads');
    } finally {
      release();
    }
    assert.equal((await load).rowsInserted, 300n);
    assert.deepEqual(await consoleErrors(), []);
  });

  test('pool and cache views', async () => {
    await show('pool', '[data-tile="in-use"]');
    await element('[data-chart="pool-states"] canvas');
    await screenshot('pool');
    await show('cache', '[data-tile="hit-rate"]');
    await screenshot('cache');
    assert.deepEqual(await consoleErrors(), []);
  });

  test(
      'indexes: read-only for a dashboard token, ANALYZE for an operator',
      async () => {
        // An index nothing uses, made by the test: flagged unused.
        const pg = await database();
        try {
          await pg.query(
              'CREATE INDEX dashboard_test_unused_idx ON vocabulary (english_term, category)');
        } finally {
          await pg.end();
        }
        await show('indexes', '[data-table="batch_jobs"]');
        const unused =
            '[data-view="indexes"] tr[data-index="dashboard_test_unused_idx"]';
        await element(unused);
        assert.match((await read(unused)) ?? '', /unused/);
        assert.equal(await read('#run-analyze', 'disabled'), '');
        await screenshot('indexes');

        await signIn('operator');
        await show('indexes', '#run-analyze:not([disabled])');
        await click('#run-analyze');
        await element('#analyze-result', 60_000);
        assert.match(
            (await read('#analyze-result')) ?? '', /ANALYZE ran as job/);
        await click('[data-reindex="idx_batch_jobs_status"]');
        await driver.wait(
            async () => /idx_batch_jobs_status rebuilt as job/.test(
                (await read('#analyze-result')) ?? ''),
            60_000, 'the rebuild did not report');
        await screenshot('indexes-operator');
        assert.deepEqual(await consoleErrors(), []);
      });
});
