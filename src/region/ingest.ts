import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { counter, histogram } from '../shared/metrics.js';
import { batchSchema, parseMessage, statusSchema, type AckMessage, type EventBatch } from '../sync/messages.js';
import { regionTopics } from '../sync/topics.js';
import { insertEvents, migrate, upsertGatewayStatus } from './db.js';

export interface IngestDeps {
  readonly pool: Pool;
  readonly mqttUrl: string;
  /** TLS material, credentials; clientId and session settings are set here. */
  readonly mqttOptions?: IClientOptions;
  readonly topicPrefix: string;
  /** Shared-subscription group: instances in one group share the gateways' batches. */
  readonly group: string;
  /** Stable per instance, so its broker session (and unacknowledged deliveries) survive a restart. */
  readonly instance: string;
  readonly registry: Registry;
  readonly log: Logger;
  /** Called after a batch is committed, before its acknowledgement: fault injection in tests. */
  readonly afterCommit?: (batch: EventBatch) => void;
}

export interface Ingest extends Lifecycle {
  readonly client: MqttClient | undefined;
}

/** Broker session kept this long after an instance disconnects (MQTT 5 session expiry). */
const SESSION_EXPIRY_S = 600;
/** The most ranges one acknowledgement may carry (ackSchema). */
const MAX_ACK_RANGES = 1_000;

/** SQLSTATE class 22: PostgreSQL refused the data itself, so the same rows fail on every retry. */
function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('22');
}

/**
 * The reference back office's intake: consumes event batches with an MQTT 5 shared subscription
 * (`$share/{group}/…`), so several instances share the load; writes each batch to PostgreSQL
 * idempotently on (gateway, seq) and only after the commit acknowledges it — to the gateway on
 * its ack topic and to the broker (PUBACK). A crash before the acknowledgement means a
 * redelivery or a resend, which inserts nothing new and is then acknowledged.
 */
export function createIngest(deps: IngestDeps): Ingest {
  const log = deps.log.child({ module: 'ingest', instance: deps.instance });
  const topics = regionTopics(deps.topicPrefix);
  const r = deps.registry;
  const metrics = {
    batches: counter(r, 'zonegate_ingest_batches_total', 'Batches handled, by result', ['result']),
    inserted: counter(r, 'zonegate_ingest_events_inserted_total', 'Events written for the first time'),
    duplicates: counter(r, 'zonegate_ingest_events_duplicate_total', 'Events already stored (resends)'),
    rejected: counter(r, 'zonegate_ingest_rejected_total', 'Messages refused, by reason', ['reason']),
    dbErrors: counter(r, 'zonegate_ingest_db_errors_total', 'Failed writes to PostgreSQL (retried)'),
    commit: histogram(r, 'zonegate_ingest_commit_seconds', 'Writing one batch', [0.002, 0.01, 0.05, 0.2, 1, 5]),
  };
  let client: MqttClient | undefined;
  let stopping = false;

  /**
   * Queued before the PUBACK of the batch, so on the wire the gateway's ack goes first. Not
   * awaited: mqtt.js handles incoming packets one by one, and the ack's own PUBACK would queue
   * behind the batch we are still handling.
   */
  const publishAck = (gateway: string, ranges: [number, number][]): void => {
    for (let i = 0; i < ranges.length; i += MAX_ACK_RANGES) {
      const ack: AckMessage = { v: 1, gateway, ranges: ranges.slice(i, i + MAX_ACK_RANGES), at: Date.now() };
      client!.publish(topics.ackFor(gateway), JSON.stringify(ack), { qos: 1 }, (err) => {
        // A lost acknowledgement only costs a resend: the gateway asks again after its timeout.
        if (err && !stopping) log.warn({ err: err.message, gateway }, 'acknowledgement publish failed');
      });
    }
  };

  /**
   * Inserts, retrying what may pass later (connection lost, server restarting) until it does or
   * the ingest stops (then undefined). A data exception is thrown: retrying cannot cure it.
   */
  const insert = async (gateway: string, events: EventBatch['events']): Promise<number | undefined> => {
    for (let attempt = 0; ; attempt++) {
      const t0 = process.hrtime.bigint();
      try {
        const inserted = await insertEvents(deps.pool, gateway, events, deps.instance);
        metrics.commit.observe(Number(process.hrtime.bigint() - t0) / 1e9);
        metrics.inserted.inc(inserted);
        metrics.duplicates.inc(events.length - inserted);
        return inserted;
      } catch (err) {
        if (isDataException(err)) throw err;
        metrics.dbErrors.inc();
        if (stopping) return undefined;
        log.error({ err: (err as Error).message, gateway, first: events[0]?.seq }, 'database write failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
        if (stopping) return undefined;
      }
    }
  };

  /**
   * Stores a batch; returns the seq ranges now committed (what the gateway may forget), or
   * undefined when the ingest stopped first. A batch PostgreSQL refuses as data (a NUL or a lone
   * surrogate in a string, a time out of range) is stored event by event, so one event it can
   * never take neither holds back the others nor stalls this instance in endless retries; that
   * event stays unacknowledged at its gateway and is counted here each time it comes.
   */
  const store = async (gateway: string, batch: EventBatch): Promise<[number, number][] | undefined> => {
    try {
      return (await insert(gateway, batch.events)) === undefined ? undefined : [[batch.first, batch.last]];
    } catch {
      // A data exception: find the event(s) it is about.
    }
    const ranges: [number, number][] = [];
    let run: [number, number] | undefined;
    for (const event of batch.events) {
      try {
        if ((await insert(gateway, [event])) === undefined) return undefined;
        if (run) run[1] = event.seq;
        else ranges.push((run = [event.seq, event.seq]));
      } catch (err) {
        run = undefined;
        metrics.rejected.inc({ reason: 'not-storable' });
        log.error(
          { gateway, seq: event.seq, type: event.type, err: (err as Error).message },
          'event refused by PostgreSQL as data; not acknowledged, the gateway keeps it',
        );
      }
    }
    return ranges;
  };

  const handle = async (packet: IPublishPacket): Promise<boolean> => {
    const topic = packet.topic;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (topic.endsWith('/status')) {
      const gateway = topic.split('/').at(-2)!;
      const parsed = parseMessage(statusSchema, payload);
      if (!parsed.ok) {
        metrics.rejected.inc({ reason: `status-${parsed.reason}` });
        return true;
      }
      await upsertGatewayStatus(deps.pool, gateway, parsed.value.state, parsed.value).catch((err: Error) =>
        log.warn({ err: err.message, gateway }, 'status not stored'),
      );
      return true;
    }
    const gateway = topics.gatewayOfEvents(topic);
    if (!gateway) {
      metrics.rejected.inc({ reason: 'topic' });
      return true;
    }
    const parsed = parseMessage(batchSchema, payload);
    if (!parsed.ok) {
      metrics.rejected.inc({ reason: parsed.reason });
      metrics.batches.inc({ result: 'rejected' });
      log.warn({ gateway, reason: parsed.reason, detail: parsed.detail }, 'batch refused');
      return true; // acknowledged to the broker so it is not redelivered forever; never to the gateway
    }
    const batch = parsed.value;
    if (batch.gateway !== gateway) {
      metrics.rejected.inc({ reason: 'gateway-mismatch' });
      log.warn({ topic, gateway: batch.gateway }, 'batch names another gateway than its topic; refused');
      return true;
    }
    const committed = await store(gateway, batch);
    if (committed === undefined) return false;
    metrics.batches.inc({ result: 'stored' });
    deps.afterCommit?.(batch);
    if (committed.length > 0) publishAck(gateway, committed);
    return true;
  };

  return {
    name: 'region-ingest',
    get client() {
      return client;
    },
    async start() {
      stopping = false;
      await migrate(deps.pool);
      const c = mqtt.connect(deps.mqttUrl, {
        reconnectPeriod: 1_000,
        connectTimeout: 10_000,
        reconnectOnConnackError: true,
        ...deps.mqttOptions,
        protocolVersion: 5,
        clientId: `zonegate-ingest-${deps.instance}`,
        clean: false,
        properties: { sessionExpiryInterval: SESSION_EXPIRY_S, ...deps.mqttOptions?.properties },
      });
      client = c;
      // PUBACK goes out only when the callback runs: after the commit and the gateway's ack.
      c.handleMessage = (packet, callback) => {
        handle(packet).then(
          (ok) => {
            if (ok) callback();
          },
          (err: unknown) => {
            log.error({ err }, 'batch handling failed; left for redelivery');
          },
        );
      };
      c.on('error', (err) => log.warn({ err: err.message }, 'broker connection error'));
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          c.end(true);
          reject(err);
        };
        c.once('connect', () => {
          c.off('error', onError);
          const share = (t: string): string => `$share/${deps.group}/${t}`;
          // Subscribing again when the session is still there is harmless, and it lets mqtt.js
          // restore the subscription should the broker lose its sessions (restart without persistence).
          c.subscribe(
            { [share(topics.allEvents)]: { qos: 1 }, [share(topics.allStatus)]: { qos: 1 } },
            (err, granted) => {
              const refused = granted?.find((g) => g.qos > 2);
              if (err || refused) reject(err ?? new Error(`subscription refused (reason ${refused?.qos})`));
              else resolve();
            },
          );
        });
        c.once('error', onError);
      });
      log.info({ group: deps.group, topic: topics.allEvents }, 'ingest consuming');
    },
    async stop() {
      stopping = true;
      const c = client;
      client = undefined;
      if (c) await c.endAsync();
    },
  };
}
