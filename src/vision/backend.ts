import * as tf from '@tensorflow/tfjs';

/**
 * TF.js back-end selection, once at start-up, reported so a technician can see what the
 * gateway runs on. `tensorflow` is @tensorflow/tfjs-node (native libtensorflow), an optional
 * dependency that does not install where its library cannot be downloaded; `wasm` is
 * @tensorflow/tfjs-backend-wasm (SIMD, multi-threaded where the platform allows), which always
 * installs; `cpu` is plain JavaScript, the last resort (about ten times slower).
 */
export type VisionBackendName = 'tensorflow' | 'wasm' | 'cpu';
export type VisionBackendChoice = 'auto' | VisionBackendName;

export interface BackendAttempt {
  readonly backend: VisionBackendName;
  readonly ok: boolean;
  /** Why it could not be used (module missing, initialisation failed). */
  readonly error?: string;
}

export interface BackendReport {
  readonly requested: VisionBackendChoice;
  readonly backend: VisionBackendName;
  readonly attempts: readonly BackendAttempt[];
  /** WASM only: the threads it runs with and whether SIMD is on. */
  readonly wasm?: { readonly threads: number; readonly simd: boolean };
  readonly tfjsVersion: string;
}

const ORDER: readonly VisionBackendName[] = ['tensorflow', 'wasm', 'cpu'];

/**
 * Makes the first usable back-end active: the requested one, or with 'auto' the fastest that
 * works here. Throws when the requested one cannot start, naming why: a config that asks for
 * tfjs-node on a machine without it must not run silently ten times slower.
 */
export async function selectBackend(
  requested: VisionBackendChoice,
  options: { wasmThreads?: number } = {},
): Promise<BackendReport> {
  // Production mode: no debug checks, and no console hints from TF.js on a user's stdout.
  tf.enableProdMode();
  const attempts: BackendAttempt[] = [];
  const candidates = requested === 'auto' ? ORDER : [requested];
  for (const backend of candidates) {
    try {
      await activate(backend, options);
      attempts.push({ backend, ok: true });
      const report: BackendReport = {
        requested,
        backend,
        attempts,
        tfjsVersion: tf.version.tfjs,
        ...(backend === 'wasm' ? { wasm: await wasmInfo() } : {}),
      };
      return report;
    } catch (err) {
      attempts.push({ backend, ok: false, error: err instanceof Error ? err.message.split('\n')[0]! : String(err) });
    }
  }
  const why = attempts.map((a) => `${a.backend}: ${a.error ?? 'failed'}`).join('; ');
  throw new Error(`no TF.js back-end could start (${why})`);
}

async function activate(backend: VisionBackendName, options: { wasmThreads?: number }): Promise<void> {
  if (backend === 'tensorflow') {
    // The package name is held in a variable so that TypeScript and bundlers do not require it:
    // it is an optional dependency and usually absent.
    const name = '@tensorflow/tfjs-node';
    await import(name);
  } else if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (options.wasmThreads !== undefined) wasm.setThreadsCount(options.wasmThreads);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`back-end ${backend} did not initialise`);
  await tf.ready();
  // A tiny op proves the kernels run, not only that the module loaded.
  const probe = tf.tidy(() =>
    tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same').sum(),
  );
  const v = (await probe.data())[0];
  probe.dispose();
  if (v !== 100) throw new Error(`back-end ${backend} computed a wrong result (${String(v)})`);
}

async function wasmInfo(): Promise<{ threads: number; simd: boolean }> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  return { threads: wasm.getThreadsCount(), simd };
}
