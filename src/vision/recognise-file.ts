import { formatDutch } from '../plate/sidecodes.js';
import { readFrames } from './ffmpeg.js';
import type { PlateBox } from './image.js';
import type { FrameRecognition } from './recognise.js';
import type { VisionWorker } from './vision-worker.js';
import { PlateVote } from './vote.js';

/** One plate in a file: for a video, the vote of every frame it was seen in. */
export interface FilePlate {
  readonly text: string;
  readonly display: string;
  readonly country: 'NL';
  readonly confidence: number;
  readonly charConfidences: readonly number[];
  readonly box: PlateBox;
  /** Frames the plate was found in, and how many of them read exactly this text. */
  readonly frames: number;
  readonly agreeing: number;
  /** First and last frame index. */
  readonly firstFrame: number;
  readonly lastFrame: number;
}

export interface FileRecognition {
  readonly file: string;
  readonly frames: number;
  readonly plates: readonly FilePlate[];
  readonly perFrame: readonly FrameRecognition[];
}

/**
 * Decodes an image or a video with ffmpeg and reads every frame (or `fps` frames per second)
 * in the vision worker; the frames of a video vote per plate as they do on a live stream.
 */
export async function recogniseFile(
  worker: VisionWorker,
  file: string,
  options: { fps?: number; maxWidth?: number } = {},
): Promise<FileRecognition> {
  const perFrame: FrameRecognition[] = [];
  // Frame index as the vote's clock; a plate missing for more than 3 frames is a new track.
  const vote = new PlateVote({ minFrames: Number.MAX_SAFE_INTEGER, lostAfterMs: 3 });
  const frames = await readFrames(
    file,
    { ...(options.fps !== undefined ? { fps: options.fps } : {}), maxWidth: options.maxWidth ?? 1280 },
    async (frame, index) => {
      const { recognition } = await worker.recognise(frame);
      perFrame[index] = recognition;
      vote.push(recognition.plates, index);
    },
  );
  const plates = vote.expire(Number.MAX_SAFE_INTEGER).map((r) => ({
    text: r.text,
    display: formatDutch(r.text),
    country: 'NL' as const,
    confidence: r.confidence,
    charConfidences: r.charConfidences,
    box: r.box,
    frames: r.frames,
    agreeing: r.agreeing,
    firstFrame: r.firstSeenAt,
    lastFrame: r.lastSeenAt,
  }));
  return { file, frames, plates, perFrame };
}
