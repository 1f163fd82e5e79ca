import { writeFileSync } from 'node:fs';
import { siteConfigMarkdown, siteJsonSchema } from '../src/config/docs.js';

writeFileSync('firmware-config/site.schema.json', `${JSON.stringify(siteJsonSchema(), null, 2)}\n`);
writeFileSync('docs/config.md', siteConfigMarkdown());
