/**
 * The inference thread: loads TF.js, picks the back-end, loads the reader, and then turns frames
 * into plate findings one at a time. Runs in a worker_threads Worker so that a slow frame never
 * holds up the main thread, where reads become bollard decisions.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { selectBackend } from './backend.js';
import { loadPlateReader } from './model.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { FrameRecogniser } from './recognise.js';

const port = parentPort;
if (!port) throw new Error('src/vision/worker.ts runs only as a worker thread');

let recogniser: FrameRecogniser | undefined;
let frames = 0;

const send = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

port.on('message', (msg: ToWorker) => {
  void handle(msg);
});

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      try {
        const t0 = performance.now();
        const report = await selectBackend(
          msg.backend,
          msg.wasmThreads !== undefined ? { wasmThreads: msg.wasmThreads } : {},
        );
        const model = await loadPlateReader(msg.modelDir);
        recogniser = new FrameRecogniser(model, { maxRegions: msg.maxRegions, minConfidence: msg.minConfidence });
        // One warm-up pass so the first real frame does not pay for kernel set-up.
        await model.predict([new Uint8Array(model.inputWidth * model.inputHeight)]);
        send({ type: 'ready', report, modelBytes: model.sizeBytes, loadMs: performance.now() - t0 });
      } catch (err) {
        send({ type: 'init-failed', error: err instanceof Error ? err.message : String(err) });
      }
      return;
    }
    case 'frame': {
      if (!recogniser) {
        send({ type: 'frame-failed', id: msg.id, error: 'worker not initialised' });
        return;
      }
      try {
        const expected = msg.width * msg.height * 3;
        if (msg.data.byteLength !== expected)
          throw new Error(
            `frame of ${msg.data.byteLength} bytes, expected ${expected} for ${msg.width}x${msg.height} rgb24`,
          );
        const frame = { width: msg.width, height: msg.height, data: new Uint8Array(msg.data) };
        const recognition = await recogniser.recognise(frame);
        frames++;
        if (msg.jpeg === 'always' || (msg.jpeg === 'if-plate' && recognition.plates.length > 0)) {
          const jpegBytes = encodeJpeg(frame);
          send({ type: 'result', id: msg.id, recognition, jpeg: jpegBytes }, [jpegBytes.buffer as ArrayBuffer]);
        } else send({ type: 'result', id: msg.id, recognition });
      } catch (err) {
        send({ type: 'frame-failed', id: msg.id, error: err instanceof Error ? err.message : String(err) });
      }
      return;
    }
    case 'stats': {
      send({
        type: 'stats',
        id: msg.id,
        rssBytes: process.memoryUsage.rss(),
        heapUsedBytes: getHeapStatistics().used_heap_size,
        tensorBytes: tf.memory().numBytes,
        frames,
      });
      return;
    }
  }
}

function encodeJpeg(frame: { width: number; height: number; data: Uint8Array }): Uint8Array {
  const rgba = new Uint8Array(frame.width * frame.height * 4);
  for (let i = 0, o = 0; i < frame.data.length; i += 3, o += 4) {
    rgba[o] = frame.data[i]!;
    rgba[o + 1] = frame.data[i + 1]!;
    rgba[o + 2] = frame.data[i + 2]!;
    rgba[o + 3] = 255;
  }
  const out = jpeg.encode({ data: rgba, width: frame.width, height: frame.height }, 70).data;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
}
