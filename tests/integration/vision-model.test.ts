import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/vision/backend.js';
import { DEFAULT_MODEL_DIR, loadPlateReader, MODEL_SIZE_LIMIT_BYTES, modelSizeBytes } from '../../src/vision/model.js';
import { VisionWorker } from '../../src/vision/vision-worker.js';

const tfjsNodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('the shipped plate reader', () => {
  it('loads and stays within the 5 MB a gateway can afford', async () => {
    expect(modelSizeBytes()).toBeLessThanOrEqual(MODEL_SIZE_LIMIT_BYTES);
    await selectBackend('wasm');
    const model = await loadPlateReader();
    expect([model.inputHeight, model.inputWidth, model.classes]).toEqual([32, 128, 38]);
    expect(model.sizeBytes).toBe(modelSizeBytes());
    model.dispose();
  });

  it('computes in TF.js what the trained network computed in PyTorch', async () => {
    await selectBackend('wasm');
    const model = await loadPlateReader();
    const check = JSON.parse(readFileSync(join(DEFAULT_MODEL_DIR, 'check.json'), 'utf8')) as {
      crops: number[][];
      probs: number[][];
    };
    const out = await model.predict(check.crops.map((c) => Uint8Array.from(c)));
    const want = check.probs.flat();
    expect(out.length).toBe(want.length);
    let maxDiff = 0;
    want.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - out[i]!))));
    expect(maxDiff).toBeLessThan(1e-3);
    model.dispose();
  });
});

describe('the inference worker', () => {
  let worker: VisionWorker;
  beforeAll(async () => {
    worker = await VisionWorker.start({ backend: 'auto' });
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it('takes the fastest back-end that starts here and reports what it tried', () => {
    const { report } = worker;
    expect(report.requested).toBe('auto');
    expect(report.attempts[0]!.backend).toBe('tensorflow');
    if (tfjsNodeInstalled) expect(report.backend).toBe('tensorflow');
    else {
      expect(report.attempts[0]).toMatchObject({ ok: false });
      expect(report.attempts[0]!.error).toMatch(/tfjs-node/);
      expect(report.backend).toBe('wasm');
      expect(report.wasm?.threads).toBeGreaterThanOrEqual(1);
    }
    expect(worker.modelBytes).toBe(modelSizeBytes());
  });

  it('refuses a frame of the wrong size with the reason and keeps reading the next', async () => {
    await expect(worker.recognise({ width: 640, height: 480, data: new Uint8Array(1000) })).rejects.toThrow(
      /1000 bytes, expected 921600 for 640x480 rgb24/,
    );
    const grey = new Uint8Array(640 * 480 * 3).fill(90);
    const { recognition } = await worker.recognise({ width: 640, height: 480, data: grey });
    expect(recognition.plates).toEqual([]);
  });

  it('runs on the configured back-end or stops start-up saying why it cannot', async () => {
    if (tfjsNodeInstalled) {
      const native = await VisionWorker.start({ backend: 'tensorflow' });
      expect(native.report.backend).toBe('tensorflow');
      await native.stop();
    } else await expect(VisionWorker.start({ backend: 'tensorflow' })).rejects.toThrow(/tensorflow: .*tfjs-node/);
  });
});
