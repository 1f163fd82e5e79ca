import { createPrivateKey, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal, JournalEntry } from '../../src/journal/types.js';
import { generateRegionKeys } from '../../src/sync/lists-signing.js';

/** A region key pair on disk (PEM), as `zonegate region publish-list` and the gateway read them. */
export function regionKeyFiles(
  dir: string,
  name = 'region',
): { privateFile: string; publicFile: string; key: KeyObject } {
  const k = generateRegionKeys();
  const privateFile = join(dir, `${name}.key`);
  const publicFile = join(dir, `${name}.pub`);
  writeFileSync(privateFile, k.privatePem, { mode: 0o600 });
  writeFileSync(publicFile, k.publicPem);
  return { privateFile, publicFile, key: createPrivateKey(k.privatePem) };
}

/** Resolves with the next `list` journal entry that matches, or rejects after timeoutMs. */
export function nextListEvent(
  journal: Journal,
  match: (payload: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
): Promise<JournalEntry> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching list event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = journal.onAppend((e) => {
      if (e.type !== 'list' || !match(e.payload as Record<string, unknown>)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}
