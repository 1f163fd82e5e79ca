import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Registry } from 'prom-client';
import {
  bollardEventToJournal,
  createBollardLane,
  positionOf,
  type BollardEvent,
  type BollardLane,
} from '../bollard/index.js';
import type { ListCache } from '../cache/index.js';
import type { SiteConfig, SourceConfig } from '../config/schema.js';
import {
  createRetentionPurger,
  journalFromConfig,
  privacySealFromConfig,
  retentionFromConfig,
  type Journal,
  type JournalEntryInput,
} from '../journal/index.js';
import {
  Health,
  StatusBoard,
  baseVersions,
  createOpsService,
  registerProcessMetrics,
  type OpsService,
} from '../ops/index.js';
import { decide, zonePolicyFor } from '../policy/index.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import { startAll, type Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { createSource, type SourceSink } from '../sources/index.js';
import {
  connectMqtt,
  createStatusPublisher,
  createUplink,
  type MqttClient,
  type StatusPublisher,
  type Uplink,
} from '../sync/index.js';
import { createListSync, listSyncSettings, openSiteListCache, type ListSync } from '../sync/lists.js';
import { createRtspSource, type RtspSource } from '../vision/index.js';
import { Pipeline, type PipelineEvent, type PipelineLane } from './pipeline.js';

/**
 * What a gateway process runs. `run`: everything the site profile asks for. `replay`: the hot
 * path only (journal in a scratch directory, list cache, simulated bollards, pipeline), no
 * sources, network, status page or systemd, so a technician can reproduce a field problem on a
 * laptop.
 */
export type GatewayMode = 'run' | 'replay';

export interface GatewayDeps {
  readonly site: SiteConfig;
  readonly mode: GatewayMode;
  /** The profile's file name, for messages about it. */
  readonly configFile?: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  /** Observers beside the hot path (live terminal view, replay output); they must not throw. */
  readonly onPipelineEvent?: (event: PipelineEvent) => void;
  readonly onBollardEvent?: (event: BollardEvent) => void;
  /**
   * A list cache owned by the caller (replay uses a scratch or a read-only one); by default the
   * gateway opens and owns `{dataDir}/lists.sqlite`.
   */
  readonly cache?: ListCache;
  /** Environment for systemd notify/watchdog (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Adds a module to the start order; `stop` runs in reverse order. */
type AddModule = (name: string, start: () => Promise<void> | void, stop: () => Promise<void> | void) => void;

/** How often the status board picks up the list version, uplink backlog and RTSP frames. */
const STATUS_REFRESH_MS = 1_000;

/**
 * The gateway, wired from one site profile along DESIGN.md's flow: sources → pipeline (passage,
 * decide, bollard, journal) → uplink; region → list sync → cache; ops observe. Each part is a
 * Lifecycle; start() brings them up in flow order and a failed start stops what was started.
 */
export class Gateway {
  readonly site: SiteConfig;
  readonly board: StatusBoard;
  readonly health: Health;
  readonly lanes = new Map<string, BollardLane>();
  #journal: Journal | undefined;
  #cache: ListCache | undefined;
  #pipeline: Pipeline | undefined;
  #ops: OpsService | undefined;
  #listSync: ListSync | undefined;
  #stopAll: (() => Promise<void>) | undefined;
  readonly #versions: Record<string, string>;
  readonly #deps: GatewayDeps;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.site = deps.site;
    this.#versions = baseVersions();
    this.health = new Health({ clock: deps.clock, registry: deps.registry });
    this.board = new StatusBoard({ site: deps.site, clock: deps.clock, versions: this.#versions, health: this.health });
  }

  get journal(): Journal {
    if (!this.#journal) throw new Error('gateway not started');
    return this.#journal;
  }

  get cache(): ListCache {
    if (!this.#cache) throw new Error('gateway not started');
    return this.#cache;
  }

  get pipeline(): Pipeline {
    if (!this.#pipeline) throw new Error('gateway not started');
    return this.#pipeline;
  }

  /** Where the status page listens, once started (undefined when it is not served). */
  get statusAddress(): { host: string; port: number } | undefined {
    return this.#ops?.statusServer.address();
  }

  async start(): Promise<void> {
    const { site, mode, clock, log, registry } = this.#deps;
    mkdirSync(site.dataDir, { recursive: true });
    registerProcessMetrics(registry, { gateway: site.gateway.id, versions: this.#versions });
    const modules: Lifecycle[] = [];
    const add: AddModule = (name, start, stop) => {
      modules.push({ name, start: async () => start(), stop: async () => stop() });
    };

    // Journal first: everything after it reports into it.
    add(
      'journal',
      () => {
        this.#journal = journalFromConfig(site, { clock, registry, log, seal: privacySealFromConfig(site) });
      },
      async () => {
        const j = this.#journal;
        this.#journal = undefined;
        if (j) {
          await j.flush();
          j.close();
        }
      },
    );
    add(
      'list-cache',
      () => {
        this.#cache = this.#deps.cache ?? openSiteListCache(site, { clock, log, registry });
        this.board.list(this.#cache.info());
        // The list into the OS page cache in the background, so a plate's first passage does not wait for the disk.
        if (mode === 'run')
          this.#cache.prewarm().catch((err: unknown) => log.warn({ err: String(err) }, 'list prewarm failed'));
      },
      () => {
        if (!this.#deps.cache) this.#cache?.close();
        this.#cache = undefined;
      },
    );

    // Bollards before the pipeline: an opening must find its lane's controller in control.
    for (const lane of site.lanes) {
      if (!lane.bollard) continue;
      const config = mode === 'replay' ? { ...lane.bollard, driver: 'simulator' as const } : lane.bollard;
      const bollard = createBollardLane({
        laneId: lane.id,
        config,
        clock,
        log: log.child({ lane: lane.id }),
        registry,
        onEvent: (event) => this.#onBollardEvent(event),
      });
      this.lanes.set(lane.id, bollard);
      let unsubscribe: (() => void) | undefined;
      add(
        `bollard:${lane.id}`,
        async () => {
          await bollard.start();
          unsubscribe = bollard.driver.onInputs((inputs) =>
            this.board.bollardInputs(lane.id, inputs, positionOf(inputs)),
          );
          const inputs = bollard.driver.read();
          this.board.bollardInputs(lane.id, inputs, positionOf(inputs));
        },
        async () => {
          unsubscribe?.();
          // A replay's simulated bollard runs on a clock that no longer moves: nothing to park.
          await bollard.stop({ park: mode !== 'replay' });
        },
      );
    }

    add(
      'pipeline',
      () => {
        const cache = this.cache;
        const lanes: PipelineLane[] = site.lanes.map((lane) => {
          const policy = zonePolicyFor(site, lane.id);
          const bollard = this.lanes.get(lane.id)?.controller;
          return {
            id: lane.id,
            decide: (passage, now) => decide(passage, now, cache.lookups, policy),
            ...(bollard ? { bollard } : {}),
          };
        });
        this.#pipeline = new Pipeline({
          lanes,
          passage: site.passage,
          journal: this.journal,
          clock,
          registry,
          log: log.child({ module: 'pipeline' }),
          listInfo: () => {
            const info = cache.info();
            return { version: info.version, ageSeconds: info.ageSeconds };
          },
          onEvent: (event) => {
            this.board.pipeline(event);
            this.#deps.onPipelineEvent?.(event);
          },
        });
        this.journal.append({
          type: 'system',
          at: clock.now(),
          payload: { event: 'started', mode, versions: this.#versions },
        });
      },
      () => {
        // Vehicles still inside their read window are decided now rather than lost.
        this.#pipeline?.stop();
        this.#journal?.append({ type: 'system', at: clock.now(), payload: { event: 'stopped', mode } });
      },
    );

    if (mode === 'run') this.#addRunModules(add);
    this.#stopAll = await startAll(modules);
    await this.#ops?.ready();
  }

  async stop(): Promise<void> {
    await this.#ops?.stopping('stopping');
    const stopAll = this.#stopAll;
    this.#stopAll = undefined;
    await stopAll?.();
  }

  /** Network, sources and ops: only when the gateway runs for real. */
  #addRunModules(add: AddModule): void {
    const { site, clock, log, registry } = this.#deps;
    const sink: SourceSink = {
      read: (read) => this.pipeline.read(read),
      reject: (rejection) => this.pipeline.reject(rejection),
      status: (sourceId, state, detail) => {
        this.board.source(sourceId, state, detail);
        if (state !== 'connected')
          this.#append({
            type: 'fault',
            at: clock.now(),
            payload: { fault: `source-${state}`, origin: sourceId, detail: detail ?? state },
          });
      },
      fault: (fault) => {
        this.board.fault({ origin: fault.sourceId, reason: fault.code, detail: fault.detail, at: fault.at });
        this.#append({
          type: 'fault',
          at: fault.at,
          payload: {
            fault: fault.code,
            origin: fault.sourceId,
            detail: fault.detail,
            ...(fault.skewMs !== undefined ? { skewMs: fault.skewMs } : {}),
          },
        });
      },
    };
    const rtspSources = new Map<string, RtspSource>();
    for (const config of site.sources) {
      const source = this.#createSource(config, sink, rtspSources);
      add(
        `source:${config.id}`,
        () => source.start(),
        () => source.stop(),
      );
    }

    // One MQTT connection for uplink, status topic and list sync; the gateway decides without it.
    if (site.uplink.enabled) {
      let client: MqttClient | undefined;
      let uplink: Uplink | undefined;
      const baseDir = resolve(site.dataDir);
      add(
        'mqtt',
        () => {
          client = connectMqtt({ config: site.mqtt, gatewayId: site.gateway.id, baseDir, log, registry });
        },
        async () => {
          await client?.endAsync();
          client = undefined;
        },
      );
      add(
        'uplink',
        async () => {
          uplink = createUplink({
            journal: this.journal,
            client: client!,
            gatewayId: site.gateway.id,
            topicPrefix: site.mqtt.topicPrefix,
            settings: site.uplink,
            clock,
            registry,
            log,
          });
          await uplink.start();
        },
        async () => uplink?.stop(),
      );
      if (site.lists.regionKeys.length > 0) {
        add(
          'list-sync',
          async () => {
            this.#listSync = createListSync({
              mqtt: client!,
              cache: this.cache,
              journal: this.journal,
              clock,
              log,
              registry,
              settings: listSyncSettings(site, this.#deps.configFile),
            });
            await this.#listSync.start();
          },
          async () => {
            await this.#listSync?.stop();
            this.#listSync = undefined;
          },
        );
      }
      let publisher: StatusPublisher | undefined;
      add(
        'status-topic',
        async () => {
          publisher = createStatusPublisher({
            client: client!,
            gatewayId: site.gateway.id,
            topicPrefix: site.mqtt.topicPrefix,
            journal: this.journal,
            clock,
            log,
            intervalMs: site.uplink.statusIntervalMs,
            versions: this.#versions,
            statusProvider: () => this.#statusTopicContent(),
          });
          await publisher.start();
        },
        async () => publisher?.stop(),
      );
      this.#statusRefresh(
        add,
        rtspSources,
        () => uplink,
        () => client?.connected ?? false,
      );
    } else {
      this.#statusRefresh(
        add,
        rtspSources,
        () => undefined,
        () => false,
      );
    }

    let purger: ReturnType<typeof createRetentionPurger> | undefined;
    add(
      'retention-purge',
      async () => {
        purger = createRetentionPurger({
          journal: this.journal,
          retention: retentionFromConfig(site.privacy),
          clock,
          log,
          intervalMs: site.privacy.purgeIntervalMinutes * 60_000,
          undelivered: site.uplink.enabled ? 'keep' : 'expire',
        });
        await purger.start();
      },
      async () => purger?.stop(),
    );

    // Ops observe: status page, event-loop and clock checks, systemd notify and watchdog.
    const ops = createOpsService({
      site,
      registry,
      log,
      clock,
      statusSource: this.board,
      health: this.health,
      env: this.#deps.env ?? process.env,
      onClockChange: (verdict) => {
        const fault = verdict.status === 'fail' ? 'clock-unsynchronized' : 'clock-synchronized';
        if (verdict.status === 'fail') this.board.fault({ origin: 'clock', reason: fault, detail: verdict.detail });
        this.#append({ type: 'fault', at: clock.now(), payload: { fault, origin: 'clock', detail: verdict.detail } });
      },
    });
    this.#ops = ops;
    let unregisterJournal: (() => void) | undefined;
    add(
      'journal-health',
      () => {
        unregisterJournal = this.health.register({
          name: 'journal',
          critical: true,
          check: () => {
            const j = this.#journal;
            if (!j) return { ok: false, detail: 'journal closed' };
            return { ok: true, detail: `last seq ${j.lastSeq ?? 0}, backlog ${j.backlog}` };
          },
        });
      },
      () => unregisterJournal?.(),
    );
    for (const m of ops.modules)
      add(
        m.name,
        () => m.start(),
        () => m.stop(),
      );
  }

  #createSource(config: SourceConfig, sink: SourceSink, rtsp: Map<string, RtspSource>): Lifecycle {
    const { clock, log, registry } = this.#deps;
    if (config.kind === 'rtsp') {
      const source = createRtspSource(config, { sink, clock, log, registry });
      rtsp.set(config.lane, source);
      return source;
    }
    return createSource(config, {
      sink,
      clock,
      log,
      registry,
      // A simulated camera's vehicle also stops in front of the lane's simulated bollard.
      onVehicle: (lane, plate) => this.lanes.get(lane)?.simulator?.vehicleArrives({ label: plate }),
    });
  }

  #statusRefresh(
    add: AddModule,
    rtsp: ReadonlyMap<string, RtspSource>,
    uplink: () => Uplink | undefined,
    connected: () => boolean,
  ): void {
    const { clock, site } = this.#deps;
    let timer: TimerHandle | undefined;
    const lastFrameAt = new Map<string, number>();
    const tick = (): void => {
      const cache = this.#cache;
      const journal = this.#journal;
      if (cache) this.board.list(cache.info());
      if (journal) {
        const stats = uplink()?.stats();
        this.board.uplink({
          connected: connected(),
          backlog: journal.backlog,
          broker: site.mqtt.url,
          ...(stats?.lastAckAt !== undefined ? { lastAckAt: stats.lastAckAt } : {}),
        });
      }
      for (const [lane, source] of rtsp) {
        const frame = source.lastFrame();
        if (!frame || lastFrameAt.get(lane) === frame.at) continue;
        lastFrameAt.set(lane, frame.at);
        this.board.setFrame(lane, {
          at: frame.at,
          width: frame.width,
          height: frame.height,
          jpeg: frame.jpeg,
          ...(frame.box ? { box: frame.box } : {}),
          ...(frame.plates[0] ? { plate: frame.plates[0].display } : {}),
        });
      }
      timer = clock.setTimer(STATUS_REFRESH_MS, tick);
    };
    add(
      'status-refresh',
      () => tick(),
      () => timer?.cancel(),
    );
  }

  /** What the retained status topic carries beyond the publisher's own fields. */
  #statusTopicContent(): Record<string, unknown> {
    const info = this.#cache?.info();
    const bollards: Record<string, unknown> = {};
    for (const [id, lane] of this.lanes) {
      const s = lane.controller.status();
      bollards[id] = {
        state: s.state,
        position: s.position,
        since: s.since,
        ...(s.fault ? { fault: s.fault.code } : {}),
      };
    }
    // With list sync, its status also says whether the list is stale and what is being applied.
    const list =
      this.#listSync?.status() ??
      (info ? { version: info.version, publishedAt: info.publishedAt, ageSeconds: info.ageSeconds } : undefined);
    return { site: this.site.gateway.site, zone: this.site.gateway.zone, list, bollards };
  }

  #onBollardEvent(event: BollardEvent): void {
    // The controller reports after its GPIO write, so the journal never claims a movement that was not commanded.
    this.#append(bollardEventToJournal(event));
    this.board.bollard(event);
    this.#deps.onBollardEvent?.(event);
  }

  #append(entry: JournalEntryInput): void {
    const journal = this.#journal;
    if (!journal) return;
    try {
      journal.append(entry);
    } catch (err) {
      this.#deps.log.error({ err: String(err), type: entry.type }, 'journal append failed');
    }
  }
}
