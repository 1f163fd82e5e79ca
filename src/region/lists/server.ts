import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Lifecycle } from '../../shared/lifecycle.js';
import type { Logger } from '../../shared/log.js';
import { counter } from '../../shared/metrics.js';
import { listTopics, resyncSchema } from '../../sync/lists-wire.js';

export interface ListServerSettings {
  readonly topicPrefix: string;
  readonly zone: string;
  /** The version of `snapshot`: requests from gateways that have it (or newer) need nothing. */
  readonly version: number;
  /** The signed snapshot, framed: manifest first, then the chunks (buildSnapshot's messages). */
  readonly snapshot: readonly Buffer[];
  /** Requests within this of the last publication are answered by the next one, once. */
  readonly minIntervalMs: number;
  /** Pause between chunks (see publish-list --chunk-interval-ms). */
  readonly chunkIntervalMs: number;
  /** Publish the snapshot once at start, before any request. */
  readonly publishAtStart: boolean;
}

export interface ListServerDeps {
  readonly mqtt: MqttClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  readonly settings: ListServerSettings;
}

export interface ListServer extends Lifecycle {
  /** Resolves when no publication is running or owed (tests). */
  idle(): Promise<void>;
}

const GATEWAY_IN_TOPIC = /\/gw\/([^/]+)\/lists\/resync$/;

/**
 * The region's answer to gateways' resync requests (src/sync/lists-sync.ts asks after a skipped delta
 * version, a broken or stalled snapshot): it holds the zone's current signed snapshot and publishes it
 * again on the zone's snapshot topic. Requests are validated like every MQTT payload. Every request is
 * answered by a publication that starts after it arrived, at most one per `minIntervalMs`, and all
 * requests that arrive before it starts share it: a zone of gateways that all lost the same delta
 * costs one snapshot, not one each.
 */
export function createListServer(deps: ListServerDeps): ListServer {
  const { mqtt, clock, log, settings: s } = deps;
  const topics = listTopics(s.topicPrefix, s.zone);
  const requests = counter(
    deps.registry,
    'zonegate_region_resync_requests_total',
    'Resync requests from gateways, by outcome (answered, coalesced, up-to-date, other-zone, invalid)',
    ['outcome'],
  );
  const published = counter(deps.registry, 'zonegate_region_snapshots_published_total', 'Snapshots published');
  let running: Promise<void> | undefined;
  let timer: TimerHandle | undefined;
  /** A publication is owed to a request (or the start) and has not begun yet. */
  let owed = false;
  let lastEndedAt = -Infinity;
  let stopped = false;
  const settled: (() => void)[] = [];

  const publishOnce = async (why: string): Promise<void> => {
    log.info({ version: s.version, chunks: s.snapshot.length - 1, why }, 'publishing the list snapshot');
    for (const [i, m] of s.snapshot.entries()) {
      if (stopped) return;
      if (i > 1 && s.chunkIntervalMs > 0) await new Promise<void>((r) => clock.setTimer(s.chunkIntervalMs, r));
      await mqtt.publishAsync(topics.snapshot, m, { qos: 1 });
    }
    published.inc();
  };

  /** Starts the owed publication once none runs and the interval since the last one has passed. */
  const kick = (why: string): void => {
    if (stopped || !owed || running || timer) {
      if (!owed && !running && !timer) for (const f of settled.splice(0)) f();
      return;
    }
    const wait = lastEndedAt + s.minIntervalMs - clock.monotonic();
    if (wait > 0) {
      timer = clock.setTimer(wait, () => {
        timer = undefined;
        kick(why);
      });
      return;
    }
    owed = false;
    running = publishOnce(why)
      .catch((err: unknown) => log.warn({ err }, 'publishing the list snapshot failed'))
      .finally(() => {
        running = undefined;
        lastEndedAt = clock.monotonic();
        kick('a request came while the last publication ran');
      });
  };

  /**
   * Owes a publication that starts after now: a gateway that asked while one was running may have
   * missed its manifest. False when one is owed already (this request shares it).
   */
  const owe = (why: string): boolean => {
    if (owed) return false;
    owed = true;
    kick(why);
    return true;
  };

  const onMessage = (topic: string, payload: Buffer): void => {
    const fromTopic = GATEWAY_IN_TOPIC.exec(topic)?.[1];
    if (fromTopic === undefined) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      requests.inc({ outcome: 'invalid' });
      log.warn({ topic }, 'resync request is not JSON: ignored');
      return;
    }
    const r = resyncSchema.safeParse(json);
    if (!r.success) {
      requests.inc({ outcome: 'invalid' });
      const issue = r.error.issues[0];
      log.warn(
        { topic, problem: `${issue?.path.join('.') || '(body)'}: ${issue?.message}` },
        'invalid resync request: ignored',
      );
      return;
    }
    const req = r.data;
    if (req.gateway !== fromTopic) {
      requests.inc({ outcome: 'invalid' });
      log.warn({ topic, gateway: req.gateway }, 'resync request names another gateway than its topic: ignored');
      return;
    }
    if (req.zone !== s.zone) {
      requests.inc({ outcome: 'other-zone' });
      return;
    }
    if (req.regionVersion >= s.version) {
      // It already has this version or a newer one: this server has nothing to send.
      requests.inc({ outcome: 'up-to-date' });
      log.info(
        { gateway: req.gateway, regionVersion: req.regionVersion, version: s.version },
        'resync request: gateway is up to date',
      );
      return;
    }
    log.info({ gateway: req.gateway, reason: req.reason, haveVersion: req.haveVersion }, 'resync request');
    requests.inc({ outcome: owe(`resync requested by ${req.gateway} (${req.reason})`) ? 'answered' : 'coalesced' });
  };

  return {
    name: 'region-list-server',
    async start() {
      stopped = false;
      mqtt.on('message', onMessage);
      try {
        await mqtt.subscribeAsync(topics.resync, { qos: 1 });
      } catch (err) {
        mqtt.off('message', onMessage);
        throw err;
      }
      if (s.publishAtStart) owe('start');
    },
    async stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
      owed = false;
      mqtt.off('message', onMessage);
      await running;
      for (const f of settled.splice(0)) f();
      if (mqtt.connected) await mqtt.unsubscribeAsync(topics.resync).catch(() => undefined);
    },
    idle() {
      if (!owed && !running && !timer) return Promise.resolve();
      return new Promise<void>((resolve) => settled.push(resolve));
    },
  };
}
