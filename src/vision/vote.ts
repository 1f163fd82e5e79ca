import { sidecodeOf } from '../plate/sidecodes.js';
import { plateConfidence } from './decode.js';
import { iou, type PlateBox } from './image.js';
import type { PlateFinding } from './recognise.js';

/**
 * Several frames of one passage vote on its plate. A track follows one plate through the frames
 * (same place or same text); its characters are voted position by position, each frame's vote
 * weighted by that character's confidence, and the voted text must still fit a sidecode (else
 * the best whole text wins). A track is released once `minFrames` frames agree on the voted text
 * or when it ends: missing from two frames in a row and unseen for `lostAfterMs`, or unseen for
 * `lostAfterMs` while no frames come. A released track gives one read, and another only if the
 * vote later changes to a different text.
 */
export interface VoteSettings {
  /** Frames that must agree before a read is released early. */
  readonly minFrames: number;
  /** A track not seen for this long is closed (and released if it never was). */
  readonly lostAfterMs: number;
}

export interface VotedRead {
  readonly trackId: number;
  readonly text: string;
  readonly confidence: number;
  readonly charConfidences: readonly number[];
  /** Frames that voted, and how many of them read exactly this text. */
  readonly frames: number;
  readonly agreeing: number;
  readonly box: PlateBox;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly trigger: 'agreement' | 'track-lost';
}

interface Track {
  readonly id: number;
  box: PlateBox;
  firstSeenAt: number;
  lastSeenAt: number;
  /** Per position, per character: summed confidence. */
  readonly positions: Map<string, number>[];
  readonly texts: Map<string, { count: number; best: number }>;
  frames: number;
  /** Frames read since this plate was last found in one. */
  missed: number;
  released?: string;
}

/** A track is lost once it is missing from this many frames in a row (and lostAfterMs passed). */
const MISSED_FRAMES = 2;

export class PlateVote {
  readonly #tracks: Track[] = [];
  #nextId = 1;

  constructor(private readonly settings: VoteSettings) {}

  /** Adds the findings of one frame taken at `at`; returns the reads this frame released. */
  push(findings: readonly PlateFinding[], at: number): VotedRead[] {
    const out: VotedRead[] = [];
    const used = new Set<Track>();
    for (const f of findings) {
      let track = this.#tracks.find((t) => !used.has(t) && (iou(t.box, f.box) > 0.1 || t.texts.has(f.text)));
      if (!track) {
        track = {
          id: this.#nextId++,
          box: f.box,
          firstSeenAt: at,
          lastSeenAt: at,
          positions: [],
          texts: new Map(),
          frames: 0,
          missed: 0,
        };
        this.#tracks.push(track);
      }
      used.add(track);
      track.box = f.box;
      track.lastSeenAt = at;
      track.frames++;
      [...f.text].forEach((ch, i) => {
        const pos = (track.positions[i] ??= new Map());
        pos.set(ch, (pos.get(ch) ?? 0) + (f.charConfidences[i] ?? f.confidence));
      });
      const seen = track.texts.get(f.text);
      if (seen) {
        seen.count++;
        seen.best = Math.max(seen.best, f.confidence);
      } else track.texts.set(f.text, { count: 1, best: f.confidence });
      track.missed = 0;
      const voted = this.#voted(track);
      if (voted.agreeing >= this.settings.minFrames && track.released !== voted.text) {
        track.released = voted.text;
        out.push({ ...voted, trigger: 'agreement' });
      }
    }
    for (const t of this.#tracks) if (!used.has(t)) t.missed++;
    // Lost means missing from the frames that were read, not only time passing: when the reader
    // is slow and frames are far apart, a plate that is still there keeps its track.
    out.push(...this.#close(at, (t) => t.missed >= MISSED_FRAMES));
    return out;
  }

  /**
   * Closes tracks not seen since `now - lostAfterMs`, whatever the frames; for when no frame is
   * coming (stream stopped, or between frames when the reader is idle). Tracks never released
   * give their read now.
   */
  expire(now: number): VotedRead[] {
    return this.#close(now, () => true);
  }

  #close(now: number, also: (t: Track) => boolean): VotedRead[] {
    const out: VotedRead[] = [];
    for (let i = this.#tracks.length - 1; i >= 0; i--) {
      const t = this.#tracks[i]!;
      if (now - t.lastSeenAt <= this.settings.lostAfterMs || !also(t)) continue;
      this.#tracks.splice(i, 1);
      if (t.released === undefined) out.push({ ...this.#voted(t), trigger: 'track-lost' });
    }
    return out.reverse();
  }

  get openTracks(): number {
    return this.#tracks.length;
  }

  #voted(t: Track): Omit<VotedRead, 'trigger'> {
    const byPosition = t.positions.map((pos) => {
      let best = '';
      let score = -1;
      let total = 0;
      for (const [ch, s] of pos) {
        total += s;
        if (s > score) [best, score] = [ch, s];
      }
      return { ch: best, score, total };
    });
    let text = byPosition.map((p) => p.ch).join('');
    const wholeTexts = [...t.texts.entries()].sort((a, b) => b[1].count - a[1].count || b[1].best - a[1].best);
    if (!sidecodeOf(text) || !t.texts.has(text)) text = wholeTexts[0]![0];
    const agreeing = t.texts.get(text)?.count ?? 0;
    // Confidence of each voted character: its mean confidence over all frames of the track, a
    // frame that read another character there counting 0, so disagreement lowers it.
    const charConfidences = [...text].map((ch, i) =>
      Math.round(Math.min(1000, (t.positions[i]?.get(ch) ?? 0) / Math.max(1, t.frames))),
    );
    const confidence = plateConfidence(charConfidences);
    return {
      trackId: t.id,
      text,
      confidence,
      charConfidences,
      frames: t.frames,
      agreeing,
      box: t.box,
      firstSeenAt: t.firstSeenAt,
      lastSeenAt: t.lastSeenAt,
    };
  }
}
