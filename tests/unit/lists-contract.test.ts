import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listsJsonSchemas } from '../../src/sync/lists-schemas.js';
import { repoRoot } from '../helpers/cli.js';

describe('the documented list payloads', () => {
  for (const [name, schema] of Object.entries(listsJsonSchemas())) {
    it(`docs/mqtt/${name}.schema.json is the schema the gateway validates with`, () => {
      const file = join(repoRoot, 'docs/mqtt', `${name}.schema.json`);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(schema);
    });
  }
});
