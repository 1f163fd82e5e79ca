#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { GpioError, LaneLockError } from '../bollard/index.js';
import { ConfigError } from '../config/load.js';
import { MqttSettingsError } from '../sync/mqtt.js';
import { ModelError } from '../vision/model.js';
import { commands } from './commands/index.js';

/**
 * `zonegate <command>`. Each command lives in its own module under commands/ and registers itself
 * on the program; this file only handles what every command shares: exit codes and errors.
 *
 * Exit codes: 0 ok, 1 failure at run time (a check failed, a device missing), 2 bad usage or
 * bad configuration. Configuration and usage errors print a message, never a stack trace.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('zonegate')
    .description('ANPR gateway for zone entrances: plate reads, list checks, bollard control, back-office sync')
    .exitOverride()
    .showHelpAfterError();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`zonegate: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`zonegate: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (isInstallationFault(err)) {
      process.stderr.write(`zonegate: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    process.stderr.write(`zonegate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

/**
 * Something about this machine that a technician must fix (GPIO missing or busy, a lane held by
 * another process, the model or broker settings unusable): its message says what and how, so it
 * is printed without a stack trace, exit 1.
 */
function isInstallationFault(err: unknown): err is Error {
  return (
    err instanceof RuntimeFault ||
    err instanceof GpioError ||
    err instanceof LaneLockError ||
    err instanceof ModelError ||
    err instanceof MqttSettingsError
  );
}

/** A command could not do its work for a reason its message explains (a server unreachable): exit 1, no stack. */
export class RuntimeFault extends Error {
  override name = 'RuntimeFault';
}

/** A wrong argument or an input file that is not what the command expects: exit 2, no stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const invokedDirectly =
  process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/(src|dist)\//, '/$1/'));
if (invokedDirectly || process.env['ZONEGATE_CLI'] === '1') {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`zonegate: ${String(err)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
