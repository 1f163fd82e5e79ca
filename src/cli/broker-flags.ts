import type { IClientOptions } from 'mqtt';
import { mqttSchema } from '../config/schema.js';
import { mqttClientOptions } from '../sync/mqtt.js';
import { UsageError } from './main.js';

/** How a command that connects to MQTT by itself is told to reach the broker (commander's names). */
export interface BrokerFlags {
  readonly mqtt: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly username?: string;
  readonly passwordFile?: string;
}

/** Only the options that were given, ready to spread into mqtt.js options. */
export type BrokerCredentials = Pick<IClientOptions, 'key' | 'cert' | 'ca' | 'username' | 'password'>;

/**
 * The broker URL checked and the TLS files and password file read, for the region's commands
 * (the gateway reads the same settings from its site profile). A bad URL or a file that cannot be
 * read is a usage error naming the command's flag; `keyFlag` is what the command calls its
 * client-key option.
 */
export function brokerCredentials(flags: BrokerFlags, keyFlag = '--key'): BrokerCredentials {
  if (!mqttSchema.shape.url.safeParse(flags.mqtt).success)
    throw new UsageError(`--mqtt: "${flags.mqtt}" is not mqtt://host:port`);
  const flagOf: Record<string, string> = {
    clientKey: keyFlag,
    clientCert: '--cert',
    ca: '--ca',
    passwordFile: '--password-file',
  };
  let options: IClientOptions;
  try {
    options = mqttClientOptions(
      {
        url: flags.mqtt,
        protocol: '5',
        clientKey: flags.key,
        clientCert: flags.cert,
        ca: flags.ca,
        username: flags.username,
        passwordFile: flags.passwordFile,
        keepaliveSeconds: 30,
      },
      process.cwd(),
      'unused',
    );
  } catch (err) {
    // The messages name the site profile's keys (mqtt.clientKey …); here the user gave flags.
    throw new UsageError(
      (err as Error).message.replace(
        /\bmqtt\.(clientKey|clientCert|ca|passwordFile)\b/g,
        (_, key: string) => flagOf[key]!,
      ),
    );
  }
  const { key, cert, ca, username, password } = options;
  return {
    ...(key ? { key } : {}),
    ...(cert ? { cert } : {}),
    ...(ca ? { ca } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}
