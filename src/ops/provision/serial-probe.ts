import { displayPlate } from '../../plate/key.js';
import type { Clock } from '../../shared/clock.js';
import { DialectCatalog, defaultDialectDirs } from '../../sources/dialect/catalog.js';
import { COMMON_BAUD_RATES, probeSerial } from '../../sources/probe.js';
import type { SerialProbe } from './provision.js';

/**
 * Provisioning's serial step through the camera-input module's probe (`zonegate probe serial`):
 * every known speed (or the given one) and every known dialect (or the given one), stopping at
 * the first speed where one dialect decodes the line and the others refuse it.
 */
export function cameraSerialProbe(deps: { clock: Clock; dialectDirs?: readonly string[] }): SerialProbe {
  return async (device, options) => {
    const catalog = new DialectCatalog(deps.dialectDirs ?? defaultDialectDirs());
    const dialects = (options.dialect !== undefined ? [options.dialect] : catalog.names()).map((n) => catalog.codec(n));
    const result = await probeSerial({
      device,
      baudRates: options.baudRate !== undefined ? [options.baudRate] : COMMON_BAUD_RATES,
      dialects,
      listenMs: options.seconds * 1000,
      clock: deps.clock,
    });
    const m = result.match;
    if (!m)
      return {
        ok: false,
        plates: [],
        detail: `nothing recognised on ${device} (${result.attempts.map((a) => `${a.baudRate}: ${a.bytes} bytes`).join(', ')}): ${result.advice ?? ''}`,
      };
    const s = m.score;
    const first = s.firstRead;
    return {
      ok: true,
      baudRate: m.baudRate,
      dialect: m.dialect,
      plates: first ? [displayPlate({ text: first.text, country: first.country })] : [],
      detail:
        `${m.dialect} at ${m.baudRate} baud: ${s.reads} reads, ${s.heartbeats} keep-alives, ${s.rejections} refused` +
        (first
          ? `; first read ${displayPlate({ text: first.text, country: first.country })} (confidence ${first.confidence})`
          : ''),
    };
  };
}
