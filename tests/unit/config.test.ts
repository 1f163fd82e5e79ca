import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadSiteConfig, parseSiteConfig } from '../../src/config/index.js';

const minimal = `
gateway: { id: gw-1, site: Test entrance, municipality: '0363', zone: zone-a }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }]
`;

function problems(text: string): string[] {
  try {
    parseSiteConfig(text, 'site.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('site profiles', () => {
  const dir = 'firmware-config/sites';
  test.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))('shipped profile %s is valid', (file) => {
    const site = loadSiteConfig(join(dir, file));
    expect(site.lanes.length).toBeGreaterThan(0);
  });

  test('a minimal profile gets the documented defaults', () => {
    const site = parseSiteConfig(minimal, 'site.yaml');
    expect(site.passage).toEqual({ windowMs: 3000, minReads: 1, holdOffMs: 30000 });
    expect(site.policy.minConfidence).toBe(700);
    expect(site.sources[0]!.dialect).toBe('zg1');
  });
});

describe('a broken profile names the file, the key path and what was expected', () => {
  test('wrong type', () => {
    expect(problems(minimal.replace("'0363'", '363'))).toEqual([
      'gateway.municipality: expected string, received number',
    ]);
  });

  test('unknown key (a typo must not silently fall back to a default)', () => {
    expect(problems(minimal + 'pasage: { windowMs: 100 }\n')).toEqual(['(top level): unknown key "pasage"']);
  });

  test('missing pin for a GPIO bollard', () => {
    const text = minimal.replace(
      'lanes: [{ id: in-1 }]',
      'lanes: [{ id: in-1, bollard: { driver: gpio, pins: { lower: 17, positionDown: 5, positionUp: 6, loops: [13] } } }]',
    );
    expect(problems(text)).toEqual(['lanes[0].bollard.pins.raise: mode lower-raise needs pin "raise"']);
  });

  test('bad time window', () => {
    const text = minimal + "policy: { windows: [{ days: [mon], from: '07:00', until: '25:00' }] }\n";
    expect(problems(text)).toEqual(['policy.windows[0].until: a local time HH:MM (00:00–23:59)']);
    const empty = minimal + "policy: { windows: [{ days: [mon], from: '07:00', until: '07:00' }] }\n";
    expect(problems(empty)[0]).toMatch(/^policy\.windows\[0\]: window 07:00–07:00 is empty/);
  });

  test('a source pointing at a lane that does not exist', () => {
    expect(problems(minimal.replace('lane: in-1,', 'lane: in-9,'))).toEqual([
      'sources[0].lane: no lane "in-9" (lanes: in-1)',
    ]);
  });

  test('a pin used twice', () => {
    const text = minimal.replace(
      'lanes: [{ id: in-1 }]',
      'lanes: [{ id: in-1, bollard: { driver: gpio, pins: { lower: 17, raise: 17, positionDown: 5, positionUp: 6, loops: [13] } } }]',
    );
    expect(problems(text)).toEqual(['lanes[0].bollard.pins.raise: BCM pin 17 is also used by "lower"']);
  });

  test('YAML syntax errors give the line', () => {
    expect(problems('gateway: {id: x\nlanes: [')[0]).toMatch(/^line \d+, column \d+: /);
  });

  test('a missing file', () => {
    expect(() => loadSiteConfig('/nonexistent/site.yaml')).toThrow(
      /\/nonexistent\/site.yaml: invalid configuration\n {2}- file not found/,
    );
  });
});
