/**
 * The gateway's own plate reader for plain IP cameras: RTSP in, PlateRead out.
 *
 * Entry points for the gateway:
 *  - createRtspSource(config, { sink, clock, log, registry }) → RtspSource (Lifecycle, lastFrame(), health())
 *  - VisionWorker.start(options) → the inference thread (back-end report in `.report`)
 *  - recognizeFile / FrameRecogniser for one-off recognition (CLI, evaluation)
 */
export { createRtspSource, redactUrl } from './rtsp-source.js';
export type { RtspSource, RtspSourceDeps, RtspHealth, LastFrame, StreamState } from './rtsp-source.js';
export { VisionWorker, VisionWorkerError } from './vision-worker.js';
export type { VisionWorkerOptions, VisionResult } from './vision-worker.js';
export type { BackendReport, BackendAttempt, VisionBackendName, VisionBackendChoice } from './backend.js';
export type { WorkerStats } from './protocol.js';
export { FrameRecogniser } from './recognise.js';
export type { PlateFinding, FrameRecognition, RecogniserOptions } from './recognise.js';
export { PlateVote } from './vote.js';
export type { VotedRead, VoteSettings } from './vote.js';
export { DEFAULT_MODEL_DIR, MODEL_SIZE_LIMIT_BYTES, modelSizeBytes, ModelError } from './model.js';
export { readFrames, FrameInputError, ffmpegArgs } from './ffmpeg.js';
export type { RgbFrame, PlateBox, Point } from './image.js';
