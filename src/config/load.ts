import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { validatedSiteSchema, type SiteConfig } from './schema.js';
import { keyPath, parseConfigYaml, readConfigFile } from './yaml.js';

export { ConfigError };

function describeIssue(issue: z.core.$ZodIssue): string {
  const at = keyPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return `${at}: expected ${issue.expected}${issue.message.includes('received') ? `, ${issue.message.split(', ').pop()}` : ''}`;
    default:
      return `${at}: ${issue.message}`;
  }
}

/** Parses and validates a site profile given as YAML text; `file` is used in messages only. */
export function parseSiteConfig(text: string, file: string): SiteConfig {
  const result = validatedSiteSchema.safeParse(parseConfigYaml(text, file));
  if (!result.success) throw new ConfigError(file, result.error.issues.map(describeIssue));
  return result.data;
}

export function loadSiteConfig(file: string): SiteConfig {
  return parseSiteConfig(readConfigFile(file), file);
}
