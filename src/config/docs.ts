import { z } from 'zod';
import { siteSchema } from './schema.js';

/** JSON Schema of the site profile, for editors and for the region's provisioning tools. */
export function siteJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(siteSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
}

/** A Markdown table of every key: path, type, default, what it means. */
export function siteConfigMarkdown(): string {
  const rows: string[] = [];
  const walk = (node: JsonSchemaNode, path: string, required: boolean): void => {
    const n = node.anyOf?.find((a) => a.type !== 'null') ?? node;
    if (path) {
      let type = Array.isArray(n.type) ? n.type.join(' | ') : (n.type ?? '');
      if (n.enum) type = n.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
      if (n.const !== undefined) type = `\`${String(n.const)}\``;
      const range = [n.minimum !== undefined ? `≥ ${n.minimum}` : '', n.maximum !== undefined ? `≤ ${n.maximum}` : '']
        .filter(Boolean)
        .join(', ');
      const def = node.default ?? n.default;
      rows.push(
        `| \`${path}\` | ${type}${range ? ` (${range})` : ''} | ${required && def === undefined ? 'yes' : ''} | ${def !== undefined && typeof def !== 'object' ? `\`${String(def)}\`` : ''} | ${(node.description ?? n.description ?? '').replace(/\|/g, '\\|')} |`,
      );
    }
    if (n.properties)
      for (const [k, v] of Object.entries(n.properties))
        walk(v, path ? `${path}.${k}` : k, n.required?.includes(k) ?? false);
    if (n.items) walk(n.items, `${path}[]`, false);
  };
  walk(siteJsonSchema() as JsonSchemaNode, '', true);
  return [
    '# Site profile reference',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs:config`; do not edit by hand.',
    'Unknown keys are errors. Examples: `firmware-config/sites/`.',
    '',
    '| key | type | required | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
