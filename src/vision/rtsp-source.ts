import type { ChildProcess } from 'node:child_process';
import type { Registry } from 'prom-client';
import {
  rtspOptionsSchema,
  visionOptionsSchema,
  type RtspOptions,
  type SourceConfig,
  type VisionOptions,
} from '../config/schema.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { counter, gauge, histogram } from '../shared/metrics.js';
import type { SourceSink } from '../sources/plate-read.js';
import type { BackendReport } from './backend.js';
import { runFfmpegFrames } from './ffmpeg.js';
import type { PlateBox, RgbFrame } from './image.js';
import type { PlateFinding } from './recognise.js';
import { VisionWorker, type VisionWorkerOptions } from './vision-worker.js';
import { PlateVote, type VotedRead } from './vote.js';

export interface RtspSourceDeps {
  readonly sink: SourceSink;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  /** ffmpeg binary (default: `ffmpeg` on PATH). */
  readonly ffmpegPath?: string;
}

/** The last frame the reader looked at, for the status page. */
export interface LastFrame {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  /** Box of the best plate found in this frame, if any. */
  readonly box?: PlateBox;
  /** Plates found in it (display text and confidence). */
  readonly plates: readonly { readonly display: string; readonly confidence: number; readonly box: PlateBox }[];
  /** Gateway clock when the frame arrived (ms epoch). */
  readonly at: number;
}

export type StreamState = 'starting' | 'connecting' | 'streaming' | 'reconnecting' | 'stopped';

/** What the status page and `zonegate status` show about one camera stream. */
export interface RtspHealth {
  readonly sourceId: string;
  /** URL with any password replaced by ***. */
  readonly url: string;
  readonly state: StreamState;
  readonly backend: BackendReport | undefined;
  readonly modelBytes: number | undefined;
  readonly frameSize: { readonly width: number; readonly height: number } | undefined;
  readonly framesIn: number;
  readonly framesRead: number;
  /** Frames skipped because the reader was still busy with an earlier one. */
  readonly framesDropped: number;
  readonly framesFailed: number;
  readonly reads: number;
  readonly reconnects: number;
  readonly lastFrameAt: number | undefined;
  readonly lastReadAt: number | undefined;
  /** Median time to localise and read one frame over the last 100 frames (ms). */
  readonly inferenceP50Ms: number | undefined;
  readonly lastError: string | undefined;
}

export interface RtspSource extends Lifecycle {
  /** Latest frame with the plate box, JPEG-encoded off the main thread; undefined before the first. */
  lastFrame(): LastFrame | undefined;
  health(): RtspHealth;
}

/** Redacts the password of rtsp://user:password@host/… for logs and status. */
export function redactUrl(url: string): string {
  return url.replace(/^(rtsps?:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/**
 * A plain IP camera as a plate source: ffmpeg pulls the stream (at `fps`, cut to `roi`), the
 * vision worker localises and reads plates off the main thread, several frames of one passage
 * vote, and the voted read goes to the sink like a serial camera's read.
 *
 * Never blocks decisions: one frame is in the worker at a time, and of the frames that arrive
 * meanwhile only the newest is kept (the rest are counted as dropped). Reconnects with
 * exponential back-off when ffmpeg exits or no frame arrives for `stallTimeoutMs`.
 */
export function createRtspSource(config: SourceConfig, deps: RtspSourceDeps): RtspSource {
  if (config.kind !== 'rtsp' || !config.url)
    throw new Error(`source ${config.id}: createRtspSource needs kind rtsp and a url`);
  const url = config.url;
  const rtsp: RtspOptions = rtspOptionsSchema.parse(config.rtsp ?? {});
  const vision: VisionOptions = visionOptionsSchema.parse(config.vision ?? {});
  const { sink, clock, registry } = deps;
  const log = deps.log.child({ source: config.id });
  const sourceId = config.id;
  const labels = { source: sourceId };

  const m = {
    frames: counter(registry, 'zonegate_rtsp_frames_total', 'Frames from RTSP streams, by outcome', [
      'source',
      'outcome',
    ]),
    reconnects: counter(registry, 'zonegate_rtsp_reconnects_total', 'RTSP stream reconnects, by reason', [
      'source',
      'reason',
    ]),
    connected: gauge(registry, 'zonegate_rtsp_connected', '1 while frames arrive from the stream', ['source']),
    inference: histogram(
      registry,
      'zonegate_vision_frame_seconds',
      'Time to localise and read one frame in the vision worker',
      [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 1],
      ['source'],
    ),
    plates: counter(registry, 'zonegate_vision_reads_total', 'Voted plate reads sent to the pipeline', [
      'source',
      'trigger',
    ]),
  };

  let state: StreamState = 'stopped';
  let worker: VisionWorker | undefined;
  let child: ChildProcess | undefined;
  let reconnectTimer: TimerHandle | undefined;
  let stallTimer: TimerHandle | undefined;
  let voteTimer: TimerHandle | undefined;
  let backoff = rtsp.reconnectMinMs;
  let pending: { frame: RgbFrame; at: number } | undefined;
  let last: LastFrame | undefined;
  let lastSnapshotAt = -Infinity;
  let frameSize: { width: number; height: number } | undefined;
  const recent: number[] = [];
  const stats = {
    framesIn: 0,
    framesRead: 0,
    framesDropped: 0,
    framesFailed: 0,
    reads: 0,
    reconnects: 0,
    lastFrameAt: undefined as number | undefined,
    lastReadAt: undefined as number | undefined,
    lastError: undefined as string | undefined,
  };
  const vote = new PlateVote({ minFrames: vision.voteFrames, lostAfterMs: vision.trackLostMs });

  const setState = (next: StreamState, detail?: string): void => {
    if (state === next) return;
    state = next;
    if (next === 'streaming') {
      m.connected.set(labels, 1);
      sink.status?.(sourceId, 'connected', detail);
    } else if (next === 'reconnecting') {
      m.connected.set(labels, 0);
      sink.status?.(sourceId, 'reconnecting', detail);
    } else if (next === 'stopped') m.connected.set(labels, 0);
  };

  const emit = (reads: readonly VotedRead[]): void => {
    for (const r of reads) {
      stats.reads++;
      stats.lastReadAt = clock.now();
      m.plates.inc({ ...labels, trigger: r.trigger });
      sink.read({
        sourceId,
        lane: config.lane,
        text: r.text,
        country: 'NL',
        confidence: r.confidence,
        charConfidences: r.charConfidences,
        receivedAt: clock.now(),
        arrivedHr: process.hrtime.bigint(),
      });
    }
    scheduleVoteExpiry();
  };

  // Tracks that end without reaching agreement are released by time, even if frames stop coming.
  const scheduleVoteExpiry = (): void => {
    voteTimer?.cancel();
    voteTimer = undefined;
    if (vote.openTracks === 0 || state === 'stopped') return;
    voteTimer = clock.setTimer(vision.trackLostMs + 1, () => {
      voteTimer = undefined;
      // While a frame is being read or waiting, that frame decides whether the plate is still
      // there; only an idle reader lets time alone end a track.
      if (worker?.busy || pending) scheduleVoteExpiry();
      else emit(vote.expire(clock.now()));
    });
  };

  const process_ = (frame: RgbFrame, at: number): void => {
    const w = worker;
    if (!w) return;
    // JPEG encoding costs the worker time too: a plate frame at most twice a second, an empty
    // frame once per snapshot interval.
    const wantJpeg = at - lastSnapshotAt >= rtsp.snapshotEveryMs;
    const jpegMode = wantJpeg ? 'always' : at - lastSnapshotAt >= 500 ? 'if-plate' : 'never';
    const started = performance.now();
    w.recognise(frame, { jpeg: jpegMode }).then(
      ({ recognition, jpeg }) => {
        const ms = performance.now() - started;
        stats.framesRead++;
        m.frames.inc({ ...labels, outcome: 'read' });
        m.inference.observe(labels, (recognition.localiseMs + recognition.readMs) / 1000);
        recent.push(recognition.localiseMs + recognition.readMs);
        if (recent.length > 100) recent.shift();
        const plates: readonly PlateFinding[] = recognition.plates;
        if (jpeg) {
          lastSnapshotAt = at;
          last = {
            jpeg,
            width: frame.width,
            height: frame.height,
            ...(plates[0] ? { box: plates[0].box } : {}),
            plates: plates.map((p) => ({ display: p.display, confidence: p.confidence, box: p.box })),
            at,
          };
        }
        if (ms > 1_000) log.warn({ ms: Math.round(ms) }, 'vision: a frame took over a second');
        emit(vote.push(plates, at));
        next();
      },
      (err: unknown) => {
        stats.framesFailed++;
        m.frames.inc({ ...labels, outcome: 'failed' });
        const detail = err instanceof Error ? err.message : String(err);
        stats.lastError = detail;
        sink.reject({ sourceId, reason: 'frame-unreadable', detail: `frame from ${redactUrl(url)}: ${detail}`, at });
        if (w.failed) void restartWorker(detail);
        else next();
      },
    );
  };

  const next = (): void => {
    if (!pending || !worker || worker.busy) return;
    const p = pending;
    pending = undefined;
    process_(p.frame, p.at);
  };

  const restartWorker = async (why: string): Promise<void> => {
    if (state === 'stopped') return;
    log.error({ err: why }, 'vision worker died; restarting it');
    const old = worker;
    worker = undefined;
    await old?.stop().catch(() => undefined);
    try {
      worker = await VisionWorker.start(workerOptions());
      next();
    } catch (err) {
      stats.lastError = err instanceof Error ? err.message : String(err);
      log.error({ err: stats.lastError }, 'vision worker could not be restarted');
    }
  };

  const workerOptions = (): VisionWorkerOptions => ({
    backend: vision.backend,
    ...(vision.model ? { modelDir: vision.model } : {}),
    ...(vision.wasmThreads !== undefined ? { wasmThreads: vision.wasmThreads } : {}),
    maxRegions: vision.maxRegions,
    minConfidence: vision.minFindingConfidence,
  });

  const armStallTimer = (): void => {
    stallTimer?.cancel();
    stallTimer = clock.setTimer(rtsp.stallTimeoutMs, () => {
      stallTimer = undefined;
      if (state === 'stopped') return;
      log.warn({ timeoutMs: rtsp.stallTimeoutMs }, 'rtsp: no frame; dropping the connection');
      drop('stalled', `no frame for ${rtsp.stallTimeoutMs} ms`);
    });
  };

  const connect = (): void => {
    if (state === 'stopped') return;
    reconnectTimer = undefined;
    if (state !== 'reconnecting') setState('connecting');
    let gotFrame = false;
    const proc = runFfmpegFrames(
      {
        input: url,
        fps: config.fps,
        ...(config.roi ? { roi: config.roi } : {}),
        maxWidth: rtsp.maxWidth,
        rtspTransport: rtsp.transport,
        ioTimeoutMs: rtsp.stallTimeoutMs,
        ...(deps.ffmpegPath ? { ffmpegPath: deps.ffmpegPath } : {}),
      },
      {
        onFrame(frame) {
          if (child !== proc) return;
          const at = clock.now();
          if (!gotFrame) {
            gotFrame = true;
            backoff = rtsp.reconnectMinMs;
            frameSize = { width: frame.width, height: frame.height };
            setState('streaming');
            log.info({ width: frame.width, height: frame.height }, 'rtsp: streaming');
          }
          stats.framesIn++;
          stats.lastFrameAt = at;
          armStallTimer();
          if (pending) {
            stats.framesDropped++;
            m.frames.inc({ ...labels, outcome: 'dropped' });
          }
          pending = { frame, at };
          next();
        },
        onExit(code, signal, detail) {
          if (child !== proc) return;
          child = undefined;
          if (state === 'stopped') return;
          const why = code === 0 ? 'stream ended' : `ffmpeg ${signal ?? `exit ${code}`}: ${detail}`;
          drop(code === 0 ? 'ended' : 'failed', why);
        },
      },
    );
    child = proc;
    armStallTimer();
  };

  const drop = (reason: string, detail: string): void => {
    stallTimer?.cancel();
    stallTimer = undefined;
    const proc = child;
    child = undefined;
    proc?.kill('SIGKILL');
    stats.lastError = redactUrl(detail);
    stats.reconnects++;
    m.reconnects.inc({ ...labels, reason });
    setState('reconnecting', stats.lastError);
    log.warn({ reason, detail: stats.lastError, retryMs: backoff }, 'rtsp: stream lost; reconnecting');
    reconnectTimer?.cancel();
    reconnectTimer = clock.setTimer(backoff, connect);
    backoff = Math.min(rtsp.reconnectMaxMs, backoff * 2);
  };

  return {
    name: `rtsp:${sourceId}`,
    async start() {
      state = 'starting';
      try {
        worker = await VisionWorker.start(workerOptions());
      } catch (err) {
        state = 'stopped';
        throw err;
      }
      log.info(
        {
          backend: worker.report.backend,
          attempts: worker.report.attempts,
          modelBytes: worker.modelBytes,
          url: redactUrl(url),
        },
        'vision: reader ready',
      );
      connect();
    },
    async stop() {
      setState('stopped');
      reconnectTimer?.cancel();
      stallTimer?.cancel();
      voteTimer?.cancel();
      reconnectTimer = stallTimer = voteTimer = undefined;
      const proc = child;
      child = undefined;
      if (proc && proc.exitCode === null) {
        const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
        proc.kill('SIGKILL');
        await closed;
      }
      pending = undefined;
      // Reads still voting are sent rather than lost.
      emit(vote.expire(Number.MAX_SAFE_INTEGER));
      await worker?.stop();
      worker = undefined;
    },
    lastFrame: () => last,
    health() {
      const sorted = [...recent].sort((a, b) => a - b);
      return {
        sourceId,
        url: redactUrl(url),
        state,
        backend: worker?.report,
        modelBytes: worker?.modelBytes,
        frameSize,
        ...stats,
        inferenceP50Ms: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10 : undefined,
      };
    },
  };
}
