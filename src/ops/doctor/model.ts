import type { SourceConfig } from '../../config/schema.js';
import { selectBackend } from '../../vision/backend.js';
import { DEFAULT_MODEL_DIR, loadPlateReader } from '../../vision/model.js';
import { result, type CheckResult } from './types.js';

/**
 * The plate-reading model of every RTSP lane loads and runs one forward pass, as the vision
 * worker will at start-up (the worker fails its lane if it cannot).
 */
export async function checkModels(input: { sources: readonly SourceConfig[] }): Promise<CheckResult[]> {
  const rtsp = input.sources.filter((s) => s.kind === 'rtsp');
  if (rtsp.length === 0)
    return [result('model', 'plate-reading model', 'skip', 'no RTSP camera: the cameras read plates themselves')];
  const dirs = [...new Set(rtsp.map((s) => s.vision?.model ?? DEFAULT_MODEL_DIR))];
  const out: CheckResult[] = [];
  for (const dir of dirs) {
    let backend: { backend: string } = { backend: '?' };
    const users = rtsp.filter((s) => (s.vision?.model ?? DEFAULT_MODEL_DIR) === dir).map((s) => s.id);
    const id = `model:${users.join(',')}`;
    const title = `plate-reading model for ${users.join(', ')}`;
    const t0 = performance.now();
    try {
      // The back-end the vision worker would take for the first of these sources.
      const first = rtsp.find((s) => users.includes(s.id))!;
      backend = await selectBackend(first.vision?.backend ?? 'auto', {
        ...(first.vision?.wasmThreads !== undefined ? { wasmThreads: first.vision.wasmThreads } : {}),
      });
      const model = await loadPlateReader(dir);
      try {
        const crop = new Uint8Array(model.inputHeight * model.inputWidth).fill(128);
        const probs = await model.predict([crop]);
        if (probs.length !== model.columns * model.classes) throw new Error(`forward pass gave ${probs.length} values`);
      } finally {
        model.dispose();
      }
      out.push(
        result(
          id,
          title,
          'pass',
          `${dir}: loaded and ran on the ${backend.backend} back-end in ${Math.round(performance.now() - t0)} ms`,
        ),
      );
    } catch (err) {
      out.push(
        result(
          id,
          title,
          'fail',
          `${dir}${backend.backend === '?' ? '' : ` (${backend.backend})`}: ${err instanceof Error ? err.message : String(err)}`,
          'reinstall the release (scripts/install) or point sources[].vision.model at a valid TF.js plate reader directory',
        ),
      );
    }
  }
  return out;
}
