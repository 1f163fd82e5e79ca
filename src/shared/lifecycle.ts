/**
 * One module, one lifecycle: `start()` acquires, `stop()` releases. A failed start must leave
 * nothing running; `stop()` is safe to call twice.
 */
export interface Lifecycle {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts modules in order; if one fails, stops the ones already started (in reverse) and rethrows. */
export async function startAll(modules: readonly Lifecycle[]): Promise<() => Promise<void>> {
  const started: Lifecycle[] = [];
  const stopAll = async (): Promise<void> => {
    for (const m of started.reverse()) {
      try {
        await m.stop();
      } catch {
        // Stopping continues so that the remaining modules release their resources.
      }
    }
    started.length = 0;
  };
  for (const m of modules) {
    try {
      await m.start();
      started.push(m);
    } catch (err) {
      await stopAll();
      throw err;
    }
  }
  return stopAll;
}
