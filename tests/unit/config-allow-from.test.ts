import { describe, expect, test } from 'vitest';
import { ConfigError, parseSiteConfig } from '../../src/config/index.js';
import { PeerFilter } from '../../src/sources/links/peer-filter.js';

const gateway = "gateway: { id: gw-1, site: Test entrance, municipality: '0363', zone: zone-a }";
const bollard = 'bollard: { driver: simulator }';

function profile(lanes: string, source: string): string {
  return `${gateway}\nlanes: ${lanes}\nsources: [${source}]\n`;
}

function problems(text: string): string[] {
  try {
    parseSiteConfig(text, 'site.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

const server = (extra = ''): string => `{ id: cam-1, kind: tcp-server, lane: in-1, port: 5020${extra} }`;

describe('allowFrom of a listening camera source', () => {
  test('a tcp-server source on a bollard lane that does not say who may connect is refused, naming the key', () => {
    expect(problems(profile(`[{ id: in-1, ${bollard} }]`, server()))).toEqual([
      'sources[0].allowFrom: kind tcp-server feeds lane "in-1", which has a bollard: list the camera addresses allowed to connect, e.g. allowFrom: [192.0.2.10]; any other host could send a read that opens the bollard',
    ]);
  });

  test('a source whose laneMap sends reads to a bollard lane needs allowFrom too', () => {
    const lanes = `[{ id: in-1 }, { id: in-2, ${bollard} }]`;
    expect(problems(profile(lanes, server(", laneMap: { '2': in-2 }")))).toEqual([
      expect.stringMatching(/^sources\[0\]\.allowFrom: kind tcp-server feeds lane "in-2", which has a bollard/),
    ]);
  });

  test('a camera-only lane stays usable without allowFrom', () => {
    const site = parseSiteConfig(profile('[{ id: in-1 }]', server()), 'site.yaml');
    expect(site.sources[0]!.allowFrom).toBeUndefined();
  });

  test('addresses, ranges and IPv6 are accepted on a bollard lane', () => {
    const allow = ", allowFrom: [192.0.2.10, 192.0.2.16/28, '2001:db8::/64', 'fe80::1', '::ffff:198.51.100.7']";
    const site = parseSiteConfig(profile(`[{ id: in-1, ${bollard} }]`, server(allow)), 'site.yaml');
    expect(site.sources[0]!.allowFrom).toEqual([
      '192.0.2.10',
      '192.0.2.16/28',
      '2001:db8::/64',
      'fe80::1',
      '::ffff:198.51.100.7',
    ]);
  });

  test.each([
    [
      'camera.local',
      '"camera.local" is not an IPv4 or IPv6 address or CIDR range (e.g. 192.0.2.10, 192.0.2.0/28, 2001:db8::/64); host names are not accepted',
    ],
    ['192.0.2.300', '"192.0.2.300" is not an IPv4 or IPv6 address or CIDR range'],
    ['192.0.2.0/33', '"192.0.2.0/33": an IPv4 prefix is /0 to /32'],
    ['2001:db8::/129', '"2001:db8::/129": an IPv6 prefix is /0 to /128'],
    ['192.0.2.0/', '"192.0.2.0/": an IPv4 prefix is /0 to /32'],
    [
      '192.0.2.10/24',
      '"192.0.2.10/24" has bits set after the /24 prefix: write 192.0.2.0/24 for the network, or 192.0.2.10 alone for one camera',
    ],
    [
      '2001:db8::1/64',
      '"2001:db8::1/64" has bits set after the /64 prefix: write 2001:db8::/64 for the network, or 2001:db8::1 alone for one camera',
    ],
    ['fe80::1%eth0', '"fe80::1%eth0": an interface zone (%…) cannot be matched'],
  ])('a bad entry %s is named with what was wrong', (entry, message) => {
    const source = server(`, allowFrom: [192.0.2.10, '${entry}']`);
    const found = problems(profile(`[{ id: in-1, ${bollard} }]`, source));
    expect(found).toHaveLength(1);
    expect(found[0]!.startsWith(`sources[0].allowFrom[1]: ${message}`)).toBe(true);
  });

  test('an empty list is refused rather than silently refusing every camera', () => {
    expect(problems(profile('[{ id: in-1 }]', server(', allowFrom: []')))).toEqual([
      'sources[0].allowFrom: list at least one camera address or range; leave allowFrom out only on a camera-only lane',
    ]);
  });

  test('allowFrom on a source that does not listen is an error, not a false sense of safety', () => {
    const client = '{ id: cam-1, kind: tcp-client, lane: in-1, host: 192.0.2.10, port: 5020, allowFrom: [192.0.2.10] }';
    expect(problems(profile('[{ id: in-1 }]', client))).toEqual([
      'sources[0].allowFrom: only kind tcp-server accepts connections; kind tcp-client does not use allowFrom',
    ]);
  });
});

describe('matching a connecting peer against allowFrom', () => {
  const filter = new PeerFilter(['192.0.2.16/28', '2001:db8:1::/48', '::ffff:198.51.100.7', '203.0.113.5']);

  test.each([
    ['192.0.2.16', true],
    ['192.0.2.31', true],
    ['192.0.2.32', false],
    ['::ffff:192.0.2.20', true],
    ['::FFFF:192.0.2.40', false],
    ['198.51.100.7', true],
    ['::ffff:198.51.100.7', true],
    ['198.51.100.8', false],
    ['203.0.113.5', true],
    ['2001:db8:1:ffff::9', true],
    ['2001:db8:2::9', false],
    ['::1', false],
    ['', false],
  ])('%s allowed: %s', (peer, allowed) => {
    expect(filter.allows(peer)).toBe(allowed);
  });
});
