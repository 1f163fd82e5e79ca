import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  /** CA that signs the broker's and the gateway's certificates. */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** A gateway's client certificate, CN = the gateway id. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate from another CA, which the broker must refuse. */
  readonly strangerCert: string;
  readonly strangerKey: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A throw-away PKI made with the openssl command line: a test CA, a server certificate for
 * 127.0.0.1/localhost, a client certificate for `clientCn`, and a look-alike client certificate
 * signed by an unrelated CA. EC P-256 keys keep it fast.
 */
export function createTestPki(clientCn = 'gw-tls-1'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'zg-pki-'));
  const key = (name: string): void =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name], dir);
  const ca = (name: string, cn: string): void => {
    key(`${name}.key`);
    openssl(
      ['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '2', '-out', `${name}.crt`],
      dir,
    );
  };
  const leaf = (name: string, cn: string, caName: string, ext: string): void => {
    key(`${name}.key`);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${caName}.crt`,
        '-CAkey',
        `${caName}.key`,
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  };
  ca('ca', 'zonegate test CA');
  ca('other-ca', 'zonegate test CA'); // same name, different key: only the signature tells them apart
  leaf('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', clientCn, 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', clientCn, 'other-ca', 'extendedKeyUsage=clientAuth\n');
  // Mosquitto started as root drops to its own user: it must be able to read the throw-away PKI.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.crt'),
    strangerKey: p('stranger.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** mosquitto.conf lines for a TLS listener that requires a client certificate from the CA. */
export function mosquittoTlsListener(port: number, pki: TestPki): string {
  return [
    `listener ${port} 127.0.0.1`,
    `cafile ${pki.caCert}`,
    `certfile ${pki.serverCert}`,
    `keyfile ${pki.serverKey}`,
    'require_certificate true',
    'use_identity_as_username true',
  ].join('\n');
}
