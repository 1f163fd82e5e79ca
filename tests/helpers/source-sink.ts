import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { SerialPort } from 'serialport';
import { Pipeline } from '../../src/gateway/pipeline.js';
import { openJournal } from '../../src/journal/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import type { PlateRead, ReadRejection, SourceFault, SourceSink, SourceState } from '../../src/sources/plate-read.js';
import { tempDir } from './tmp.js';

/** A SourceSink that keeps everything and lets a test wait for a condition, event-driven. */
export class CollectingSink implements SourceSink {
  readonly reads: PlateRead[] = [];
  readonly rejections: ReadRejection[] = [];
  readonly statuses: { sourceId: string; state: SourceState; detail?: string }[] = [];
  readonly faults: SourceFault[] = [];
  readonly #waiters = new Set<() => void>();

  read(read: PlateRead): void {
    this.reads.push(read);
    this.#wake();
  }

  reject(rejection: ReadRejection): void {
    this.rejections.push(rejection);
    this.#wake();
  }

  status(sourceId: string, state: SourceState, detail?: string): void {
    this.statuses.push({ sourceId, state, ...(detail !== undefined ? { detail } : {}) });
    this.#wake();
  }

  fault(fault: SourceFault): void {
    this.faults.push(fault);
    this.#wake();
  }

  rejectedBy(reason: string): ReadRejection[] {
    return this.rejections.filter((r) => r.reason === reason);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Resolves as soon as `cond` holds (checked after every event); rejects after timeoutMs saying what was awaited. */
  waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; have ${this.reads.length} reads, rejections: ${this.rejections
              .map((r) => r.reason)
              .join(', ')}, statuses: ${this.statuses.map((s) => s.state).join(', ')}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

/** The camera's side of a serial line in a test: writes bytes and waits until they are out. */
export async function openSerialWriter(
  path: string,
  baudRate = 9600,
): Promise<{ write(bytes: Buffer | string): Promise<void>; close(): Promise<void> }> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('error', () => undefined);
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) =>
        port.write(bytes, (err) => (err ? reject(err) : port.drain(() => resolve()))),
      ),
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

/**
 * For source tests that check how refused input is counted. The gateway counts it in one place,
 * its pipeline (`zonegate_input_rejected_total{source,reason}`), which every source's rejections
 * reach; this sink hands each rejection to a real Pipeline on `registry` and then to `next`.
 * Reads, statuses and faults go straight to `next`. close() removes the pipeline's journal.
 */
export function countingAsTheGateway(next: SourceSink, registry: Registry): SourceSink & { close(): void } {
  const dir = tempDir('zg-counted-');
  const journal = openJournal({
    file: join(dir.path, 'journal.sqlite'),
    gatewayId: 'gw-source-test',
    clock: systemClock,
    registry,
    log: silentLogger,
  });
  const pipeline = new Pipeline({
    lanes: [],
    passage: { windowMs: 1_000, minReads: 1, holdOffMs: 0 },
    journal,
    clock: systemClock,
    registry,
    log: silentLogger,
    listInfo: () => ({ version: 0, ageSeconds: undefined }),
  });
  return {
    read: (read) => next.read(read),
    reject: (rejection) => {
      pipeline.reject(rejection);
      next.reject(rejection);
    },
    status: (sourceId, state, detail) => next.status?.(sourceId, state, detail),
    fault: (fault) => next.fault?.(fault),
    close: () => {
      pipeline.stop();
      journal.close();
      dir.remove();
    },
  };
}
