import { z } from 'zod';
import { ackSchema, batchSchema, statusSchema } from './messages.js';

/**
 * JSON Schema of every uplink payload, generated from the zod schemas the code validates with.
 * docs/mqtt/*.schema.json are these, written by `npx tsx src/sync/schemas.ts`; a test keeps them equal.
 */
/** One docs/mqtt/{name}.schema.json: the JSON Schema of a zod schema, with its id and description. */
export function jsonSchemaEntry(name: string, schema: z.ZodType, description: string): [string, unknown] {
  return [
    name,
    {
      $id: `https://zonegate.example/schemas/mqtt/${name}.schema.json`,
      description,
      ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    },
  ];
}

export function uplinkJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries([
    jsonSchemaEntry('events-batch', batchSchema, 'gateway → region on {prefix}/gw/{gateway}/events, QoS 1'),
    jsonSchemaEntry('ack', ackSchema, 'region → gateway on {prefix}/gw/{gateway}/ack, QoS 1'),
    jsonSchemaEntry(
      'status',
      statusSchema,
      'gateway on {prefix}/gw/{gateway}/status, QoS 1, retained; the last will is its offline form',
    ),
  ]);
}

// Not lists-schemas.ts, which imports this module.
if (process.argv[1]?.endsWith('/sync/schemas.ts')) {
  const { writeFileSync } = await import('node:fs');
  for (const [name, schema] of Object.entries(uplinkJsonSchemas()))
    writeFileSync(`docs/mqtt/${name}.schema.json`, `${JSON.stringify(schema, null, 2)}\n`);
}
