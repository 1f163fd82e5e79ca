import { deltaSchema, headerSchema, manifestSchema, resyncSchema } from './lists-wire.js';
import { jsonSchemaEntry } from './schemas.js';

/**
 * JSON Schema of the list downlink's payloads, generated from the zod schemas the gateway validates
 * with. docs/mqtt/lists-*.schema.json are these, written by `npx tsx src/sync/lists-schemas.ts` (then prettier); a
 * test keeps them equal. Snapshot and delta payloads are a header line (lists-header) and a body.
 */
export function listsJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries([
    jsonSchemaEntry(
      'lists-header',
      headerSchema,
      'first line of every payload on {prefix}/lists/{zone}/snapshot and /delta; the body follows the newline',
    ),
    jsonSchemaEntry(
      'lists-manifest',
      manifestSchema,
      'body of a snapshot header (Ed25519-signed): the chunks to expect and their SHA-256',
    ),
    jsonSchemaEntry(
      'lists-delta',
      deltaSchema,
      'body of a delta header (Ed25519-signed): changes from fromVersion to version',
    ),
    jsonSchemaEntry('lists-resync', resyncSchema, 'gateway → region on {prefix}/gw/{gateway}/lists/resync, QoS 1'),
  ]);
}

if (process.argv[1]?.endsWith('lists-schemas.ts')) {
  const { writeFileSync } = await import('node:fs');
  for (const [name, schema] of Object.entries(listsJsonSchemas()))
    writeFileSync(`docs/mqtt/${name}.schema.json`, `${JSON.stringify(schema, null, 2)}\n`);
}
