import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { siteConfigMarkdown, siteJsonSchema } from '../../src/config/docs.js';

test('the committed config reference and JSON Schema match the schema in code (npm run docs:config)', () => {
  expect(readFileSync('docs/config.md', 'utf8')).toBe(siteConfigMarkdown());
  expect(JSON.parse(readFileSync('firmware-config/site.schema.json', 'utf8'))).toEqual(siteJsonSchema());
});

test('the reference documents every top-level section and the bollard timing keys', () => {
  const md = siteConfigMarkdown();
  for (const key of ['gateway.id', 'lanes[].bollard.timing.clearanceMs', 'passage.holdOffMs', 'policy.minConfidence'])
    expect(md).toContain(`\`${key}\``);
});
