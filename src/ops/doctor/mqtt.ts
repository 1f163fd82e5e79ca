import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectAsync, type IClientOptions } from 'mqtt';
import type { SiteConfig } from '../../config/schema.js';
import { MqttSettingsError, mqttClientOptions } from '../../sync/mqtt.js';
import { result, type CheckResult } from './types.js';

type MqttConfig = SiteConfig['mqtt'];

/** The mqtt section with its key, certificate and CA paths made absolute (relative ones are under dataDir). */
export function resolveMqttPaths(mqtt: MqttConfig, dataDir: string): MqttConfig {
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(dataDir, p));
  return {
    ...mqtt,
    ...(mqtt.clientKey !== undefined ? { clientKey: abs(mqtt.clientKey) } : {}),
    ...(mqtt.clientCert !== undefined ? { clientCert: abs(mqtt.clientCert) } : {}),
    ...(mqtt.ca !== undefined ? { ca: abs(mqtt.ca) } : {}),
    ...(mqtt.passwordFile !== undefined ? { passwordFile: abs(mqtt.passwordFile) } : {}),
  };
}

const DAY_MS = 86_400_000;

function readPem(path: string): string | Error {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return new Error(`${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Expiry as ms epoch. Node 20 gives validTo as text ("Nov 25 01:00:00 2027 GMT"). */
function validity(cert: X509Certificate): { from: number; to: number } {
  return { from: Date.parse(cert.validFrom), to: Date.parse(cert.validTo) };
}

/**
 * The client certificate the gateway presents to the region's broker: present, matching its key,
 * issued by the configured CA, and not expired or about to expire. A CSR left by provisioning
 * without a signed certificate yet is reported as such.
 */
export function checkCertificates(input: {
  mqtt: MqttConfig;
  dataDir: string;
  now: number;
  warnDays: number;
}): CheckResult[] {
  const { now, warnDays } = input;
  const mqtt = resolveMqttPaths(input.mqtt, input.dataDir);
  const out: CheckResult[] = [];
  const tls = mqtt.url.startsWith('mqtts:') || mqtt.url.startsWith('wss:');
  if (!mqtt.clientCert && !mqtt.clientKey) {
    return [
      result(
        'certificate',
        'client certificate',
        tls ? 'warn' : 'skip',
        tls
          ? 'TLS broker without a client certificate (mqtt.clientCert)'
          : 'plain MQTT: no client certificate configured',
        'run `zonegate provision` to create a key and certificate request, have the region sign it, set mqtt.clientKey and mqtt.clientCert',
      ),
    ];
  }
  if (!mqtt.clientCert || !existsSync(mqtt.clientCert)) {
    const csr = mqtt.clientKey ? mqtt.clientKey.replace(/\.key$/, '.csr') : undefined;
    return [
      result(
        'certificate',
        'client certificate',
        'fail',
        mqtt.clientCert ? `${mqtt.clientCert} does not exist` : 'mqtt.clientKey is set but mqtt.clientCert is not',
        `send the certificate request${csr && existsSync(csr) ? ` ${csr}` : ''} to the region's CA and install the signed certificate at ${mqtt.clientCert ?? 'the path in mqtt.clientCert'}`,
      ),
    ];
  }
  const certPem = readPem(mqtt.clientCert);
  if (certPem instanceof Error)
    return [result('certificate', 'client certificate', 'fail', certPem.message, 'check the path and its permissions')];
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return [
      result(
        'certificate',
        'client certificate',
        'fail',
        `${mqtt.clientCert} is not a PEM certificate: ${(err as Error).message}`,
        'install the certificate the region signed (PEM, "-----BEGIN CERTIFICATE-----")',
      ),
    ];
  }
  const { from, to } = validity(cert);
  const days = Math.floor((to - now) / DAY_MS);
  const subject = cert.subject.replace(/\n/g, ', ');
  if (now < from)
    out.push(
      result(
        'certificate',
        'client certificate',
        'fail',
        `${subject} is not valid before ${new Date(from).toISOString()}`,
        'the gateway clock may be behind: check the clock first; else ask the region for a certificate valid now',
      ),
    );
  else if (now >= to)
    out.push(
      result(
        'certificate',
        'client certificate',
        'fail',
        `${subject} expired on ${new Date(to).toISOString()}`,
        'ask the region for a new certificate (`zonegate provision --renew-cert` makes a new request with the existing key)',
      ),
    );
  else if (days < warnDays)
    out.push(
      result(
        'certificate',
        'client certificate',
        'warn',
        `${subject} expires in ${days} days (${new Date(to).toISOString().slice(0, 10)})`,
        'ask the region to renew it before it expires (`zonegate provision --renew-cert`)',
      ),
    );
  else
    out.push(
      result(
        'certificate',
        'client certificate',
        'pass',
        `${subject}, valid until ${new Date(to).toISOString().slice(0, 10)} (${days} days)`,
      ),
    );

  if (mqtt.clientKey) {
    const keyPem = readPem(mqtt.clientKey);
    let matches = false;
    let why = '';
    if (keyPem instanceof Error) why = keyPem.message;
    else
      try {
        matches = cert.checkPrivateKey(createPrivateKey(keyPem));
        if (!matches) why = `${mqtt.clientKey} is not the key of ${mqtt.clientCert}`;
      } catch (err) {
        why = `${mqtt.clientKey}: ${(err as Error).message}`;
      }
    out.push(
      matches
        ? result('certificate-key', 'client key matches certificate', 'pass', mqtt.clientKey)
        : result(
            'certificate-key',
            'client key matches certificate',
            'fail',
            why,
            "the certificate was issued for another key: send this gateway's CSR to the region again",
          ),
    );
  }
  if (mqtt.ca) {
    const caPem = readPem(mqtt.ca);
    let ok = false;
    let why = '';
    if (caPem instanceof Error) why = caPem.message;
    else
      try {
        const ca = new X509Certificate(caPem);
        ok = cert.checkIssued(ca) && cert.verify(ca.publicKey);
        if (!ok) why = `${mqtt.clientCert} was not issued by ${ca.subject.replace(/\n/g, ', ')}`;
        else if (now >= validity(ca).to) {
          ok = false;
          why = `CA certificate ${mqtt.ca} expired on ${new Date(validity(ca).to).toISOString()}`;
        }
      } catch (err) {
        why = `${mqtt.ca}: ${(err as Error).message}`;
      }
    out.push(
      ok
        ? result('certificate-ca', 'certificate issued by the configured CA', 'pass', mqtt.ca)
        : result(
            'certificate-ca',
            'certificate issued by the configured CA',
            'fail',
            why,
            "install the region's current CA certificate at mqtt.ca",
          ),
    );
  }
  return out;
}

/**
 * Connects to the region's broker as the gateway would (its connection options: same URL, key,
 * certificate, CA and password) with its own client id, so a running gateway's session is not
 * taken over, and disconnects again.
 */
export async function checkBroker(input: {
  mqtt: MqttConfig;
  dataDir: string;
  gatewayId: string;
  timeoutMs?: number;
}): Promise<CheckResult> {
  const { gatewayId, mqtt } = input;
  const timeoutMs = input.timeoutMs ?? 8_000;
  const title = `broker ${mqtt.url}`;
  let options: IClientOptions;
  try {
    options = {
      ...mqttClientOptions(mqtt, input.dataDir, `${gatewayId}-doctor-${process.pid}`),
      connectTimeout: timeoutMs,
      reconnectPeriod: 0,
      // protocol auto: 3.1.1, which every broker the gateway can reach speaks (it falls back to it).
      protocolVersion: mqtt.protocol === '5' ? 5 : 4,
    };
  } catch (err) {
    if (!(err instanceof MqttSettingsError)) throw err;
    return result(
      'broker',
      title,
      'fail',
      err.message,
      'fix the path in the mqtt section; a certificate still to come from the region: see the certificate check',
    );
  }
  const t0 = Date.now();
  try {
    const client = await Promise.race([
      connectAsync(mqtt.url, options),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 500).unref(),
      ),
    ]);
    const ms = Date.now() - t0;
    await client.endAsync();
    return result('broker', title, 'pass', `connected in ${ms} ms`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: string | number };
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = e.message || String(err);
    let fix = 'check the URL in mqtt.url and that the broker runs';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      fix = "the host name does not resolve: check DNS (`resolvectl status`) or use the broker's address";
    else if (code === 'ECONNREFUSED') fix = 'nothing listens there: check the port in mqtt.url and the broker';
    else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /within/.test(message))
      fix = 'no route to the broker: check the uplink (mobile router, VPN) and firewall rules for the port';
    else if (/certificate|self.signed|unable to verify|CERT_/i.test(`${code} ${message}`))
      fix =
        "TLS failed: check mqtt.ca is the region's CA, and the gateway clock (a wrong date fails every certificate)";
    else if (/Not authorized|Bad username|identifier rejected/i.test(message))
      fix = 'the broker refused this gateway: ask the region to authorise its certificate / client id';
    return result('broker', title, 'fail', `${code ? `${code}: ` : ''}${message}`, fix);
  }
}
