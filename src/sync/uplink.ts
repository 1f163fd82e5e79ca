import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import type { UplinkConfig } from '../config/schema.js';
import type { Journal, RawJournalEntry } from '../journal/types.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { counter, gauge, histogram } from '../shared/metrics.js';
import { ackSchema, parseMessage } from './messages.js';
import { gatewayTopics } from './topics.js';

export type UplinkSettings = Pick<
  UplinkConfig,
  'batchMaxEvents' | 'batchMaxBytes' | 'batchMaxAgeMs' | 'maxInFlight' | 'ackTimeoutMs'
>;

export interface UplinkDeps {
  /** The outbox: entries stay there until the region acknowledges them. */
  readonly journal: Pick<
    Journal,
    'readRawFrom' | 'ack' | 'firstUnacked' | 'flush' | 'onAppend' | 'lastSeq' | 'durableSeq'
  >;
  /** The gateway's one connection (connectMqtt). */
  readonly client: MqttClient;
  readonly gatewayId: string;
  readonly topicPrefix: string;
  readonly settings: UplinkSettings;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly log: Logger;
}

export interface UplinkStats {
  readonly connected: boolean;
  /** Next seq to send. */
  readonly cursor: number;
  readonly inFlightBatches: number;
  readonly batchesSent: number;
  readonly eventsSent: number;
  readonly resends: number;
  readonly lastAckAt: number | undefined;
}

export interface Uplink extends Lifecycle {
  stats(): UplinkStats;
}

interface InFlight {
  readonly first: number;
  readonly last: number;
  readonly count: number;
  /** Steady clock (Clock.monotonic) when sent: an NTP step must not delay or hasten a resend. */
  readonly sentMono: number;
}

/**
 * Sends the journal to the region in batches over MQTT QoS 1 and marks what the region
 * acknowledges. Order: batches leave in seq order; after a reconnect or a missing
 * acknowledgement it goes back to the oldest unacknowledged entry and sends everything from
 * there again, in order (go-back-N). The region is idempotent on (gateway, seq), so a resend
 * is harmless; an entry leaves the journal's backlog only when acknowledged.
 */
export function createUplink(deps: UplinkDeps): Uplink {
  return new MqttUplink(deps);
}

class MqttUplink implements Uplink {
  readonly name = 'uplink';
  readonly #deps: UplinkDeps;
  readonly #topics;
  readonly #log: Logger;
  readonly #metrics;
  #cursor = 0;
  #inFlight: InFlight[] = [];
  #subscribed = false;
  #stopped = true;
  #pumping = false;
  #pumpAgain = false;
  #wakeQueued = false;
  #pendingSince: number | undefined;
  #ageTimer: TimerHandle | undefined;
  #ackTimer: TimerHandle | undefined;
  #unsubscribeAppend: (() => void) | undefined;
  #batchesSent = 0;
  #eventsSent = 0;
  #resends = 0;
  #lastAckAt: number | undefined;
  readonly #onConnect = (): void => this.#connected();
  readonly #onClose = (): void => this.#disconnected();
  readonly #onMessage = (topic: string, payload: Buffer): void => {
    if (topic === this.#topics.ack) this.#handleAck(payload);
  };

  constructor(deps: UplinkDeps) {
    this.#deps = deps;
    this.#topics = gatewayTopics(deps.topicPrefix, deps.gatewayId);
    this.#log = deps.log.child({ module: 'uplink' });
    const r = deps.registry;
    this.#metrics = {
      batches: counter(r, 'zonegate_uplink_batches_sent_total', 'Event batches published'),
      events: counter(r, 'zonegate_uplink_events_sent_total', 'Events published (resends included)'),
      acked: counter(r, 'zonegate_uplink_events_acked_total', 'Events the region acknowledged for the first time'),
      resends: counter(r, 'zonegate_uplink_resends_total', 'Going back to the oldest unacknowledged event, by reason', [
        'reason',
      ]),
      badAcks: counter(r, 'zonegate_uplink_bad_acks_total', 'Acknowledgements refused, by reason', ['reason']),
      inFlight: gauge(r, 'zonegate_uplink_in_flight_batches', 'Batches sent and not yet acknowledged'),
      ackLatency: histogram(
        r,
        'zonegate_uplink_ack_latency_seconds',
        'From publishing a batch to its acknowledgement',
        [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      ),
    };
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const { client, journal } = this.#deps;
    client.on('connect', this.#onConnect);
    client.on('close', this.#onClose);
    client.on('message', this.#onMessage);
    this.#unsubscribeAppend = journal.onAppend(() => this.#wake());
    if (client.connected) this.#connected();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const { client } = this.#deps;
    client.off('connect', this.#onConnect);
    client.off('close', this.#onClose);
    client.off('message', this.#onMessage);
    this.#unsubscribeAppend?.();
    this.#ageTimer?.cancel();
    this.#ackTimer?.cancel();
    this.#ageTimer = this.#ackTimer = undefined;
    this.#inFlight = [];
  }

  stats(): UplinkStats {
    return {
      connected: this.#deps.client.connected && this.#subscribed,
      cursor: this.#cursor,
      inFlightBatches: this.#inFlight.length,
      batchesSent: this.#batchesSent,
      eventsSent: this.#eventsSent,
      resends: this.#resends,
      lastAckAt: this.#lastAckAt,
    };
  }

  #connected(): void {
    if (this.#stopped) return;
    this.#subscribed = false;
    this.#rewind();
    this.#deps.client.subscribe(this.#topics.ack, { qos: 1 }, (err) => {
      if (this.#stopped) return;
      if (err) {
        this.#log.warn({ err: err.message }, 'cannot subscribe to the ack topic; retrying on the next connection');
        return;
      }
      this.#subscribed = true;
      this.#wake();
    });
  }

  #disconnected(): void {
    this.#subscribed = false;
    if (this.#inFlight.length > 0) this.#metrics.resends.inc({ reason: 'reconnect' });
    this.#inFlight = [];
    this.#metrics.inFlight.set(0);
    this.#ackTimer?.cancel();
    this.#ackTimer = undefined;
  }

  /** Back to the oldest unacknowledged entry. */
  #rewind(): void {
    const journal = this.#deps.journal;
    const first = journal.firstUnacked();
    this.#cursor = first ?? (journal.lastSeq ?? 0) + 1;
    this.#inFlight = [];
    this.#metrics.inFlight.set(0);
  }

  #wake(): void {
    if (this.#wakeQueued || this.#stopped) return;
    this.#wakeQueued = true;
    setImmediate(() => {
      this.#wakeQueued = false;
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        await this.#fill();
      } while (this.#pumpAgain && !this.#stopped);
    } catch (err) {
      this.#log.error({ err }, 'uplink failed to read the journal; retrying');
      this.#deps.clock.setTimer(1_000, () => this.#wake());
    } finally {
      this.#pumping = false;
    }
  }

  /** Sends batches while the window allows. */
  async #fill(): Promise<void> {
    const { journal, settings, clock } = this.#deps;
    while (!this.#stopped && this.#deps.client.connected && this.#subscribed) {
      if (this.#inFlight.length >= settings.maxInFlight) return;
      const lastSeq = journal.lastSeq;
      if (lastSeq === undefined || this.#cursor > lastSeq) {
        this.#pendingSince = undefined;
        return;
      }
      // Only what reached the disk may leave: a power cut cannot make the region hold an event
      // whose seq the gateway will hand out again.
      if (journal.durableSeq < lastSeq) await journal.flush();
      if (this.#stopped || !this.#deps.client.connected) return;
      const events = journal.readRawFrom(this.#cursor, {
        limit: settings.batchMaxEvents,
        maxBytes: settings.batchMaxBytes,
        unackedOnly: true,
        durableOnly: true,
      });
      if (events.length === 0) {
        this.#pendingSince = undefined;
        return;
      }
      const durableSeq = journal.durableSeq;
      const full = events.length >= settings.batchMaxEvents || events[events.length - 1]!.seq < durableSeq;
      if (!full && settings.batchMaxAgeMs > 0) {
        const now = clock.now();
        this.#pendingSince ??= now;
        const waited = now - this.#pendingSince;
        if (waited < settings.batchMaxAgeMs) {
          if (!this.#ageTimer)
            this.#ageTimer = clock.setTimer(settings.batchMaxAgeMs - waited, () => {
              this.#ageTimer = undefined;
              this.#wake();
            });
          return;
        }
      }
      this.#send(events);
    }
  }

  #send(events: RawJournalEntry[]): void {
    const { client, clock, gatewayId } = this.#deps;
    const first = events[0]!.seq;
    const last = events[events.length - 1]!.seq;
    const now = clock.now();
    // The batch (src/sync/messages.ts batchSchema) is written as text around the payloads as
    // stored: no parse and re-encode of every event on the way out.
    let body = `{"v":1,"gateway":${JSON.stringify(gatewayId)},"first":${first},"last":${last},"count":${events.length},"sentAt":${now},"events":[`;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      body += `${i ? ',' : ''}{"seq":${e.seq},"id":${JSON.stringify(e.id)},"type":"${e.type}","at":${e.at}${
        e.lane !== null ? `,"lane":${JSON.stringify(e.lane)}` : ''
      },"payload":${e.payloadJson}}`;
    }
    body += ']}';
    const v5 = client.options.protocolVersion === 5;
    client.publish(
      this.#topics.events,
      body,
      {
        qos: 1,
        ...(v5
          ? {
              properties: {
                contentType: 'application/json',
                responseTopic: this.#topics.ack,
                userProperties: { first: String(first), last: String(last) },
              },
            }
          : {}),
      },
      (err) => {
        if (err && !this.#stopped) this.#log.warn({ err: err.message, first, last }, 'batch publish failed');
      },
    );
    this.#cursor = last + 1;
    this.#pendingSince = undefined;
    this.#ageTimer?.cancel();
    this.#ageTimer = undefined;
    this.#inFlight.push({ first, last, count: events.length, sentMono: this.#deps.clock.monotonic() });
    this.#batchesSent++;
    this.#eventsSent += events.length;
    this.#metrics.batches.inc();
    this.#metrics.events.inc(events.length);
    this.#metrics.inFlight.set(this.#inFlight.length);
    this.#armAckTimer();
  }

  #armAckTimer(): void {
    if (this.#ackTimer || this.#inFlight.length === 0) return;
    const { clock, settings } = this.#deps;
    const oldest = this.#inFlight[0]!;
    this.#ackTimer = clock.setTimer(Math.max(0, oldest.sentMono + settings.ackTimeoutMs - clock.monotonic()), () => {
      this.#ackTimer = undefined;
      const head = this.#inFlight[0];
      if (!head) return;
      if (clock.monotonic() - head.sentMono >= settings.ackTimeoutMs) {
        this.#log.warn(
          { first: head.first, last: head.last },
          'no acknowledgement in time; sending again from the oldest',
        );
        this.#resends++;
        this.#metrics.resends.inc({ reason: 'ack-timeout' });
        this.#rewind();
        this.#wake();
      } else {
        this.#armAckTimer();
      }
    });
  }

  #handleAck(payload: Buffer): void {
    const parsed = parseMessage(ackSchema, payload);
    if (!parsed.ok) {
      this.#metrics.badAcks.inc({ reason: parsed.reason });
      this.#log.warn({ reason: parsed.reason, detail: parsed.detail }, 'acknowledgement refused');
      return;
    }
    const ack = parsed.value;
    if (ack.gateway !== this.#deps.gatewayId) {
      this.#metrics.badAcks.inc({ reason: 'wrong-gateway' });
      return;
    }
    const now = this.#deps.clock.monotonic();
    let acked = 0;
    for (const [a, b] of ack.ranges) {
      if (a > b) {
        this.#metrics.badAcks.inc({ reason: 'invalid' });
        continue;
      }
      acked += this.#deps.journal.ack(a, b);
      this.#inFlight = this.#inFlight.filter((f) => {
        const covered = f.first >= a && f.last <= b;
        if (covered) this.#metrics.ackLatency.observe((now - f.sentMono) / 1000);
        return !covered;
      });
    }
    this.#lastAckAt = now;
    this.#metrics.acked.inc(acked);
    this.#metrics.inFlight.set(this.#inFlight.length);
    this.#ackTimer?.cancel();
    this.#ackTimer = undefined;
    this.#armAckTimer();
    this.#wake();
  }
}
