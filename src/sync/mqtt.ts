import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import mqtt, { type IClientOptions, type IStore, type MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import type { MqttConfig } from '../config/schema.js';
import type { Logger } from '../shared/log.js';
import { counter, gauge } from '../shared/metrics.js';
import { gatewayTopics } from './topics.js';

export type { MqttClient };

/** A broker setting that cannot be used (a key file missing, a bad URL): names the config key. */
export class MqttSettingsError extends Error {
  override name = 'MqttSettingsError';
}

/** What connection options need; the site's `mqtt` section fits, and so does the region's CLI. */
export type MqttSettings = Pick<
  MqttConfig,
  'url' | 'protocol' | 'clientKey' | 'clientCert' | 'ca' | 'username' | 'passwordFile' | 'keepaliveSeconds'
> &
  Partial<Pick<MqttConfig, 'reconnectMs' | 'connectTimeoutMs'>>;

function readSetting(key: string, file: string | undefined, baseDir: string): Buffer | undefined {
  if (file === undefined) return undefined;
  const path = resolve(baseDir, file);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new MqttSettingsError(`mqtt.${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

/**
 * mqtt.js options from settings: TLS material read from files (relative to baseDir), MQTT 5
 * unless 3.1.1 is asked for, and a store that forgets in-flight messages on reconnect — each
 * module resends from its own durable state (the uplink from the journal), in order, so mqtt.js
 * must not replay old packets ahead of it.
 */
export function mqttClientOptions(settings: MqttSettings, baseDir: string, clientId: string): IClientOptions {
  const key = readSetting('clientKey', settings.clientKey, baseDir);
  const cert = readSetting('clientCert', settings.clientCert, baseDir);
  const ca = readSetting('ca', settings.ca, baseDir);
  if ((key === undefined) !== (cert === undefined))
    throw new MqttSettingsError(
      'mqtt.clientKey and mqtt.clientCert: give both for TLS client authentication, or neither',
    );
  const password = readSetting('passwordFile', settings.passwordFile, baseDir)?.toString('utf8').trim();
  return {
    clientId,
    protocolVersion: settings.protocol === '3.1.1' ? 4 : 5,
    clean: true,
    keepalive: settings.keepaliveSeconds,
    reconnectPeriod: settings.reconnectMs ?? 2_000,
    connectTimeout: settings.connectTimeoutMs ?? 10_000,
    reconnectOnConnackError: true,
    outgoingStore: new ForgetfulStore(),
    ...(key ? { key } : {}),
    ...(cert ? { cert } : {}),
    ...(ca ? { ca } : {}),
    rejectUnauthorized: true,
    ...(settings.username !== undefined ? { username: settings.username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/**
 * Keeps packets only while they are in flight on the current connection; a new connection starts
 * empty (see mqttClientOptions).
 */
export class ForgetfulStore implements IStore {
  #inflight = new Map<number, unknown>();

  put(packet: Parameters<IStore['put']>[0], cb: Parameters<IStore['put']>[1]): IStore {
    if (packet.messageId !== undefined) this.#inflight.set(packet.messageId, packet);
    cb?.();
    return this;
  }

  createStream(): ReturnType<IStore['createStream']> {
    this.#inflight.clear();
    return Readable.from([]) as unknown as ReturnType<IStore['createStream']>;
  }

  del(packet: Parameters<IStore['del']>[0], cb: Parameters<IStore['del']>[1]): IStore {
    const stored = packet.messageId !== undefined ? this.#inflight.get(packet.messageId) : undefined;
    if (stored !== undefined) {
      this.#inflight.delete(packet.messageId!);
      cb(undefined, stored as never);
    } else {
      cb(new Error('missing packet'));
    }
    return this;
  }

  get(packet: Parameters<IStore['get']>[0], cb: Parameters<IStore['get']>[1]): IStore {
    const stored = packet.messageId !== undefined ? this.#inflight.get(packet.messageId) : undefined;
    if (stored !== undefined) cb(undefined, stored as never);
    else cb(new Error('missing packet'));
    return this;
  }

  close(cb: Parameters<IStore['close']>[0]): void {
    this.#inflight.clear();
    cb();
  }
}

export interface ConnectMqttDeps {
  readonly config: MqttConfig;
  readonly gatewayId: string;
  /** Relative key and certificate paths are resolved against it (the site's dataDir). */
  readonly baseDir: string;
  readonly log: Logger;
  readonly registry: Registry;
}

/** The retained message the broker publishes for us when the connection dies. */
export function offlineWill(gatewayId: string): string {
  return JSON.stringify({ v: 1, gateway: gatewayId, state: 'offline', reason: 'connection-lost' });
}

/** Which MQTT version the connection speaks now: '5' or '3.1.1'. */
export function mqttProtocolOf(client: MqttClient): '5' | '3.1.1' {
  return client.options.protocolVersion === 5 ? '5' : '3.1.1';
}

const UNSUPPORTED_VERSION = new Set([1, 132]);

/**
 * The gateway's one MQTT connection. Returns at once; the client connects and reconnects in the
 * background, so the gateway starts and decides without a network. The last will marks the
 * gateway offline (retained) when the connection dies. With protocol auto it speaks MQTT 5 and
 * falls back to 3.1.1 when the broker refuses 5 (CONNACK "unsupported protocol version").
 */
export function connectMqtt(deps: ConnectMqttDeps): MqttClient {
  const { config, gatewayId } = deps;
  const log = deps.log.child({ module: 'mqtt' });
  const r = deps.registry;
  const metrics = {
    connected: gauge(r, 'zonegate_mqtt_connected', '1 while connected to the broker'),
    connects: counter(r, 'zonegate_mqtt_connects_total', 'Successful connections to the broker'),
    errors: counter(r, 'zonegate_mqtt_errors_total', 'Connection errors, by reason', ['reason']),
  };
  const options = mqttClientOptions(config, deps.baseDir, config.clientId ?? `zonegate-${gatewayId}`);
  options.will = {
    topic: gatewayTopics(config.topicPrefix, gatewayId).status,
    payload: Buffer.from(offlineWill(gatewayId)),
    qos: 1,
    retain: true,
  };
  const client = mqtt.connect(config.url, options);
  let lastError = '';
  client.on('connect', () => {
    metrics.connected.set(1);
    metrics.connects.inc();
    lastError = '';
    log.info({ url: config.url, protocol: mqttProtocolOf(client) }, 'connected to broker');
  });
  client.on('close', () => metrics.connected.set(0));
  client.on('error', (err: Error & { code?: number | string }) => {
    const code = err.code;
    if (config.protocol === 'auto' && client.options.protocolVersion === 5 && UNSUPPORTED_VERSION.has(Number(code))) {
      // A 3.1.1 broker: speak 3.1.1 from the next attempt on (properties are MQTT 5 only).
      client.options.protocolVersion = 4;
      delete client.options.properties;
      if (client.options.will) delete client.options.will.properties;
      metrics.errors.inc({ reason: 'mqtt5-refused' });
      log.warn('broker refused MQTT 5; falling back to 3.1.1');
      return;
    }
    const reason = typeof code === 'number' ? `connack-${code}` : typeof code === 'string' ? code : 'other';
    metrics.errors.inc({ reason });
    // A broker that stays away would otherwise fill the log every reconnect period.
    if (err.message !== lastError) log.warn({ err: err.message, reason }, 'broker connection error');
    lastError = err.message;
  });
  return client;
}

/** Resolves when the client is connected (now or later); rejects after timeoutMs. */
export function waitConnected(client: MqttClient, timeoutMs: number): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      client.off('connect', onConnect);
      reject(new Error(`not connected to the broker within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = (): void => {
      clearTimeout(timer);
      resolvePromise();
    };
    client.once('connect', onConnect);
  });
}
