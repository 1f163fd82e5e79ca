import { afterAll, beforeAll, expect, test } from 'vitest';
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';

let broker: MosquittoInstance;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.dispose());

test('the private test broker carries a message on its own port', async () => {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
  await client.subscribeAsync('t/1', { qos: 1 });
  await client.publishAsync('t/1', 'hello', { qos: 1 });
  expect(await got).toBe('hello');
  await client.endAsync();
});
