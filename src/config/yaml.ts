import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

// Configuration files people edit by hand (the site profile, dialect profiles) are read the same
// way: a file that is missing, unreadable or not YAML is a ConfigError naming the file and, for a
// YAML mistake, its line and column; a key given twice is a mistake too.

/** The text of a configuration file; a missing or unreadable file is a ConfigError. */
export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`]);
  }
}

/** YAML text as plain data, for a schema to validate; `file` is used in messages only. */
export function parseConfigYaml(text: string, file: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.pos[0] !== undefined ? lines.linePos(e.pos[0]) : undefined;
        return `${pos ? `line ${pos.line}, column ${pos.col}` : 'YAML'}: ${e.message.split('\n')[0]}`;
      }),
    );
  return doc.toJS();
}

/** A schema issue's path as it is written in the file: `sources[0].baudRate`. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}
