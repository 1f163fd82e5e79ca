import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';

/** The plate reader shipped with zonegate (TF.js layers format). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/plate-reader', import.meta.url));

/** The size limit the model must keep to: it is loaded on Raspberry-Pi-class gateways. */
export const MODEL_SIZE_LIMIT_BYTES = 5 * 1024 * 1024;

const metadataSchema = z.object({
  zonegate: z.object({
    input: z.object({
      height: z.number().int().positive(),
      width: z.number().int().positive(),
      channels: z.literal(1),
    }),
    alphabet: z.string().min(1),
    blank: z.literal(0),
  }),
});

const modelJsonSchema = z.object({
  format: z.literal('layers-model'),
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z
    .array(
      z.object({
        paths: z.array(z.string()).min(1),
        weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()), dtype: z.literal('float32') })),
      }),
    )
    .min(1),
  userDefinedMetadata: metadataSchema,
});

export interface PlateReaderModel {
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly columns: number;
  readonly classes: number;
  /** model.json plus weight files, in bytes. */
  readonly sizeBytes: number;
  /**
   * Runs the network on greyscale crops (inputHeight x inputWidth bytes each) and returns their
   * column probabilities, `columns` x `classes` per crop, one after another.
   */
  predict(crops: readonly Uint8Array[]): Promise<Float32Array>;
  dispose(): void;
}

/** A model directory that cannot be used, with what was wrong. */
export class ModelError extends Error {
  override name = 'ModelError';
}

/**
 * Loads the reader from a TF.js layers directory (model.json + shards) on the active back-end.
 * The file is read with fs: tfjs without tfjs-node has no file:// loader.
 */
export async function loadPlateReader(dir: string = DEFAULT_MODEL_DIR): Promise<PlateReaderModel> {
  const jsonPath = join(dir, 'model.json');
  let parsed: z.infer<typeof modelJsonSchema>;
  let jsonBytes: number;
  try {
    const text = readFileSync(jsonPath, 'utf8');
    jsonBytes = Buffer.byteLength(text);
    parsed = modelJsonSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new ModelError(
      `${jsonPath}: not a zonegate plate reader (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    );
  }
  const weightSpecs = parsed.weightsManifest.flatMap((g) => g.weights);
  const buffers = parsed.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const weightData = Buffer.concat(buffers);
  const sizeBytes = jsonBytes + buffers.reduce((n, b) => n + b.length, 0);
  const meta = parsed.userDefinedMetadata.zonegate;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: parsed.modelTopology,
      weightSpecs,
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }),
  );
  const outShape = model.outputs[0]!.shape;
  const columns = outShape[1]!;
  const classes = outShape[2]!;
  if (classes !== meta.alphabet.length + 1)
    throw new ModelError(`${jsonPath}: ${classes} output classes for an alphabet of ${meta.alphabet.length}`);
  const { height, width } = meta.input;
  const pixels = height * width;
  return {
    inputHeight: height,
    inputWidth: width,
    columns,
    classes,
    sizeBytes,
    async predict(crops) {
      if (crops.length === 0) return new Float32Array(0);
      const input = new Float32Array(crops.length * pixels);
      crops.forEach((crop, k) => normaliseCrop(crop, input, k * pixels));
      const out = tf.tidy(() => model.predict(tf.tensor4d(input, [crops.length, height, width, 1])) as tf.Tensor);
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
    dispose() {
      model.dispose();
    },
  };
}

/** Per-crop standardisation, as in training: exposure and contrast do not change the input. */
export function normaliseCrop(crop: Uint8Array, out: Float32Array, offset: number): void {
  const n = crop.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += crop[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (crop[i]! - mean) ** 2;
  const std = Math.sqrt(sq / (n - 1));
  const scale = 1 / (std + 8);
  for (let i = 0; i < n; i++) out[offset + i] = (crop[i]! - mean) * scale;
}

export function modelSizeBytes(dir: string = DEFAULT_MODEL_DIR): number {
  const parsed = modelJsonSchema.parse(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')));
  return (
    statSync(join(dir, 'model.json')).size +
    parsed.weightsManifest.flatMap((g) => g.paths).reduce((n, p) => n + statSync(join(dir, p)).size, 0)
  );
}
