import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './cli.js';

type Schema = {
  $ref?: string;
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  maxLength?: number | string;
  minimum?: number;
  maximum?: number;
  format?: string;
};

/** Checks a value against the OpenAPI 3.0 schema subset the iotsignals spec uses; returns the problems. */
export function validateAgainst(
  spec: { components: { schemas: Record<string, Schema> } },
  name: string,
  value: unknown,
): string[] {
  const problems: string[] = [];
  const check = (s: Schema, v: unknown, at: string): void => {
    if (s.$ref) return check(spec.components.schemas[s.$ref.split('/').pop()!]!, v, at);
    if (s.enum && !s.enum.includes(v)) problems.push(`${at}: not one of ${s.enum.join(', ')}`);
    switch (s.type) {
      case 'object': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return void problems.push(`${at}: not an object`);
        const o = v as Record<string, unknown>;
        for (const r of s.required ?? []) if (!(r in o)) problems.push(`${at}.${r}: required`);
        for (const [k, sub] of Object.entries(s.properties ?? {})) if (k in o) check(sub, o[k], `${at}.${k}`);
        return;
      }
      case 'array':
        if (!Array.isArray(v)) return void problems.push(`${at}: not an array`);
        v.forEach((x, i) => check(s.items!, x, `${at}[${i}]`));
        return;
      case 'string':
        if (typeof v !== 'string') return void problems.push(`${at}: not a string`);
        if (s.maxLength !== undefined && v.length > Number(s.maxLength))
          problems.push(`${at}: longer than ${s.maxLength}`);
        if (s.format === 'date-time' && Number.isNaN(Date.parse(v))) problems.push(`${at}: not a date-time`);
        return;
      case 'integer':
      case 'number':
        if (typeof v !== 'number' || (s.type === 'integer' && !Number.isInteger(v)))
          return void problems.push(`${at}: not an ${s.type}`);
        if (s.minimum !== undefined && v < s.minimum) problems.push(`${at}: below ${s.minimum}`);
        if (s.maximum !== undefined && v > s.maximum) problems.push(`${at}: above ${s.maximum}`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') problems.push(`${at}: not a boolean`);
        return;
    }
  };
  check(spec.components.schemas[name]!, value, name);
  return problems;
}

export interface IotsignalsServer {
  readonly url: string;
  /** Accepted passages by id. */
  readonly received: Map<string, unknown>;
  /** Every request's status, in order. */
  readonly statuses: number[];
  /** Answer the next N requests with this status instead (e.g. 503 for an outage). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

/**
 * The passage intake of the iotsignals back office as its OpenAPI 1.0.4 spec describes it:
 * POST /api/v1/passage with a Passage; 200 when new, 409 when that id was sent before; a body
 * that does not match the spec's schema is refused with 400 naming the field.
 */
export async function startIotsignalsServer(): Promise<IotsignalsServer> {
  const spec = parse(readFileSync(join(repoRoot, 'src/region/spec/iotsignals-passage-1.0.4.yml'), 'utf8')) as {
    components: { schemas: Record<string, Schema> };
  };
  const received = new Map<string, unknown>();
  const statuses: number[] = [];
  let failing = 0;
  let failStatus = 503;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const reply = (status: number, text = ''): void => {
        statuses.push(status);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
      };
      if (req.method !== 'POST' || req.url !== '/api/v1/passage') return reply(404);
      if (failing > 0) {
        failing--;
        return reply(failStatus, 'unavailable');
      }
      let passage: unknown;
      try {
        passage = JSON.parse(body);
      } catch {
        return reply(400, 'not JSON');
      }
      const problems = validateAgainst(spec, 'Passage', passage);
      if (problems.length) return reply(400, problems.join('; '));
      const id = (passage as { id: string }).id;
      if (received.has(id)) return reply(409, 'CONFLICT');
      received.set(id, passage);
      reply(200);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/api/v1/passage`,
    received,
    statuses,
    failNext(n, status) {
      failing = n;
      failStatus = status;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
