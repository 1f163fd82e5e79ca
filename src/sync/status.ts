import type { MqttClient } from 'mqtt';
import type { JournalReader } from '../journal/types.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { mqttProtocolOf } from './mqtt.js';
import type { StatusMessage } from './messages.js';
import { gatewayTopics } from './topics.js';

export interface StatusPublisherDeps {
  readonly client: MqttClient;
  readonly gatewayId: string;
  readonly topicPrefix: string;
  readonly journal: Pick<JournalReader, 'stats'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Retained status refresh (uplink.statusIntervalMs). */
  readonly intervalMs: number;
  /** Software and data versions to show, e.g. { zonegate: '0.1.0', config: 'sha256:…' }. */
  readonly versions: Readonly<Record<string, string>>;
  /**
   * What the gateway adds: list version and age, bollard states, lanes … Called at every publish;
   * its keys appear at the top level of the status (the publisher's own keys win).
   */
  readonly statusProvider: () => Readonly<Record<string, unknown>>;
}

export interface StatusPublisher extends Lifecycle {
  /** Publishes now (e.g. after a bollard changed state); cheap to call often, coalesced. */
  publishNow(): void;
  /** The status as it would be published now. */
  current(): StatusMessage;
}

/**
 * The retained `{prefix}/gw/{gateway}/status` topic: online with versions, backlog and what the
 * gateway supplies, on every connect and every interval; offline (reason stopped) on a clean
 * stop. The broker publishes the last will (offline, connection-lost) when the gateway vanishes.
 */
export function createStatusPublisher(deps: StatusPublisherDeps): StatusPublisher {
  const topic = gatewayTopics(deps.topicPrefix, deps.gatewayId).status;
  const log = deps.log.child({ module: 'status-topic' });
  let timer: TimerHandle | undefined;
  let queued = false;
  let stopped = true;

  const current = (): StatusMessage => {
    const s = deps.journal.stats();
    let extra: Readonly<Record<string, unknown>> = {};
    try {
      extra = deps.statusProvider();
    } catch (err) {
      log.warn({ err }, 'status provider failed; publishing the core status only');
    }
    return {
      ...extra,
      v: 1,
      gateway: deps.gatewayId,
      state: 'online',
      at: deps.clock.now(),
      versions: { ...deps.versions, node: process.version, mqtt: mqttProtocolOf(deps.client) },
      journal: {
        backlog: s.backlog,
        lastSeq: s.lastSeq ?? null,
        ackedThrough: s.ackedThrough,
        durableSeq: s.durableSeq,
        dropped: s.dropped,
        bytes: s.bytes,
        ...(s.budgetBytes !== undefined ? { budgetBytes: s.budgetBytes } : {}),
      },
    };
  };

  const publish = (): void => {
    if (stopped || !deps.client.connected) return;
    deps.client.publish(topic, JSON.stringify(current()), { qos: 1, retain: true }, (err) => {
      if (err && !stopped) log.warn({ err: err.message }, 'status publish failed');
    });
  };

  const schedule = (): void => {
    timer?.cancel();
    if (stopped) return;
    timer = deps.clock.setTimer(deps.intervalMs, () => {
      publish();
      schedule();
    });
  };

  const onConnect = (): void => publish();

  return {
    name: 'status-topic',
    async start() {
      stopped = false;
      deps.client.on('connect', onConnect);
      publish();
      schedule();
    },
    async stop() {
      if (stopped) return;
      deps.client.off('connect', onConnect);
      timer?.cancel();
      timer = undefined;
      const wasConnected = deps.client.connected;
      stopped = true;
      if (!wasConnected) return;
      const offline: StatusMessage = {
        v: 1,
        gateway: deps.gatewayId,
        state: 'offline',
        reason: 'stopped',
        at: deps.clock.now(),
      };
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        deps.client.publish(topic, JSON.stringify(offline), { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    publishNow() {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        publish();
      });
    },
    current,
  };
}
