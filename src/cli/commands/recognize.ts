import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { counter } from '../../shared/metrics.js';
import { FrameInputError } from '../../vision/ffmpeg.js';
import { recogniseFile } from '../../vision/recognise-file.js';
import { VisionWorker } from '../../vision/vision-worker.js';
import { EXIT_USAGE, UsageError } from '../main.js';

interface RecognizeOptions {
  readonly json?: boolean;
  readonly backend: string;
  readonly model?: string;
  readonly fps?: string;
  readonly frames?: boolean;
}

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/**
 * `zonegate recognize FILE…`: the gateway's own plate reader on still images and video files,
 * for technicians checking a camera's view and for evaluation. Every input is decoded by ffmpeg;
 * one that is not an image or video is reported (named, with ffmpeg's reason), counted, and
 * the others are still read; the exit code is then 2.
 */
export function registerRecognize(program: Command): void {
  program
    .command('recognize')
    .description('read plates in images or video files with the built-in reader (RTSP cameras use the same reader)')
    .argument('<files...>', 'images (JPEG, PNG …) or videos ffmpeg can decode')
    .option('--json', 'one JSON object per input on stdout')
    .option('--backend <name>', `TF.js back-end: ${BACKENDS.join(', ')}`, 'auto')
    .option('--model <dir>', 'a TF.js plate reader directory (default: models/plate-reader)')
    .option('--fps <n>', 'read this many frames per second of a video (default: every frame)')
    .option('--frames', 'also list the plates found in each frame')
    .action(async (files: string[], opts: RecognizeOptions) => {
      if (!(BACKENDS as readonly string[]).includes(opts.backend))
        throw new UsageError(`--backend: "${opts.backend}" is not one of ${BACKENDS.join(', ')}`);
      const fps = opts.fps === undefined ? undefined : Number(opts.fps);
      if (fps !== undefined && !(fps > 0 && fps <= 60))
        throw new UsageError(`--fps: "${opts.fps}" is not a rate between 0 and 60`);
      const registry = new Registry();
      const rejected = counter(registry, 'zonegate_recognize_inputs_rejected_total', 'Inputs that could not be read', [
        'reason',
      ]);
      const worker = await VisionWorker.start({
        backend: opts.backend as (typeof BACKENDS)[number],
        ...(opts.model ? { modelDir: opts.model } : {}),
      });
      const out = (line: string): void => void process.stdout.write(`${line}\n`);
      const failures = new Map<string, number>();
      try {
        if (!opts.json)
          out(
            `reader: ${worker.report.backend} back-end (tried ${worker.report.attempts.map((a) => `${a.backend}${a.ok ? '' : ' ✗'}`).join(', ')})`,
          );
        for (const file of files) {
          try {
            const r = await recogniseFile(worker, file, fps !== undefined ? { fps } : {});
            if (opts.json) {
              out(
                JSON.stringify({
                  file,
                  frames: r.frames,
                  backend: worker.report.backend,
                  plates: r.plates,
                  ...(opts.frames
                    ? {
                        perFrame: r.perFrame.map((f, i) => ({
                          frame: i,
                          ms: Math.round((f.localiseMs + f.readMs) * 10) / 10,
                          plates: f.plates.map((p) => ({
                            text: p.text,
                            display: p.display,
                            confidence: p.confidence,
                            charConfidences: p.charConfidences,
                            box: p.box,
                          })),
                        })),
                      }
                    : {}),
                }),
              );
            } else if (r.plates.length === 0)
              out(`${file}: no plate found (${r.frames} frame${r.frames === 1 ? '' : 's'})`);
            else
              for (const p of r.plates)
                out(
                  `${file}: ${p.display} ${p.country} confidence ${p.confidence} at ${p.box.x},${p.box.y} ${p.box.w}x${p.box.h}` +
                    (r.frames > 1 ? ` (${p.agreeing}/${p.frames} frames agree)` : ''),
                );
          } catch (err) {
            if (!(err instanceof FrameInputError)) throw err;
            const reason = 'not-an-image';
            rejected.inc({ reason });
            failures.set(reason, (failures.get(reason) ?? 0) + 1);
            process.stderr.write(`zonegate: ${err.message}\n`);
            if (opts.json) out(JSON.stringify({ file, error: { reason, detail: err.reason } }));
          }
        }
      } finally {
        await worker.stop();
      }
      if (failures.size > 0) {
        const n = [...failures.values()].reduce((a, b) => a + b, 0);
        process.stderr.write(
          `zonegate: ${n} of ${files.length} input${files.length === 1 ? '' : 's'} unreadable (${[...failures].map(([r, c]) => `${r}: ${c}`).join(', ')})\n`,
        );
        process.exitCode = EXIT_USAGE;
      }
    });
}
