import type { BollardEvent } from '../bollard/types.js';
import type { PipelineEvent } from '../gateway/pipeline.js';
import { displayPlate } from '../plate/key.js';

/**
 * One line per read, decision and bollard movement, for a technician watching the demo or a
 * gateway in the foreground. Colour only on a terminal.
 */
export function createLiveView(out: NodeJS.WriteStream = process.stdout): {
  pipeline(event: PipelineEvent): void;
  bollardEvent(event: BollardEvent): void;
  note(text: string): void;
} {
  const tty = out.isTTY === true;
  const paint = (code: number, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
  const colour: Record<string, number> = { open: 32, deny: 31, record: 33, manual: 35 };
  const time = (at: number): string => new Date(at).toISOString().slice(11, 23);
  const line = (at: number, text: string): void => void out.write(`${paint(90, time(at))}  ${text}\n`);
  return {
    pipeline(e) {
      switch (e.type) {
        case 'read':
          line(
            e.read.receivedAt,
            `${paint(90, 'read    ')} ${e.read.lane}  ${displayPlate(e.read)}  conf ${e.read.confidence}`,
          );
          return;
        case 'rejection':
          line(
            e.rejection.at,
            `${paint(90, 'rejected')} ${e.rejection.sourceId}  ${e.rejection.reason}: ${e.rejection.detail}`,
          );
          return;
        case 'decision': {
          const d = e.decision;
          const plate = displayPlate({ text: d.plate, country: d.country });
          const took = e.latencyUs !== undefined ? `  ${(e.latencyUs / 1000).toFixed(2)} ms` : '';
          const refused = e.bollard && !e.bollard.accepted ? paint(31, `  bollard refused: ${e.bollard.reason}`) : '';
          line(
            Date.now(),
            `${paint(colour[d.outcome] ?? 0, d.outcome.toUpperCase().padEnd(8))} ${e.passage.lane}  ${plate.padEnd(10)} ${d.reason}${d.grantId ? ` (grant ${d.grantId})` : ''}${d.rule ? ` (rule ${d.rule})` : ''}${d.corrected ? ` [read ${e.passage.text}]` : ''}  #${e.seq}${took}${refused}`,
          );
          return;
        }
      }
    },
    bollardEvent(e) {
      const what =
        e.type === 'transition'
          ? `${e.from ?? '?'} → ${e.to ?? '?'}  (${e.reason}${e.command ? `, ${e.command}` : ''})`
          : e.type === 'fault'
            ? paint(31, `FAULT ${e.fault ?? e.reason}: ${e.detail ?? ''}`)
            : e.type === 'vehicle'
              ? `vehicle ${e.reason}${e.detail ? `: ${e.detail}` : ''}`
              : `${e.type} ${e.reason}${e.detail ? `: ${e.detail}` : ''}`;
      line(e.at, `${paint(36, 'bollard ')} ${e.lane}  ${what}`);
    },
    note(text) {
      line(Date.now(), paint(1, text));
    },
  };
}
