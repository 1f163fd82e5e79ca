import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openListCache, type ListCache } from '../../src/cache/list-cache.js';
import { parseSiteConfig, type SiteConfig } from '../../src/config/index.js';
import { Pipeline } from '../../src/gateway/pipeline.js';
import { openJournal } from '../../src/journal/index.js';
import type { Journal } from '../../src/journal/types.js';
import { Health } from '../../src/ops/health.js';
import { grabFrame } from '../../src/ops/frame-grab.js';
import { baseVersions, registerProcessMetrics } from '../../src/ops/observability.js';
import { StatusBoard } from '../../src/ops/status-board.js';
import { createStatusServer, type StatusServer } from '../../src/ops/status-server.js';
import { decide, zonePolicyFor } from '../../src/policy/index.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { decodePng, launchChromium, pixel } from '../helpers/browser.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

// The browser globals the page functions below use (the project compiles without the DOM lib).
interface PageElement {
  readonly textContent: string | null;
  readonly lastElementChild: PageElement | null;
  readonly complete?: boolean;
  readonly naturalWidth?: number;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
};
declare const window: { readonly scrollY: number };

const TOKEN = 'roadside-token-0123456789';
const dir = tempDir('zg-status-page-');
const clip = join(repoRoot, '../shared/data/real-nl-clips/Video47_2.avi');

const site: SiteConfig = parseSiteConfig(
  `
gateway: { id: ams-test-1, site: Test entrance Zeedijk, municipality: '0363', zone: ams-autoluw }
dataDir: ${dir.path}
lanes:
  - { id: in-1, bollard: { driver: simulator } }
  - { id: in-2 }
sources:
  - { id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }
  - { id: cam-2, kind: rtsp, lane: in-2, url: 'rtsp://192.0.2.10/stream1' }
status: { listen: 127.0.0.1, port: 0, token: ${TOKEN} }
`,
  'site.yaml',
);

let registry: Registry;
let cache: ListCache;
let journal: Journal;
let board: StatusBoard;
let pipeline: Pipeline;
let health: Health;
let server: StatusServer;
let browser: Browser;
let base: string;
let journalWritable = true;

beforeAll(async () => {
  registry = new Registry();
  const deps = { clock: systemClock, registry, log: silentLogger };
  cache = openListCache(join(dir.path, 'lists.sqlite'), deps);
  cache.applyInPlace({
    version: 42,
    publishedAt: Date.now() - 3 * 3600_000,
    source: 'import',
    zone: 'ams-autoluw',
    replaceGrants: true,
    upsertGrants: [
      {
        id: 'g-resident-1',
        plate: '12ABC3',
        country: 'NL',
        scope: { type: 'zone', zone: 'ams-autoluw' },
        kind: 'resident',
        validFrom: Date.now() - 86_400_000,
        windows: [],
        listVersion: 42,
      },
    ],
  });
  journal = openJournal({ file: join(dir.path, 'journal.sqlite'), gatewayId: site.gateway.id, ...deps });
  health = new Health({ clock: systemClock, registry });
  health.register({
    name: 'journal',
    critical: true,
    check: () => (journalWritable ? { ok: true, detail: 'writable' } : { ok: false, detail: 'disk full' }),
  });
  const versions = baseVersions({ dialects: 'zg1' });
  registerProcessMetrics(registry, { gateway: site.gateway.id, versions });
  board = new StatusBoard({ site, clock: systemClock, versions, health });
  const info = cache.info();
  board.list({ version: info.version, publishedAt: info.publishedAt, grants: info.grants });
  pipeline = new Pipeline({
    lanes: site.lanes.map((lane) => {
      const policy = zonePolicyFor(site, lane.id);
      return { id: lane.id, decide: (p, now) => decide(p, now, cache.lookups, policy) };
    }),
    passage: { ...site.passage, minReads: 1 },
    journal,
    clock: systemClock,
    registry,
    log: silentLogger,
    listInfo: () => ({ version: cache.lookups.listVersion, ageSeconds: cache.info().ageSeconds }),
    onEvent: (e) => board.pipeline(e),
  });
  server = createStatusServer({ config: site.status, registry, statusSource: board, log: silentLogger, health });
  await server.start();
  base = `http://127.0.0.1:${server.address()!.port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  pipeline?.stop();
  journal?.close();
  cache?.close();
  dir.remove();
});

function read(lane: string, text: string, confidence = 900): void {
  const now = Date.now();
  pipeline.read({
    sourceId: lane === 'in-1' ? 'cam-1' : 'cam-2',
    lane,
    text,
    country: 'NL',
    confidence,
    receivedAt: now,
    arrivedHr: process.hrtime.bigint(),
  });
  pipeline.expire(now + 60_000);
}

async function loggedIn(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`${base}/login`);
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-ready="1"]');
  return page;
}

describe('status page in a real browser', () => {
  test('the page asks for the token, refuses a wrong one, and opens with the right one', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    expect(page.url()).toBe(`${base}/login`);
    await page.fill('input[name=token]', 'not-the-token-at-all');
    await page.click('button[type=submit]');
    await expect(page.textContent('[data-testid=login-error]')).resolves.toBe('Wrong token.');
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
    await page.waitForSelector('body[data-ready="1"]');
    await expect(page.textContent('[data-testid=gateway-id]')).resolves.toBe('ams-test-1');
    await page.close();
  });

  test('a plate read shows up live as a decision, and the bollard card follows the controller', async () => {
    const page = await loggedIn();
    await expect(page.textContent('[data-testid=lane-in-1] [data-testid=bollard-state]')).resolves.toBe('idle-up');
    read('in-1', '12ABC3');
    const row = page.locator('[data-testid=decisions] tbody tr', { hasText: '12-ABC-3' });
    await row.waitFor();
    await expect(row.locator('td').nth(3).textContent()).resolves.toBe('open');
    await expect(row.locator('td').nth(4).textContent()).resolves.toBe('grant (g-resident-1)');
    await page.locator('[data-testid=reads] tbody tr', { hasText: '12-ABC-3' }).waitFor();

    read('in-1', 'ZZ999Z');
    const denied = page.locator('[data-testid=decisions] tbody tr', { hasText: 'ZZ-999-Z' });
    await denied.waitFor();
    await expect(denied.locator('td').nth(3).textContent()).resolves.toBe('deny');

    board.bollard({
      lane: 'in-1',
      at: Date.now(),
      type: 'transition',
      from: 'idle-up',
      to: 'lowering',
      reason: 'open',
      command: 'lower',
    });
    board.bollardInputs(
      'in-1',
      {
        positionDown: false,
        positionUp: false,
        loops: [true],
        emergency: false,
        controllerFault: false,
        manualOverride: false,
      },
      'moving',
    );
    await page.waitForFunction(
      () => document.querySelector('[data-testid=lane-in-1] [data-testid=bollard-state]')?.textContent === 'lowering',
    );
    await expect(page.textContent('[data-testid=lane-in-1] .loops')).resolves.toContain('loop 1: vehicle');
    await page.close();
  });

  test('list version and age, uplink backlog, faults and a failing health check are shown', async () => {
    const page = await loggedIn();
    await expect(page.textContent('#list')).resolves.toBe('v42 · 3.0 h');
    board.uplink({ connected: false, backlog: 17, broker: 'mqtts://region.example.nl:8883' });
    await page.waitForFunction(() => document.querySelector('#uplink')?.textContent === 'offline · backlog 17');
    pipeline.reject({
      sourceId: 'cam-1',
      reason: 'bad-checksum',
      detail: 'line 3: checksum 4F, computed 4E',
      at: Date.now(),
    });
    pipeline.reject({
      sourceId: 'cam-1',
      reason: 'bad-checksum',
      detail: 'line 4: checksum 00, computed 4E',
      at: Date.now(),
    });
    const fault = page.locator('[data-testid=faults] tbody tr', { hasText: 'bad-checksum' });
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid=faults] tbody tr')].some(
        (tr) => tr.textContent?.includes('line 4') && tr.lastElementChild?.textContent === '2',
      ),
    );
    await expect(fault.count()).resolves.toBe(1);

    journalWritable = false;
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    await expect(page.textContent('[data-testid=health]')).resolves.toBe('failing');
    await expect(page.textContent('[data-testid=checks]')).resolves.toContain('journal (critical): disk full');
    journalWritable = true;
    await page.close();
  });

  test('the camera lane shows the last frame with the plate box, kept across updates, and the page renders (screenshot)', async () => {
    // A real frame through ffmpeg: from a recorded clip when they are here, else from ffmpeg's test source.
    let input = clip;
    if (!existsSync(clip)) {
      input = join(dir.path, 'testsrc.mkv');
      execFileSync('ffmpeg', [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x480:rate=4',
        '-t',
        '1',
        '-y',
        input,
      ]);
    }
    const frame = await grabFrame(input);
    // Where the plate 89-NV-JP is in the first frame of the clip.
    const box = { x: 508, y: 355, w: 100, h: 32 };
    board.setFrame('in-2', {
      jpeg: frame.jpeg,
      width: frame.width,
      height: frame.height,
      at: Date.now(),
      box,
      plate: '89-NV-JP',
    });
    const page = await loggedIn();
    const img = page.locator('[data-testid=lane-in-2] [data-testid=frame]');
    await img.waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector('[data-testid=lane-in-2] [data-testid=frame]');
      return i !== null && i.complete && (i.naturalWidth ?? 0) > 0;
    });
    await expect(img.evaluate((i) => (i as unknown as PageElement).naturalWidth)).resolves.toBe(frame.width);

    const png = await page.screenshot({ fullPage: true });
    if (process.env['ZG_SHOT']) (await import('node:fs')).writeFileSync(process.env['ZG_SHOT'], png);
    const shot = await decodePng(png);
    // The page is not blank: many pixels differ from the background, in many colours.
    let nonBackground = 0;
    const colours = new Set<number>();
    for (let i = 0; i < shot.rgb.length; i += 3) {
      const [r, g, b] = [shot.rgb[i]!, shot.rgb[i + 1]!, shot.rgb[i + 2]!];
      if (Math.abs(r - 0xf6) + Math.abs(g - 0xf8) + Math.abs(b - 0xfa) > 30) nonBackground++;
      colours.add((r >> 4) * 256 + (g >> 4) * 16 + (b >> 4));
    }
    expect(nonBackground / (shot.width * shot.height)).toBeGreaterThan(0.1);
    expect(colours.size).toBeGreaterThan(200);

    // The header bar is the page's blue, and the plate box is drawn in red where the frame's box is.
    expect(pixel(shot, 5, 5)).toEqual([0x0b, 0x3d, 0x91]);
    const rect = await img.boundingBox();
    const boxEl = await page.locator('[data-testid=lane-in-2] [data-testid=plate-box]').boundingBox();
    expect(rect && boxEl).toBeTruthy();
    const scale = rect!.width / frame.width;
    expect(boxEl!.x - rect!.x).toBeCloseTo(box.x * scale, 0);
    expect(boxEl!.width).toBeCloseTo(box.w * scale, 0);
    const scroll = await page.evaluate(() => window.scrollY);
    const [r, g, b] = pixel(shot, boxEl!.x + boxEl!.width / 2, boxEl!.y + scroll + 1.5);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(80);
    expect(b).toBeLessThan(110);

    // A change on the lane (its camera reconnects) and the periodic full snapshot keep the loaded
    // frame: the same <img>, not a new one that reloads and flickers.
    await img.evaluate((i) => void ((i as unknown as { dataset: Record<string, string> }).dataset['kept'] = '1'));
    board.source('cam-2', 'connected');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=lane-in-2] .src')?.textContent?.endsWith(': connected') === true,
    );
    await expect(page.locator('[data-testid=lane-in-2] [data-testid=frame][data-kept="1"]').count()).resolves.toBe(1);
    await page.close();
  });

  test('/metrics and /api need the token; /health tells anyone only whether the gateway is healthy', async () => {
    const anon = await fetch(`${base}/metrics`);
    expect(anon.status).toBe(401);
    expect((await fetch(`${base}/api/status`)).status).toBe(401);
    expect(
      (await fetch(`${base}/api/status`, { headers: { authorization: 'Bearer wrong-token-000000' } })).status,
    ).toBe(401);
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/zonegate_decisions_total\{lane="in-1",outcome="open",reason="grant"\} 1/);
    expect(text).toMatch(/zonegate_decision_latency_seconds_bucket/);
    expect(text).toMatch(/zonegate_input_rejected_total\{source="cam-1",reason="bad-checksum"\} 2/);
    expect(text).toMatch(/zonegate_list_age_seconds \d+/);
    expect(text).toMatch(/zonegate_build_info\{gateway="ams-test-1",version="[^"]+",node="[^"]+"\} 1/);
    expect(text).toMatch(/zonegate_status_auth_failures_total\{reason="bad-credentials"\} [1-9]/);

    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    expect((await fetch(`${base}/api/frame/in-1`, auth)).status).toBe(404);
    expect((await fetch(`${base}/api/frame/%E0%A4%A`, auth)).status).toBe(400);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    const ok = await fetch(`${base}/health`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    journalWritable = false;
    const failing = await fetch(`${base}/health`);
    expect(failing.status).toBe(503);
    expect(await failing.json()).toEqual({ status: 'failing' });
    journalWritable = true;
  });
});

describe('status page token guessing', () => {
  test('wrong bearer tokens use up the same budget as wrong logins: the address then waits a minute', async () => {
    const clock = new ManualClock();
    const guarded = createStatusServer({
      config: site.status,
      registry: new Registry(),
      statusSource: board,
      log: silentLogger,
      clock,
    });
    await guarded.start();
    try {
      const url = `http://127.0.0.1:${guarded.address()!.port}`;
      const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 10; i++)
        expect((await fetch(`${url}/metrics`, bearer(`guess-${i}-0000000000000`))).status).toBe(401);
      const blocked = await fetch(`${url}/api/status`, bearer(TOKEN));
      expect(blocked.status).toBe(429);
      expect(blocked.headers.get('retry-after')).toBe('60');
      const login = await fetch(`${url}/login`, {
        method: 'POST',
        body: new URLSearchParams({ token: TOKEN }),
        redirect: 'manual',
      });
      expect(login.status).toBe(429);
      clock.advance(60_000);
      expect((await fetch(`${url}/api/status`, bearer(TOKEN))).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});
