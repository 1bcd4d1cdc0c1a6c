// The run form: presets, the API's message next to the field it names, keyboard use, and a run
// cancelled from its live view.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, waitView, waitRunEnded, screenshot, api } from './helpers.mjs';

// The browser logs the API's 400 answers as console errors; those are expected here.
const ALLOW = [/status of 400/];

// The four dashboards below share nothing (each has its own server, browser connection and
// contexts): they run at once, so that their waits for the demo target overlap; the tests of each
// run one after the other.
describe('the run form, with and without its event stream and token', {concurrency: true}, () => {
  describe('the run form', {concurrency: 1, timeout: 240000}, () => {
    let server, browser, tab, config;

    before(async () => {
      server = await startServer();
      browser = await launchBrowser();
      tab = await openPage(browser, {allow: ALLOW});
      config = (await api(server.base, '/api/config')).data;
    });

    after(async () => {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop();
    });

    async function freshForm() {
      await tab.page.goto(server.base + '/');
      await waitView(tab.page, 'form');
    }

    it('fills the presets: the talk, 9 requests through 3 workers, many requests', async () => {
      const {page, problems} = tab;
      await freshForm();
      await page.click('button[data-preset="nine"]');
      assert.equal(await page.inputValue('#f-requests'), '9');
      assert.equal(await page.inputValue('#f-concurrency'), '3');
      assert.equal(await page.getAttribute('button[data-preset="nine"]', 'aria-pressed'), 'true');
      assert.match(await page.textContent('#estimate'), /sync 9\.00 s, threads 3\.00 s/);
      await page.click('button[data-preset="many"]');
      assert.equal(await page.inputValue('#f-requests'), '1000');
      assert.equal(await page.inputValue('#f-concurrency'), '50');
      const url = new URL(await page.inputValue('#f-url'));
      assert.equal(url.host, new URL(config.demo_target).host);
      await page.click('button[data-preset="talk"]');
      assert.equal(await page.inputValue('#f-requests'), '3');
      assert.equal(await page.inputValue('#f-url'), config.demo_target);
      assert.deepEqual(problems, []);
    });

    for (const [name, fill, field, apiField] of [
      ['requests 0', page => page.fill('#f-requests', '0'), 'requests', 'requests'],
      ['an ftp:// URL', page => page.fill('#f-url', 'ftp://example.test/file'), 'url', 'target.url'],
      ['concurrency above the limit', page => page.fill('#f-concurrency', '5000'), 'concurrency', 'concurrency'],
      ['no mode', async page => { for (const m of config.modes) await page.uncheck('#f-mode-' + m); }, 'modes', 'modes'],
      ['a bad header name', page => page.fill('#f-headers', 'a b: c'), 'headers', 'target.headers'],
    ]) {
      it(`shows the API's message next to the field for ${name}`, async () => {
        const {page, problems} = tab;
        await freshForm();
        await fill(page);
        await page.click('#run-button');
        const error = `#f-${field}-error`;
        await page.waitForSelector(error, {state: 'visible', timeout: 5000});
        const text = await page.textContent(error);
        assert.match(text, new RegExp('^' + apiField.replace('.', '\\.') + ': '), text);
        // The message sits inside the field's own block, next to its input.
        assert.equal(await page.evaluate(sel => document.querySelector(sel).closest('.field').classList.contains('field-' + sel.split('-')[1]), error), true);
        if (field !== 'modes') assert.equal(await page.getAttribute('#f-' + field, 'aria-invalid'), 'true');
        assert.equal(new URL(page.url()).pathname, '/', 'no run was started');
        const shown = await page.$$eval('.field-error:not([hidden])', els => els.length);
        assert.equal(shown, 1);
        if (name === 'requests 0') await screenshot(page, 'form-error');
        assert.deepEqual(problems, []);
      });
    }

    it('is usable from the keyboard: presets and Run are reachable with Tab', async () => {
      const {page, problems} = tab;
      await freshForm();
      const seen = [];
      await page.focus('.brand');
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const id = await page.evaluate(() => document.activeElement.id || document.activeElement.dataset.preset || document.activeElement.tagName);
        seen.push(id);
        if (id === 'nine') await page.keyboard.press('Enter');
        if (id === 'run-button') break;
      }
      assert.ok(seen.includes('f-url') && seen.includes('f-requests') && seen.includes('f-mode-sync'), seen.join(','));
      assert.equal(seen.at(-1), 'run-button', seen.join(','));
      assert.equal(await page.inputValue('#f-requests'), '9', 'Enter on a preset applies it');
      assert.deepEqual(problems, []);
    });

    it('follows a run live and cancels it; the address is /runs/ID from the start', async () => {
      const {page, problems} = tab;
      await freshForm();
      await page.click('button[data-preset="nine"]');
      await page.fill('#f-label', 'to be cancelled');
      await page.click('#run-button');
      await page.waitForURL(/\/runs\/[A-Za-z0-9]+$/, {timeout: 5000});
      const id = new URL(page.url()).pathname.split('/').pop();
      await page.waitForSelector('#progress-sync', {timeout: 5000});
      const state = (await api(server.base, '/api/runs/' + id)).data.status;
      assert.ok(['queued', 'running'].includes(state), `the run is still ${state} when the address changed`);
      await page.waitForFunction(() => document.querySelector('#current-mode')?.textContent.includes('Running sync'), null, {timeout: 8000});
      await page.waitForFunction(() => document.querySelector('#progress-sync').value >= 1, null, {timeout: 8000});
      await screenshot(page, 'run-live');
      await page.click('#cancel-run');
      await waitRunEnded(page, 30000);
      assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'cancelled');
      assert.equal(await page.textContent('#run-status'), 'cancelled');
      const run = (await api(server.base, '/api/runs/' + id)).data;
      assert.equal(run.status, 'cancelled');

      // "Run again" brings the form back filled with this run's spec.
      await page.click('a[href^="/?from="]');
      await waitView(page, 'form');
      assert.equal(await page.inputValue('#f-requests'), '9');
      assert.equal(await page.inputValue('#f-label'), 'to be cancelled');
      assert.deepEqual(problems, []);
    });
  });

  describe('a run followed without its event stream', {concurrency: 1, timeout: 120000}, () => {
    let server, browser;

    before(async () => {
      server = await startServer();
      browser = await launchBrowser();
    });

    after(async () => {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop();
    });

    it('falls back on polling the run when the stream is refused', async () => {
      const {page, problems, context} = await openPage(browser, {allow: [/status of 503/, /EventSource/]});
      try {
        await page.route(/\/events$/, route => route.fulfill({status: 503, contentType: 'application/json', body: '{"error":"too many streams"}'}));
        await page.goto(server.base + '/');
        await waitView(page, 'form');
        await page.fill('#f-url', server.demo + '?delay_ms=400');
        await page.click('#run-button');
        await page.waitForURL(/\/runs\/[A-Za-z0-9]+$/, {timeout: 5000});
        await page.waitForSelector('#progress-sync', {timeout: 5000});
        await waitRunEnded(page, 30000);
        assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'done');
        assert.equal(await page.evaluate(() => window.__conlab.summary.rows.length), 4);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  });

  describe('a dashboard that requires a token to write (--public-read)', {concurrency: 1, timeout: 120000}, () => {
    let server, browser;

    before(async () => {
      server = await startServer(['--token', 'sesame', '--public-read']);
      browser = await launchBrowser();
    });

    after(async () => {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop();
    });

    it('asks for the token next to its field, then runs with it', async () => {
      const {page, problems, context} = await openPage(browser, {allow: [/status of 401/]});
      try {
        await page.goto(server.base + '/');
        await waitView(page, 'form');
        await page.fill('#f-url', server.demo + '?delay_ms=10');
        await page.click('#run-button');
        await page.waitForSelector('#f-token-error', {state: 'visible', timeout: 5000});
        assert.ok((await page.textContent('#f-token-error')).length > 0);
        assert.equal(new URL(page.url()).pathname, '/');
        await page.fill('#f-token', 'sesame');
        await page.click('#run-button');
        await page.waitForURL(/\/runs\/[A-Za-z0-9]+$/, {timeout: 5000});
        await waitRunEnded(page, 30000);
        assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'done');
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  });

  describe('a dashboard that requires a token for everything', {concurrency: 1, timeout: 120000}, () => {
    let server, browser;

    before(async () => {
      server = await startServer(['--token', 'sesame']);
      browser = await launchBrowser();
    });

    after(async () => {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop();
    });

    it('asks for the token before anything, follows the run live with it and exports it', async () => {
      const {page, problems, context} = await openPage(browser, {allow: [/status of 401/], acceptDownloads: true});
      try {
        await page.goto(server.base + '/');
        await page.waitForSelector('#token-gate', {timeout: 10000});
        await page.fill('#gate-token', 'wrong');
        await page.click('#gate-button');
        await page.waitForSelector('#gate-error:not([hidden])', {timeout: 5000});
        await page.fill('#gate-token', 'sesame');
        await page.click('#gate-button');
        await waitView(page, 'form');
        await page.fill('#f-url', server.demo + '?delay_ms=300');
        await page.fill('#f-requests', '4');
        await page.click('#run-button');
        await page.waitForURL(/\/runs\/[A-Za-z0-9]+$/, {timeout: 5000});
        // Live progress comes through the stream read with the token.
        await page.waitForFunction(() => (window.__conlab || {}).progress, null, {timeout: 10000});
        await waitRunEnded(page, 60000);
        assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'done');
        const id = new URL(page.url()).pathname.split('/').pop();
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
        // Read through the connection (download.path() is refused by a shared, remote browser).
        const chunks = [];
        for await (const chunk of await download.createReadStream()) chunks.push(chunk);
        const doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        assert.equal(doc.run.id, id);
        assert.equal(doc.run.status, 'done');
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  });
});
