import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { uplinkJsonSchemas } from '../../src/sync/schemas.js';
import { ackSchema, batchSchema, parseMessage, statusSchema } from '../../src/sync/messages.js';
import { gatewayTopics, regionTopics } from '../../src/sync/topics.js';

test('the documented JSON Schemas are the ones the code validates with (npx tsx src/sync/schemas.ts)', () => {
  for (const [name, schema] of Object.entries(uplinkJsonSchemas()))
    expect(JSON.parse(readFileSync(`docs/mqtt/${name}.schema.json`, 'utf8')), name).toEqual(schema);
});

test('the AsyncAPI examples are valid messages', () => {
  const doc = parse(readFileSync('docs/mqtt/asyncapi.yaml', 'utf8')) as {
    components: { messages: Record<string, { examples: { payload: unknown }[] }> };
  };
  const schemas = { eventBatch: batchSchema, ack: ackSchema, status: statusSchema };
  for (const [name, schema] of Object.entries(schemas))
    for (const ex of doc.components.messages[name]!.examples)
      expect(schema.safeParse(ex.payload).success, `${name}: ${JSON.stringify(ex.payload).slice(0, 80)}`).toBe(true);
});

test('a batch whose events are out of order, or whose range or count lies, is refused naming the field', () => {
  const event = (seq: number) => ({
    seq,
    id: '019cad3e-8f00-7a1b-9c2d-3e4f5a6b7c8d',
    type: 'passage',
    at: 1,
    payload: {},
  });
  const batch = { v: 1, gateway: 'gw-1', first: 5, last: 6, count: 2, sentAt: 0, events: [event(5), event(6)] };
  const check = (b: unknown) => parseMessage(batchSchema, Buffer.from(JSON.stringify(b)));
  expect(check(batch).ok).toBe(true);
  expect(check({ ...batch, events: [event(6), event(5)], first: 6, last: 5 })).toMatchObject({
    ok: false,
    detail: expect.stringContaining('increasing seq order'),
  });
  expect(check({ ...batch, count: 3 })).toMatchObject({ ok: false, detail: expect.stringContaining('count') });
  expect(check({ ...batch, last: 9 })).toMatchObject({ ok: false, detail: expect.stringContaining('first/last') });
  expect(parseMessage(batchSchema, Buffer.from('{"v":1'))).toMatchObject({ ok: false, reason: 'not-json' });
});

test('topics follow the shared tree under the prefix', () => {
  expect(gatewayTopics('zonegate/v1', 'gw-1')).toEqual({
    events: 'zonegate/v1/gw/gw-1/events',
    ack: 'zonegate/v1/gw/gw-1/ack',
    status: 'zonegate/v1/gw/gw-1/status',
  });
  const region = regionTopics('zonegate/v1/');
  expect(region.allEvents).toBe('zonegate/v1/gw/+/events');
  expect(region.gatewayOfEvents('zonegate/v1/gw/gw-7/events')).toBe('gw-7');
  expect(region.gatewayOfEvents('zonegate/v1/gw/gw-7/status')).toBeUndefined();
});
