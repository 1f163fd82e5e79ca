import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendReport, VisionBackendChoice } from './backend.js';
import type { RgbFrame } from './image.js';
import { DEFAULT_MODEL_DIR } from './model.js';
import type { FromWorker, ToWorker, WorkerStats } from './protocol.js';
import { DEFAULT_MAX_REGIONS, DEFAULT_MIN_FINDING_CONFIDENCE, type FrameRecognition } from './recognise.js';

export interface VisionWorkerOptions {
  readonly backend?: VisionBackendChoice;
  readonly modelDir?: string;
  /** WASM back-end threads (default: what TF.js picks). */
  readonly wasmThreads?: number;
  readonly maxRegions?: number;
  readonly minConfidence?: number;
  /** How long start-up (back-end + model) may take. */
  readonly startTimeoutMs?: number;
}

export interface VisionResult {
  readonly recognition: FrameRecognition;
  readonly jpeg?: Buffer;
}

/** The inference thread could not start or died; the message says why. */
export class VisionWorkerError extends Error {
  override name = 'VisionWorkerError';
}

/**
 * The main thread's handle on the inference thread. One frame is in flight at a time by design:
 * callers check `busy` and drop frames rather than queue them (see the RTSP source).
 */
export class VisionWorker {
  #worker: Worker;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  #exited: Error | undefined;

  private constructor(
    worker: Worker,
    readonly report: BackendReport,
    readonly modelBytes: number,
    readonly loadMs: number,
  ) {
    this.#worker = worker;
    worker.on('message', (msg: FromWorker) => this.#onMessage(msg));
    const fail = (err: Error): void => {
      this.#exited ??= err;
      for (const p of this.#pending.values()) p.reject(this.#exited);
      this.#pending.clear();
    };
    worker.on('error', (err) => fail(new VisionWorkerError(`vision worker failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new VisionWorkerError(`vision worker exited (code ${code})`)));
  }

  /** Starts the thread, selects the back-end and loads the model; rejects with the reason if any fails. */
  static async start(options: VisionWorkerOptions = {}): Promise<VisionWorker> {
    const worker = spawnWorker();
    const init: ToWorker = {
      type: 'init',
      modelDir: options.modelDir ?? DEFAULT_MODEL_DIR,
      backend: options.backend ?? 'auto',
      ...(options.wasmThreads !== undefined ? { wasmThreads: options.wasmThreads } : {}),
      maxRegions: options.maxRegions ?? DEFAULT_MAX_REGIONS,
      minConfidence: options.minConfidence ?? DEFAULT_MIN_FINDING_CONFIDENCE,
    };
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    try {
      const ready = await new Promise<Extract<FromWorker, { type: 'ready' }>>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new VisionWorkerError(`vision worker did not start within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const done = (): void => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        };
        const onMessage = (msg: FromWorker): void => {
          if (msg.type === 'ready') {
            done();
            resolve(msg);
          } else if (msg.type === 'init-failed') {
            done();
            reject(new VisionWorkerError(msg.error));
          }
        };
        const onError = (err: Error): void => {
          done();
          reject(new VisionWorkerError(`vision worker failed: ${err.message}`));
        };
        const onExit = (code: number): void => {
          done();
          reject(new VisionWorkerError(`vision worker exited (code ${code})`));
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        worker.postMessage(init);
      });
      return new VisionWorker(worker, ready.report, ready.modelBytes, ready.loadMs);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  /** Frames in flight (0 or 1 when callers respect `busy`). */
  get inFlight(): number {
    return this.#pending.size;
  }

  get busy(): boolean {
    return this.#pending.size > 0;
  }

  /** Whether the thread has died; a dead worker must be replaced by a new one. */
  get failed(): Error | undefined {
    return this.#exited;
  }

  /**
   * Recognises one frame. The frame's pixel buffer is transferred to the worker (copied first
   * when it is a view into a larger buffer), so the caller must not use it afterwards.
   */
  recognise(frame: RgbFrame, options: { jpeg?: 'always' | 'if-plate' | 'never' } = {}): Promise<VisionResult> {
    const d = frame.data;
    const data =
      d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer
        ? d.buffer
        : d.slice().buffer;
    const id = this.#nextId++;
    return this.#request<VisionResult>(
      id,
      { type: 'frame', id, width: frame.width, height: frame.height, data, jpeg: options.jpeg ?? 'never' },
      [data],
    );
  }

  /** Memory as the worker sees it: process RSS, its own heap, tensor memory. */
  stats(): Promise<WorkerStats> {
    const id = this.#nextId++;
    return this.#request<WorkerStats>(id, { type: 'stats', id });
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }

  #request<T>(id: number, msg: ToWorker, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: never) => void, reject });
      this.#worker.postMessage(msg, transfer);
    });
  }

  #onMessage(msg: FromWorker): void {
    if (msg.type === 'ready' || msg.type === 'init-failed') return;
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (msg.type === 'result')
      p.resolve({
        recognition: msg.recognition,
        ...(msg.jpeg ? { jpeg: Buffer.from(msg.jpeg.buffer, msg.jpeg.byteOffset, msg.jpeg.byteLength) } : {}),
      } as never);
    else if (msg.type === 'frame-failed') p.reject(new Error(msg.error));
    else {
      const { type: _t, id: _i, ...stats } = msg;
      p.resolve(stats as never);
    }
  }
}

/**
 * Built code runs worker.js directly. From the TypeScript sources (tsx: the CLI in development,
 * the tests) the worker is started through tsx's loader, which a worker does not inherit.
 */
function spawnWorker(): Worker {
  const here = import.meta.url;
  if (!/\.ts$/.test(new URL(here).pathname)) return new Worker(new URL('./worker.js', here));
  // The ESM build of tsx's API (require.resolve finds the CommonJS one next to it).
  const tsxApi = pathToFileURL(
    createRequire(here)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const entry = new URL('./worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)}))`;
  return new Worker(boot, { eval: true });
}
