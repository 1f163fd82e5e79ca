import type { Command } from 'commander';
import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { buildListMessages, type ListSource, type PublishListResult } from '../../region/lists/publish-list.js';
import { createListServer } from '../../region/lists/server.js';
import { systemClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/log.js';
import { KeyFileError, loadPrivateKey } from '../../sync/lists-signing.js';
import { listTopics } from '../../sync/lists-wire.js';
import { brokerCredentials } from '../broker-flags.js';
import { RuntimeFault, UsageError } from '../main.js';
import { regionCommand } from './region-group.js';

interface PublishOptions {
  zone: string;
  listVersion: string;
  signingKey: string;
  grants?: string;
  vehicles?: string;
  synthetic?: string;
  seed: string;
  fromVersion?: string;
  fromGrants?: string;
  fromVehicles?: string;
  publishedAt?: string;
  chunkRows: string;
  chunkIntervalMs: string;
  out?: string;
  mqtt: string;
  prefix: string;
  ca?: string;
  cert?: string;
  clientKey?: string;
  username?: string;
  passwordFile?: string;
}

function read(file: string | undefined): { file: string; text: string } | undefined {
  if (file === undefined) return undefined;
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (err) {
    throw new UsageError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function wholeNumber(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name}: "${value}" is not a whole number ≥ ${min}`);
  return n;
}

/** The list options publish-list and serve-lists share. */
function listOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--zone <id>', 'zone the list is for')
    .requiredOption('--list-version <n>', 'version of the published list (higher than any before)')
    .requiredOption('--signing-key <file>', "the region's Ed25519 private key (PEM)")
    .option('--grants <file.csv>', 'grants (docs/lists.md, "Grants CSV")')
    .option('--vehicles <file.csv>', 'RDW vehicle data (kenteken, voertuigsoort, europese_voertuigcategorie, …)')
    .option('--synthetic <plates>', 'publish a synthetic list of this many plates instead (tests, benchmarks)')
    .option('--seed <n>', 'seed of the synthetic list', '1')
    .option('--published-at <time>', 'ISO time the list counts as published (default: now)')
    .option('--chunk-rows <n>', 'rows per snapshot chunk', '20000')
    .option(
      '--chunk-interval-ms <ms>',
      'pause between snapshot chunks, to spread a large snapshot over time (docs/lists.md)',
      '0',
    );
}

function brokerOptions(cmd: Command): Command {
  return cmd
    .option('--mqtt <url>', 'broker', 'mqtt://127.0.0.1:1883')
    .option('--prefix <prefix>', 'topic prefix', 'zonegate/v1')
    .option('--ca <file>', 'CA bundle of the broker certificate')
    .option('--cert <file>', 'client certificate (TLS client authentication)')
    .option('--client-key <file>', 'client key of --cert')
    .option('--username <name>', 'broker user name')
    .option('--password-file <file>', 'file holding the broker password');
}

/** Checks the list options and builds the signed messages (a snapshot, or with --from-version a delta). */
function buildFromOptions(opts: PublishOptions): {
  result: Exclude<PublishListResult, { problems: string[] }>;
  version: number;
  chunkIntervalMs: number;
} {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(opts.zone)) throw new UsageError(`--zone: "${opts.zone}" is not a zone id`);
  const version = wholeNumber('--list-version', opts.listVersion, 1);
  const chunkRows = wholeNumber('--chunk-rows', opts.chunkRows, 1);
  const chunkIntervalMs = wholeNumber('--chunk-interval-ms', opts.chunkIntervalMs, 0);
  const publishedAt = opts.publishedAt === undefined ? Date.now() : Date.parse(opts.publishedAt);
  if (Number.isNaN(publishedAt)) throw new UsageError(`--published-at: "${opts.publishedAt}" is not an ISO time`);
  let signingKey;
  try {
    signingKey = loadPrivateKey(opts.signingKey);
  } catch (err) {
    if (err instanceof KeyFileError) throw new UsageError(`--signing-key: ${err.message}`);
    throw err;
  }
  const source: ListSource = {
    ...(opts.grants ? { grants: read(opts.grants)! } : {}),
    ...(opts.vehicles ? { vehicles: read(opts.vehicles)! } : {}),
  };
  if (opts.synthetic !== undefined && (opts.grants || opts.vehicles))
    throw new UsageError('give --synthetic or --grants/--vehicles, not both');
  if (opts.synthetic === undefined && !opts.grants && !opts.vehicles)
    throw new UsageError('nothing to publish: give --grants and/or --vehicles (or --synthetic N)');
  if ((opts.fromGrants || opts.fromVehicles) && opts.fromVersion === undefined)
    throw new UsageError('--from-grants/--from-vehicles need --from-version');
  const result = buildListMessages({
    zone: opts.zone,
    version,
    publishedAt,
    signingKey,
    chunkRows,
    list:
      opts.synthetic !== undefined
        ? {
            synthetic: {
              plates: wholeNumber('--synthetic', opts.synthetic, 1),
              seed: wholeNumber('--seed', opts.seed, 0),
            },
          }
        : source,
    ...(opts.fromVersion !== undefined
      ? {
          deltaFrom: {
            version: wholeNumber('--from-version', opts.fromVersion, 0),
            list: {
              ...(opts.fromGrants ? { grants: read(opts.fromGrants)! } : {}),
              ...(opts.fromVehicles ? { vehicles: read(opts.fromVehicles)! } : {}),
            },
          },
        }
      : {}),
  });
  if ('problems' in result) {
    for (const p of result.problems.slice(0, 200)) process.stderr.write(`${p}\n`);
    throw new UsageError(`${result.problems.length} problem(s); nothing was published`);
  }
  return { result, version, chunkIntervalMs };
}

async function connect(opts: PublishOptions, role: string): Promise<mqtt.MqttClient> {
  const credentials = brokerCredentials(
    {
      mqtt: opts.mqtt,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.clientKey,
      username: opts.username,
      passwordFile: opts.passwordFile,
    },
    '--client-key',
  );
  return mqtt.connectAsync(opts.mqtt, {
    clientId: `zonegate-${role}-${randomBytes(4).toString('hex')}`,
    connectTimeout: 10_000,
    ...credentials,
    ...(role === 'publish-list' ? { reconnectPeriod: 0 } : {}),
  });
}

export function registerRegionLists(program: Command): void {
  brokerOptions(
    listOptions(
      regionCommand(program)
        .command('publish-list')
        .description(
          'build a signed list snapshot (or, with --from-version, a delta) from a grants CSV and RDW-style vehicle CSV and publish it to the zone',
        ),
    )
      .option('--from-version <n>', 'publish a delta from this version; --from-grants/--from-vehicles are that list')
      .option('--from-grants <file.csv>', 'the grants of --from-version')
      .option('--from-vehicles <file.csv>', 'the vehicle data of --from-version')
      .option('--out <dir>', 'write the MQTT payloads into this folder instead of publishing them'),
  ).action(async (opts: PublishOptions) => {
    const { result, version, chunkIntervalMs } = buildFromOptions(opts);
    const topics = listTopics(opts.prefix, opts.zone);
    const topic = result.kind === 'delta' ? topics.delta : topics.snapshot;
    const what = `${result.kind} v${version} of zone ${opts.zone}: ${result.grants} grants, ${result.vehicles} vehicles${
      result.changes !== undefined ? `, ${result.changes} changes` : `, ${result.messages.length - 1} chunk(s)`
    }`;
    if (opts.out) {
      mkdirSync(opts.out, { recursive: true });
      result.messages.forEach((m, i) =>
        writeFileSync(join(opts.out!, `${String(i).padStart(5, '0')}-${result.kind}.bin`), m),
      );
      process.stdout.write(`wrote ${what} to ${opts.out} (topic ${topic})\n`);
      return;
    }
    const client = await connect(opts, 'publish-list');
    try {
      for (const [i, m] of result.messages.entries()) {
        // The manifest goes first; the pause falls between chunks.
        if (i > 1 && chunkIntervalMs > 0) await sleep(chunkIntervalMs);
        await client.publishAsync(topic, m, { qos: 1 });
      }
    } finally {
      await client.endAsync();
    }
    process.stdout.write(`published ${what} to ${opts.mqtt} (topic ${topic})\n`);
  });

  brokerOptions(
    listOptions(
      regionCommand(program)
        .command('serve-lists')
        .description(
          "hold a zone's signed list snapshot and publish it again when a gateway asks for a resync (a skipped delta, a broken or stalled snapshot); runs until SIGINT/SIGTERM",
        ),
    )
      .option('--min-interval-ms <ms>', 'requests within this of the last publication share the next one', '30000')
      .option('--publish-now', 'publish the snapshot once at start as well'),
  ).action(async (opts: PublishOptions & { minIntervalMs: string; publishNow?: boolean }) => {
    const { result, version, chunkIntervalMs } = buildFromOptions(opts);
    const minIntervalMs = wholeNumber('--min-interval-ms', opts.minIntervalMs, 0);
    const log = createLogger({ name: 'zonegate-serve-lists' });
    const client = await connect(opts, 'serve-lists');
    client.on('error', (err) => log.warn({ err: err.message }, 'broker connection'));
    const server = createListServer({
      mqtt: client,
      clock: systemClock,
      log,
      registry: new Registry(),
      settings: {
        topicPrefix: opts.prefix,
        zone: opts.zone,
        version,
        snapshot: result.messages,
        minIntervalMs,
        chunkIntervalMs,
        publishAtStart: opts.publishNow ?? false,
      },
    });
    try {
      await server.start();
    } catch (err) {
      await client.endAsync();
      throw new RuntimeFault(`cannot subscribe to resync requests: ${(err as Error).message}`, { cause: err });
    }
    process.stderr.write(
      `zonegate region serve-lists: snapshot v${version} of zone ${opts.zone} (${result.grants} grants, ${result.vehicles} vehicles, ${result.messages.length - 1} chunk(s)); answering ${listTopics(opts.prefix, opts.zone).resync}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.stop();
    await client.endAsync();
  });
}
