import type { BackendReport, VisionBackendChoice } from './backend.js';
import type { FrameRecognition } from './recognise.js';

/** Messages between the main thread (VisionWorker) and the inference thread (worker.ts). */
export interface InitMessage {
  readonly type: 'init';
  readonly modelDir: string;
  readonly backend: VisionBackendChoice;
  readonly wasmThreads?: number;
  readonly maxRegions: number;
  readonly minConfidence: number;
}

export interface FrameMessage {
  readonly type: 'frame';
  readonly id: number;
  readonly width: number;
  readonly height: number;
  /** rgb24 pixels; transferred, not copied. */
  readonly data: ArrayBuffer;
  /** Also return the frame as JPEG (for the status page), encoded off the main thread: always, only when a plate was found, or not. */
  readonly jpeg: 'always' | 'if-plate' | 'never';
}

export interface StatsMessage {
  readonly type: 'stats';
  readonly id: number;
}

export type ToWorker = InitMessage | FrameMessage | StatsMessage;

export interface WorkerStats {
  /** RSS of the whole process, seen from the worker (threads share it). */
  readonly rssBytes: number;
  /** The worker's own V8 heap. */
  readonly heapUsedBytes: number;
  /** Memory held by TF.js tensors (the WASM heap for the wasm back-end). */
  readonly tensorBytes: number;
  readonly frames: number;
}

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly report: BackendReport;
      readonly modelBytes: number;
      readonly loadMs: number;
    }
  | { readonly type: 'init-failed'; readonly error: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly recognition: FrameRecognition;
      readonly jpeg?: Uint8Array;
    }
  | { readonly type: 'frame-failed'; readonly id: number; readonly error: string }
  | ({ readonly type: 'stats'; readonly id: number } & WorkerStats);
