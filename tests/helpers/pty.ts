import { join } from 'node:path';
import { PtyPair } from '../../src/sources/pty-pair.js';
import { tempDir } from './tmp.js';

export interface PtyHelper {
  /** One end (the camera writes here). */
  readonly a: string;
  /** The other end (the gateway reads here). */
  readonly b: string;
  /** Unplugs: socat closes both pty masters and removes the links. */
  unplug(): Promise<void>;
  /** Plugs back in: a new pty pair under the same link names. */
  replug(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A socat pseudo-terminal pair (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`) in a
 * fresh directory, started and waited for until both links exist. Tests talk serial through it
 * with the real serialport package, as the gateway does.
 */
export async function startPtyPair(): Promise<PtyHelper> {
  const dir = tempDir('zg-pty-');
  const pair = new PtyPair(join(dir.path, 'A'), join(dir.path, 'B'));
  await pair.start();
  return {
    a: pair.cameraEnd,
    b: pair.gatewayEnd,
    unplug: () => pair.stop(),
    replug: () => pair.start(),
    dispose: async () => {
      await pair.stop();
      dir.remove();
    },
  };
}
