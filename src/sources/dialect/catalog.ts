import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ConfigError } from '../../config/load.js';
import { keyPath, parseConfigYaml, readConfigFile } from '../../config/yaml.js';
import { DialectCodec } from './codec.js';
import { createFramer } from './framer.js';
import { dialectProfileSchema, type DialectProfile } from './profile.js';

/** The profiles shipped with zonegate: firmware-config/dialects/ at the package root. */
export const BUILTIN_DIALECT_DIR = fileURLToPath(new URL('../../../firmware-config/dialects/', import.meta.url));

/** Where a gateway's own profiles go; searched before the shipped ones, so a site can override. */
export const SITE_DIALECT_DIR = '/etc/zonegate/dialects';

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `${keyPath(issue.path)}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${keyPath(issue.path)}: ${issue.message}`;
}

/**
 * Parses and validates one profile (YAML text). Every example frame in it must decode, so a
 * profile cannot ship with an example that contradicts its own rules.
 */
export function parseDialectProfile(text: string, file: string): DialectProfile {
  const result = dialectProfileSchema.safeParse(parseConfigYaml(text, file));
  if (!result.success) throw new ConfigError(file, result.error.issues.map(describeIssue));
  const profile = result.data;
  const stem = basename(file, extname(file));
  if (stem !== profile.name && !file.startsWith('('))
    throw new ConfigError(file, [`name: "${profile.name}" must match the file name "${stem}"`]);
  const codec = new DialectCodec(profile);
  const problems: string[] = [];
  profile.examples.forEach((example, i) => {
    const problem = exampleProblem(codec, Buffer.from(example, 'latin1'));
    if (problem) problems.push(`examples[${i}]: ${problem}`);
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return profile;
}

/** Decodes an example frame with the profile's own framing; undefined when it is one clean read or heartbeat. */
function exampleProblem(codec: DialectCodec, bytes: Buffer): string | undefined {
  let problem: string | undefined;
  let frames = 0;
  const framer = createFramer(codec.profile.framing, codec.trailerBytes, {
    frame: (payload, trailer) => {
      frames++;
      const marker = codec.startMarker;
      const at = marker ? payload.indexOf(marker) : 0;
      const r = codec.decode(at > 0 ? payload.subarray(at) : payload, trailer);
      if (!r.ok) problem ??= `${r.reason}: ${r.detail}`;
      return r.ok;
    },
    junk: (reason, _bytes, _sample, detail) => {
      problem ??= `${reason}: ${detail}`;
    },
  });
  framer.push(bytes);
  framer.flush('closed');
  if (problem) return problem;
  return frames === 1 ? undefined : `expected one frame, found ${frames}`;
}

/** A source or command named a dialect that no profile in the search directories has. */
export class UnknownDialectError extends ConfigError {}

export function loadDialectFile(file: string): DialectProfile {
  return parseDialectProfile(readConfigFile(file), file);
}

/**
 * The dialects a gateway knows: every *.yaml in the search directories (earlier directories win on
 * equal names), plus any profile a source names by file path. Adding a camera type is adding a
 * file; nothing is compiled in.
 */
export class DialectCatalog {
  readonly #byName = new Map<string, DialectProfile>();
  readonly #codecs = new Map<string, DialectCodec>();

  constructor(readonly dirs: readonly string[] = defaultDialectDirs()) {
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir).sort()) {
        if (!/\.ya?ml$/.test(entry)) continue;
        const profile = loadDialectFile(join(dir, entry));
        if (!this.#byName.has(profile.name)) this.#byName.set(profile.name, profile);
      }
    }
  }

  names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  /** A dialect by name, or by path to a YAML file (absolute, or relative to the working directory). */
  profile(ref: string): DialectProfile {
    return this.codec(ref).profile;
  }

  codec(ref: string): DialectCodec {
    const cached = this.#codecs.get(ref);
    if (cached) return cached;
    let profile: DialectProfile;
    if (/\.ya?ml$/.test(ref) || ref.includes('/')) {
      profile = loadDialectFile(isAbsolute(ref) ? ref : resolve(ref));
    } else {
      const found = this.#byName.get(ref);
      if (!found)
        throw new UnknownDialectError(`dialect "${ref}"`, [
          `no profile named "${ref}" in ${this.dirs.join(', ')} (known: ${this.names().join(', ') || 'none'}); give a name or a path to a .yaml profile`,
        ]);
      profile = found;
    }
    const codec = new DialectCodec(profile);
    this.#codecs.set(ref, codec);
    return codec;
  }
}

export function defaultDialectDirs(): string[] {
  return [SITE_DIALECT_DIR, BUILTIN_DIALECT_DIR];
}
