/**
 * A bollard lane on the GPIO driver, run as a child process inside a GPIO tree's mount
 * namespace (see gpio-tree.ts) and driven over stdin/stdout, one JSON object per line:
 *   in:  {"id":1,"op":"status"|"open"|"hold"|"release"|"reset"|"test"|"outputs"|"inputs"|"metrics"|"stop", …}
 *   out: {"type":"ready","status":…} | {"type":"event","event":…} | {"type":"inputs","inputs":…}
 *        | {"id":1,"result":…} | {"id":1,"error":{…}} | {"type":"error","error":{…}} (start failed)
 * The lane is built from ZG_LANE (JSON: laneId, bollard config, gpio options).
 */
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { createBollardLane } from '../../src/bollard/index.js';
import { bollardSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/log.js';

interface HostSpec {
  laneId: string;
  bollard: unknown;
  gpio?: { interrupts?: boolean; scan?: boolean };
  runDir?: string;
}

const send = (msg: unknown): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
const errorOf = (err: unknown): Record<string, unknown> =>
  err instanceof Error
    ? { name: err.name, message: err.message, code: (err as { code?: unknown }).code }
    : { name: 'Error', message: String(err) };

const spec = JSON.parse(process.env['ZG_LANE'] ?? '{}') as HostSpec;
const registry = new Registry();
const lane = createBollardLane({
  laneId: spec.laneId,
  config: bollardSchema.parse(spec.bollard),
  clock: systemClock,
  log: createLogger({ level: process.env['ZG_HOST_LOG'] ?? 'silent' }),
  registry,
  onEvent: (event) => send({ type: 'event', event }),
  ...(spec.gpio ? { gpio: spec.gpio } : {}),
  ...(spec.runDir ? { runDir: spec.runDir } : {}),
});

try {
  await lane.start();
} catch (err) {
  send({ type: 'error', error: errorOf(err) });
  process.exit(1);
}
lane.driver.onInputs((inputs) => send({ type: 'inputs', inputs }));
send({ type: 'ready', status: lane.controller.status() });

const ops: Record<string, (msg: Record<string, unknown>) => unknown> = {
  status: () => lane.controller.status(),
  open: (m) => lane.controller.requestOpen(String(m['passageId'] ?? 'p')),
  hold: (m) => lane.controller.hold(m['direction'] === 'up' ? 'up' : 'down', Number(m['ms'] ?? 10_000)),
  release: () => lane.controller.releaseHold(),
  reset: () => lane.controller.resetFault(),
  test: () => lane.controller.runTest(),
  outputs: () => lane.driver.readOutputs(),
  inputs: () => lane.driver.read(),
  metrics: async () => (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('zonegate_gpio')),
  stop: async () => {
    await lane.stop();
    setImmediate(() => process.exit(0));
    return true;
  },
};

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const msg = JSON.parse(line) as Record<string, unknown>;
  const op = ops[String(msg['op'])];
  try {
    if (!op) throw new Error(`unknown op ${String(msg['op'])}`);
    send({ id: msg['id'], result: (await op(msg)) ?? null });
  } catch (err) {
    send({ id: msg['id'], error: errorOf(err) });
  }
}
await lane.stop();
