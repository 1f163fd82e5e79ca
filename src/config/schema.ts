import { z } from 'zod';
import { parseAddressRange } from './address-range.js';

/**
 * The site profile: one YAML file per gateway under firmware-config/sites/. This schema is the
 * single source of the config's TypeScript types and of its documentation (docs/config.md is
 * generated from the descriptions here). Unknown keys are errors: a typo must not silently
 * fall back to a default at the roadside.
 */

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'an id of lower-case letters, digits and dashes (max 63)');

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM (00:00–23:59)');

export const timeWindowSchema = z.strictObject({
  days: z
    .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']))
    .min(1)
    .describe('weekdays the window applies to'),
  from: hhmm.describe('local start time, Europe/Amsterdam'),
  until: hhmm.describe('local end time; before `from` means the window runs past midnight'),
});

const gpioPin = z.number().int().min(0).max(53).describe('BCM pin number (not the sysfs number)');

export const bollardSchema = z.strictObject({
  driver: z.enum(['simulator', 'gpio']).describe('gpio drives a real controller; simulator is the built-in model'),
  /**
   * lower-raise: the gateway drives both movements. open-pulse: the controller runs the cycle
   * itself after a pulse on `openRequest`, and the gateway only supervises.
   */
  mode: z
    .enum(['lower-raise', 'open-pulse'])
    .default('lower-raise')
    .describe(
      'lower-raise: maintained lower/raise outputs, the gateway runs the cycle; open-pulse: a pulse on openRequest, the controller runs its own cycle',
    ),
  pins: z
    .strictObject({
      lower: gpioPin.optional().describe('output, held active while the bollard is to go or stay down'),
      raise: gpioPin.optional().describe('output, held active while the bollard is to go or stay up'),
      openRequest: gpioPin.optional().describe('output for mode open-pulse'),
      positionDown: gpioPin.describe('input, limit switch: bollard fully down'),
      positionUp: gpioPin.describe('input, limit switch: bollard fully up'),
      loops: z.array(gpioPin).min(1).max(2).describe('safety loop inputs (veiligheidslus), 1 or 2'),
      emergency: gpioPin.optional().describe('input: fire brigade key or siren detector'),
      controllerFault: gpioPin.optional().describe("input: the bollard controller's own fault relay"),
      manualOverride: gpioPin.optional().describe('input: controller switched to local/manual operation'),
      lightRed: gpioPin.optional().describe('output: traffic light red'),
      lightGreen: gpioPin.optional().describe('output: traffic light green'),
      warning: gpioPin.optional().describe('output: flasher/buzzer before and during a rise'),
      heartbeat: gpioPin
        .optional()
        .describe('output: square wave while the gateway controls the bollard, for an external watchdog relay'),
    })
    .optional()
    .describe('required for driver gpio'),
  activeLow: z.boolean().default(false).describe('inputs read 0 when active (typical for opto-isolated inputs)'),
  outputActiveLow: z
    .boolean()
    .default(false)
    .describe('outputs drive 0 when active (relay boards with active-low inputs)'),
  chipLabel: z
    .string()
    .min(1)
    .optional()
    .describe(
      'label of the gpiochip the BCM numbers refer to; default: the Raspberry Pi header chip (pinctrl-rp1, pinctrl-bcm2711, pinctrl-bcm2835)',
    ),
  timing: z
    .strictObject({
      travelMs: z
        .number()
        .int()
        .min(500)
        .max(30_000)
        .default(4_000)
        .describe('longest a full movement may take; no position confirmation within it is a fault'),
      clearanceMs: z
        .number()
        .int()
        .min(0)
        .max(60_000)
        .default(2_000)
        .describe('all loops clear for this long before a rise may be requested'),
      maxHoldDownMs: z
        .number()
        .int()
        .min(1_000)
        .max(600_000)
        .default(20_000)
        .describe('down without a passing vehicle for this long: rise again'),
      warningMs: z.number().int().min(0).max(10_000).default(1_500).describe('warning output lead before a rise'),
      debounceMs: z
        .number()
        .int()
        .min(0)
        .max(1_000)
        .default(30)
        .describe('an input must be stable this long; a loop turning occupied or emergency are taken at once'),
      pulseMs: z.number().int().min(50).max(5_000).default(500).describe('open-request pulse length (open-pulse)'),
      scanMs: z
        .number()
        .int()
        .min(5)
        .max(1_000)
        .default(20)
        .describe('input sampling period (gpio); edge interrupts sample at once in between'),
      heartbeatMs: z.number().int().min(50).max(10_000).default(500).describe('heartbeat output half period'),
    })
    .prefault({}),
  failMode: z
    .enum(['fail-secure', 'fail-open'])
    .default('fail-secure')
    .describe('state on start-up, crash and watchdog loss: fail-secure keeps it up, fail-open lowers it'),
  simulator: z
    .strictObject({
      vehicleLengthM: z.number().positive().max(30).default(4.5).describe('default length of an arriving vehicle'),
      speedKmh: z.number().positive().max(60).default(15).describe('default speed through the bollard'),
      travelMs: z
        .number()
        .int()
        .min(100)
        .max(60_000)
        .optional()
        .describe('physical travel time of the simulated bollard; default 75% of timing.travelMs'),
      loopsM: z
        .array(z.tuple([z.number(), z.number()]))
        .min(1)
        .max(2)
        .default([[-0.5, 2.5]])
        .describe('safety loops as [from, to] metres along the lane, bollard at 0, traffic towards +'),
      stopLineM: z
        .number()
        .positive()
        .max(20)
        .default(1)
        .describe('a waiting vehicle stops this far before the bollard'),
      patienceMs: z.number().int().min(1_000).default(30_000).describe('a waiting vehicle turns away after this long'),
      followGapMs: z
        .number()
        .int()
        .min(200)
        .default(1_500)
        .describe('a queued vehicle moves off this long after the one in front while the bollard is down'),
      released: z
        .enum(['auto', 'hold', 'up', 'down'])
        .default('auto')
        .describe(
          'what the simulated controller does with no output active; auto: up for fail-secure, down for fail-open',
        ),
      interlock: z
        .boolean()
        .default(true)
        .describe("the simulated controller's own interlock: it does not rise onto an occupied loop"),
      autoCloseMs: z
        .number()
        .int()
        .min(500)
        .default(5_000)
        .describe('open-pulse: the controller rises this long after the loops cleared'),
    })
    .prefault({}),
});

/** Bollard rules that span keys (pins needed by the mode, a pin used twice, loop geometry). */
function checkBollard(b: BollardConfig, at: (string | number)[], ctx: z.RefinementCtx): void {
  b.simulator.loopsM.forEach(([from, to], k) => {
    if (!(from < to))
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'simulator', 'loopsM', k],
        message: `loop from ${from} m must lie before to ${to} m`,
      });
  });
  if (b.driver !== 'gpio') return;
  const pinsAt = [...at, 'pins'];
  if (!b.pins) {
    ctx.addIssue({ code: 'custom', path: pinsAt, message: 'driver gpio needs a pin map' });
    return;
  }
  const needed = b.mode === 'open-pulse' ? (['openRequest'] as const) : (['lower', 'raise'] as const);
  for (const pin of needed) {
    if (b.pins[pin] === undefined)
      ctx.addIssue({ code: 'custom', path: [...pinsAt, pin], message: `mode ${b.mode} needs pin "${pin}"` });
  }
  const used = new Map<number, string>();
  for (const [name, value] of Object.entries(b.pins)) {
    for (const pin of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      const other = used.get(pin);
      if (other)
        ctx.addIssue({ code: 'custom', path: [...pinsAt, name], message: `BCM pin ${pin} is also used by "${other}"` });
      used.set(pin, name);
    }
  }
}

/** RTSP stream handling of a camera source (kind rtsp). */
export const rtspOptionsSchema = z.strictObject({
  transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTP over the RTSP connection (tcp) or separate UDP ports'),
  maxWidth: z
    .number()
    .int()
    .min(160)
    .max(3840)
    .default(1280)
    .describe('frames wider than this are scaled down before reading'),
  stallTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(120_000)
    .default(5_000)
    .describe('no frame for this long counts as a dropped stream and reconnects'),
  reconnectMinMs: z
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(500)
    .describe('first reconnect delay; doubles per failure'),
  reconnectMaxMs: z.number().int().min(100).max(600_000).default(15_000).describe('longest reconnect delay'),
  snapshotEveryMs: z
    .number()
    .int()
    .min(200)
    .max(600_000)
    .default(2_000)
    .describe('how often the last frame for the status page is refreshed when no plate is seen'),
});

/** The gateway's own plate reader on an RTSP source. */
export const visionOptionsSchema = z.strictObject({
  backend: z
    .enum(['auto', 'tensorflow', 'wasm', 'cpu'])
    .default('auto')
    .describe('TF.js back-end: auto takes tfjs-node (tensorflow) where installed, else wasm, else cpu'),
  wasmThreads: z
    .number()
    .int()
    .min(1)
    .max(8)
    .optional()
    .describe('threads of the wasm back-end (default: its own choice)'),
  model: z.string().optional().describe('directory of a TF.js plate reader (default: models/plate-reader)'),
  maxRegions: z.number().int().min(1).max(32).default(8).describe('candidate plate regions read per frame'),
  minFindingConfidence: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(300)
    .describe('a region counts as a plate from this confidence (decisions gate on policy.minConfidence)'),
  voteFrames: z.number().int().min(1).max(20).default(3).describe('frames that must agree before a read is sent'),
  trackLostMs: z
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(1_500)
    .describe('a plate not seen for this long ends its track; a track that never reached voteFrames is sent then'),
});

export const sourceSchema = z.strictObject({
  id,
  kind: z.enum(['serial', 'simulated', 'tcp-client', 'tcp-server', 'rtsp']),
  lane: id.describe('lane this camera watches (reads whose camera lane is not in laneMap go here)'),
  device: z.string().optional().describe('serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/… (kind serial)'),
  baudRate: z.number().int().min(300).max(4_000_000).default(9600).describe('serial line speed (serial, simulated)'),
  dataBits: z
    .union([z.literal(7), z.literal(8)])
    .default(8)
    .describe('serial data bits'),
  parity: z.enum(['none', 'even', 'odd']).default('none').describe('serial parity'),
  stopBits: z
    .union([z.literal(1), z.literal(2)])
    .default(1)
    .describe('serial stop bits'),
  dialect: z
    .string()
    .default('zg1')
    .describe(
      'dialect profile: a name from /etc/zonegate/dialects or firmware-config/dialects, or a path to a .yaml profile (docs/camera-input.md)',
    ),
  host: z
    .string()
    .optional()
    .describe('tcp-client: camera address to connect to; tcp-server: address to listen on (default 0.0.0.0)'),
  port: z.number().int().min(1).max(65535).optional().describe('TCP port (tcp-client, tcp-server)'),
  maxConnections: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('tcp-server: cameras connected at once; more are refused'),
  allowFrom: z
    .array(
      z
        .string()
        .superRefine((entry, ctx) => {
          const range = parseAddressRange(entry);
          if (typeof range === 'string') ctx.addIssue({ code: 'custom', message: range });
        })
        .describe('an IPv4 or IPv6 address or CIDR range; no host names'),
    )
    .min(1, 'list at least one camera address or range; leave allowFrom out only on a camera-only lane')
    .optional()
    .describe(
      'tcp-server: camera addresses or CIDR ranges that may connect, e.g. [192.0.2.10, 192.0.2.16/28]; others are refused. Required when the source feeds a lane with a bollard; left out on a camera-only lane, any host may connect (warned at start)',
    ),
  laneMap: z
    .record(z.string(), id)
    .optional()
    .describe('camera lane label → gateway lane id, for a camera that watches several lanes'),
  reconnect: z
    .strictObject({
      initialMs: z
        .number()
        .int()
        .min(10)
        .max(60_000)
        .default(250)
        .describe('first retry after the device or connection is lost'),
      maxMs: z.number().int().min(100).max(600_000).default(5_000).describe('retries back off, doubling, up to this'),
    })
    .prefault({})
    .describe('serial, tcp-client, tcp-server: how the link (or a listener whose port is taken) is retried'),
  connectTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(5_000)
    .describe(
      'tcp-client: a connection attempt the camera has not answered within this is abandoned and retried with the reconnect backoff',
    ),
  maxClockSkewMs: z
    .number()
    .int()
    .min(100)
    .max(86_400_000)
    .default(5_000)
    .describe(
      "camera clock further than this from the gateway's is reported (decisions always use the gateway's time)",
    ),
  url: z
    .string()
    .regex(/^rtsps?:\/\/\S+$/, 'an rtsp:// or rtsps:// URL, e.g. rtsp://user:pass@192.0.2.10:554/stream1')
    .optional()
    .describe('stream URL (kind rtsp); credentials in it are never logged'),
  fps: z
    .number()
    .positive()
    .max(30)
    .default(4)
    .describe('frames per second taken from the stream for reading (kind rtsp)'),
  roi: z
    .strictObject({
      x: z.number().int().min(0),
      y: z.number().int().min(0),
      w: z.number().int().positive(),
      h: z.number().int().positive(),
    })
    .optional()
    .describe('region of interest in stream pixels: only this part of the frame is read (kind rtsp)'),
  rtsp: rtspOptionsSchema.optional().describe('stream handling (kind rtsp); defaults apply when absent'),
  vision: visionOptionsSchema.optional().describe('plate reader settings (kind rtsp); defaults apply when absent'),
  /** Simulated camera: plates it "sees", one every intervalMs. */
  simulate: z
    .strictObject({
      plates: z
        .array(z.string().regex(/^([A-Z]{2}:)?[A-Za-z0-9][A-Za-z0-9 .-]*$/, 'a plate, optionally with "CC:" in front'))
        .min(1)
        .describe('plates it sees, in turn: "96-LKH-9" (Dutch) or "DE:B-AB-1234"'),
      intervalMs: z.number().int().min(100).default(4_000).describe('time between vehicles'),
      readsPerVehicle: z.number().int().min(1).max(20).default(3),
      readGapMs: z.number().int().min(10).max(5_000).default(200).describe('time between the reads of one vehicle'),
      corruptEvery: z.number().int().min(0).default(0).describe('send a corrupted line every N lines (0 = never)'),
      heartbeatMs: z
        .number()
        .int()
        .min(0)
        .default(10_000)
        .describe('keep-alive interval when the dialect has one (0 = none)'),
      clockSkewMs: z.number().int().default(0).describe('camera clock offset, to demonstrate the skew report'),
      seed: z.number().int().default(1).describe('seed of the simulated confidences'),
    })
    .optional(),
});

export const laneSchema = z.strictObject({
  id,
  direction: z.enum(['in', 'out']).default('in'),
  /** Lanes without a bollard are camera-only: a vehicle without admission is recorded. */
  bollard: bollardSchema.optional(),
});

export const policySchema = z.strictObject({
  minConfidence: z.number().int().min(0).max(1000).default(700).describe('reads below this go to manual handling'),
  windows: z.array(timeWindowSchema).default([]).describe('zone-wide venstertijden in which any vehicle may enter'),
  staleList: z
    .strictObject({
      maxAgeHours: z.number().positive().default(48),
      action: z.enum(['keep-deciding', 'emergency-only', 'manual']).default('keep-deciding'),
    })
    .prefault({}),
  zeroEmission: z
    .strictObject({
      rules: z.string().default('ze-nl-2025').describe('rule set under firmware-config/ze-rules'),
      inForceFrom: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, 'a local date YYYY-MM-DD')
        .optional()
        .describe("this zone's start date when later than the rule set's (zones start between 2025 and 2028)"),
    })
    .optional()
    .describe('set on zero-emission-zone entrances'),
});

const eventType = z.enum(['passage', 'violation', 'bollard', 'fault', 'list', 'gap', 'system']);

/** The event journal and outbox ({dataDir}/journal.sqlite). */
export const journalSchema = z.strictObject({
  syncIntervalMs: z
    .number()
    .int()
    .min(10)
    .max(10_000)
    .default(500)
    .describe('longest an appended event waits for fsync: the most a power cut can lose (never sent upstream)'),
  budgetMb: z.number().positive().max(1_000_000).default(512).describe('disk budget of the journal (pages in use)'),
  dropOrder: z
    .array(eventType.exclude(['gap']))
    .min(1)
    .default(['system', 'list', 'passage', 'bollard', 'violation', 'fault'])
    .superRefine((order, ctx) => {
      const protectedAt = order.findIndex((t) => t === 'violation' || t === 'fault');
      const laterOther =
        protectedAt < 0 ? -1 : order.findIndex((t, i) => i > protectedAt && t !== 'violation' && t !== 'fault');
      if (laterOther >= 0)
        ctx.addIssue({
          code: 'custom',
          path: [laterOther],
          message: `"${order[laterOther]}" must come before violation and fault: those are dropped last`,
        });
      if (new Set(order).size !== order.length)
        ctx.addIssue({ code: 'custom', message: 'an event type is listed twice' });
    })
    .describe('undelivered event types dropped first to last when over budget; unlisted types are never dropped'),
});

/** The gateway's one MQTT connection (src/sync/mqtt.ts). Relative file paths are under dataDir. */
export const mqttSchema = z.strictObject({
  url: z
    .string()
    .regex(/^mqtts?:\/\/[^/\s]+$/, 'mqtt://host:port or mqtts://host:port')
    .default('mqtt://127.0.0.1:1883')
    .describe('broker; mqtts:// for TLS'),
  topicPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic levels of letters, digits, _ and -, no wildcards')
    .default('zonegate/v1'),
  protocol: z
    .enum(['auto', '5', '3.1.1'])
    .default('auto')
    .describe('auto: MQTT 5, falling back to 3.1.1 when the broker refuses 5'),
  clientId: z.string().min(1).max(128).optional().describe('default zonegate-{gateway.id}'),
  clientKey: z.string().optional().describe('PEM private key for TLS client authentication, e.g. keys/client.key'),
  clientCert: z.string().optional().describe('PEM client certificate, e.g. keys/client.crt'),
  ca: z.string().optional().describe("PEM CA bundle that signed the broker's certificate (default: system CAs)"),
  username: z.string().optional(),
  passwordFile: z.string().optional().describe('file holding the broker password (kept out of the profile)'),
  keepaliveSeconds: z.number().int().min(5).max(3_600).default(30),
  reconnectMs: z.number().int().min(100).max(300_000).default(2_000).describe('pause between reconnect attempts'),
  connectTimeoutMs: z.number().int().min(1_000).max(120_000).default(10_000),
});

/** Event batches to the region (src/sync/uplink.ts). */
export const uplinkSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('false keeps events in the journal only (bench, isolated sites)'),
  batchMaxEvents: z.number().int().min(1).max(10_000).default(500),
  batchMaxBytes: z
    .number()
    .int()
    .min(1_024)
    .max(8_000_000)
    .default(256 * 1024)
    .describe('payload bytes per batch'),
  batchMaxAgeMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(1_000)
    .describe('a partial batch is sent once its oldest event waited this long'),
  maxInFlight: z.number().int().min(1).max(64).default(4).describe('batches sent but not yet acknowledged'),
  ackTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(600_000)
    .default(30_000)
    .describe('no acknowledgement within this: resend from the oldest unacknowledged event'),
  statusIntervalMs: z.number().int().min(1_000).max(3_600_000).default(60_000).describe('retained status refresh'),
});

const days = z.number().min(0).max(3_650);

/** Pseudonymisation and local retention (docs/privacy.md). */
export const privacySchema = z.strictObject({
  plateHash: z
    .strictObject({
      secretFile: z
        .string()
        .default('keys/plate-hash.secret')
        .describe('shared secret of the zone (from the region); created at random when absent'),
      rotation: z
        .enum(['daily', 'weekly', 'monthly'])
        .default('daily')
        .describe('the keyed hash changes at each Europe/Amsterdam day, ISO week or month'),
    })
    .prefault({}),
  retentionDays: z
    .strictObject({
      passage: days.default(7).describe('allowed/denied passages (keyed hash, no plate) after delivery'),
      violation: days.default(28).describe('violations with plate and evidence, after delivery'),
      bollard: days.default(90),
      fault: days.default(90),
      list: days.default(90),
      gap: days.default(365),
      system: days.default(90),
    })
    .prefault({})
    .describe('how long delivered events stay in the local journal (every event, when uplink.enabled is false)'),
  purgeIntervalMinutes: z.number().int().min(1).max(1_440).default(60),
});

/** The list downlink from the region ({dataDir}/lists.sqlite; docs/lists.md). */
export const listsSchema = z.strictObject({
  regionKeys: z
    .array(z.string().min(1))
    .default([])
    .describe(
      "the region's Ed25519 public keys (PEM files, relative to dataDir); two during a key rotation. Empty: no list sync, lists only by `zonegate cache import`",
    ),
  snapshotTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(120_000)
    .describe(
      'a snapshot that makes no progress (no chunk arrives, none is applied) within this is abandoned and asked for again',
    ),
  resyncIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .default(60_000)
    .describe('at most one snapshot request to the region per this interval'),
  cacheMiB: z
    .number()
    .int()
    .min(2)
    .max(1_024)
    .default(16)
    .describe("SQLite page cache of the lookups (counts towards the gateway's memory)"),
});

export const siteSchema = z.strictObject({
  gateway: z.strictObject({
    id,
    site: z.string().min(1).describe('human name of the entrance'),
    municipality: z.string().regex(/^\d{4}$/, 'a four-digit CBS municipality code, e.g. "0363"'),
    zone: id.describe('zone id the lists scope grants to'),
    timezone: z.literal('Europe/Amsterdam').default('Europe/Amsterdam'),
  }),
  dataDir: z.string().default('/var/lib/zonegate'),
  lanes: z.array(laneSchema).min(1),
  sources: z.array(sourceSchema).min(1),
  passage: z
    .strictObject({
      windowMs: z.number().int().min(100).max(60_000).default(3_000).describe('gap between reads of one vehicle'),
      minReads: z.number().int().min(1).max(20).default(1).describe('consistent reads before deciding early'),
      holdOffMs: z
        .number()
        .int()
        .min(0)
        .max(3_600_000)
        .default(30_000)
        .describe('before the same plate may open again'),
    })
    .prefault({}),
  policy: policySchema.prefault({}),
  lists: listsSchema.prefault({}),
  journal: journalSchema.prefault({}),
  /** Uplink, downlink and status: each owning module extends its section. */
  mqtt: mqttSchema.prefault({}),
  uplink: uplinkSchema.prefault({}),
  privacy: privacySchema.prefault({}),
  status: z
    .strictObject({
      listen: z
        .string()
        .default('127.0.0.1')
        .describe('address or network interface name (e.g. eth0) the status page binds to'),
      port: z.number().int().min(0).max(65535).default(8080),
      token: z
        .string()
        .min(16)
        .optional()
        .describe('required for every page and /metrics; without it only loopback clients are served'),
      recent: z.number().int().min(5).max(1_000).default(50).describe('reads, decisions and faults kept for the page'),
    })
    .prefault({}),
  /** Operations: self-test thresholds and the site's policy for an unsynchronised clock. */
  ops: z
    .strictObject({
      clock: z
        .strictObject({
          unsynchronized: z
            .enum(['fault', 'warn'])
            .default('fault')
            .describe('fault: doctor fails and a fault is raised; warn: reported only (sites without time windows)'),
          maxOffsetMs: z.number().int().min(1).max(600_000).default(1_000).describe('largest tolerated NTP offset'),
        })
        .prefault({}),
      disk: z
        .strictObject({
          minFreeMb: z.number().int().min(1).default(256).describe('free space the data directory needs'),
          minFreePercent: z.number().min(0).max(100).default(5),
        })
        .prefault({}),
      certificateWarnDays: z
        .number()
        .int()
        .min(1)
        .max(365)
        .default(30)
        .describe('client certificate expiring sooner is a warning'),
      watchdog: z
        .strictObject({
          maxEventLoopDelayMs: z
            .number()
            .int()
            .min(50)
            .max(60_000)
            .default(2_000)
            .describe('main loop stalled longer than this stops the systemd watchdog pings'),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type SiteConfig = z.infer<typeof siteSchema>;
export type LaneConfig = z.infer<typeof laneSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type RtspOptions = z.infer<typeof rtspOptionsSchema>;
export type VisionOptions = z.infer<typeof visionOptionsSchema>;
export type BollardConfig = z.infer<typeof bollardSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type ListsConfig = z.infer<typeof listsSchema>;
export type TimeWindowConfig = z.infer<typeof timeWindowSchema>;
export type JournalConfig = z.infer<typeof journalSchema>;
export type MqttConfig = z.infer<typeof mqttSchema>;
export type UplinkConfig = z.infer<typeof uplinkSchema>;
export type PrivacyConfig = z.infer<typeof privacySchema>;
export type StatusConfig = z.infer<typeof siteSchema>['status'];
export type OpsConfig = z.infer<typeof siteSchema>['ops'];

/** Rules that span keys; each issue names the exact key path so the message points at it. */
export const validatedSiteSchema = siteSchema.superRefine((site, ctx) => {
  const laneIds = new Set<string>();
  site.lanes.forEach((lane, i) => {
    if (laneIds.has(lane.id))
      ctx.addIssue({ code: 'custom', path: ['lanes', i, 'id'], message: `duplicate lane id "${lane.id}"` });
    laneIds.add(lane.id);
    if (lane.bollard) checkBollard(lane.bollard, ['lanes', i, 'bollard'], ctx);
  });
  const sourceIds = new Set<string>();
  site.sources.forEach((s, i) => {
    if (sourceIds.has(s.id))
      ctx.addIssue({ code: 'custom', path: ['sources', i, 'id'], message: `duplicate source id "${s.id}"` });
    sourceIds.add(s.id);
    if (!laneIds.has(s.lane))
      ctx.addIssue({
        code: 'custom',
        path: ['sources', i, 'lane'],
        message: `no lane "${s.lane}" (lanes: ${[...laneIds].join(', ')})`,
      });
    if (s.kind === 'serial' && !s.device)
      ctx.addIssue({
        code: 'custom',
        path: ['sources', i, 'device'],
        message: 'kind serial needs a device, e.g. /dev/ttyUSB0',
      });
    if (s.kind === 'simulated' && !s.simulate)
      ctx.addIssue({
        code: 'custom',
        path: ['sources', i, 'simulate'],
        message: 'kind simulated needs a simulate section',
      });
    if (s.kind === 'rtsp' && !s.url)
      ctx.addIssue({ code: 'custom', path: ['sources', i, 'url'], message: 'kind rtsp needs an rtsp:// url' });
    if ((s.kind === 'tcp-client' || s.kind === 'tcp-server') && !s.port)
      ctx.addIssue({ code: 'custom', path: ['sources', i, 'port'], message: `kind ${s.kind} needs a port` });
    if (s.kind === 'tcp-client' && !s.host)
      ctx.addIssue({ code: 'custom', path: ['sources', i, 'host'], message: 'kind tcp-client needs the camera host' });
    if (s.allowFrom && s.kind !== 'tcp-server')
      ctx.addIssue({
        code: 'custom',
        path: ['sources', i, 'allowFrom'],
        message: `only kind tcp-server accepts connections; kind ${s.kind} does not use allowFrom`,
      });
    if (s.kind === 'tcp-server' && !s.allowFrom) {
      // A spoofed read line on a bollard lane opens the bollard: such a source must say who may send.
      const fed = [s.lane, ...Object.values(s.laneMap ?? {})];
      const bollardLane = fed.find((lane) => site.lanes.some((l) => l.id === lane && l.bollard));
      if (bollardLane !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'allowFrom'],
          message: `kind tcp-server feeds lane "${bollardLane}", which has a bollard: list the camera addresses allowed to connect, e.g. allowFrom: [192.0.2.10]; any other host could send a read that opens the bollard`,
        });
    }
    for (const [label, lane] of Object.entries(s.laneMap ?? {}))
      if (!laneIds.has(lane))
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'laneMap', label],
          message: `no lane "${lane}" (lanes: ${[...laneIds].join(', ')})`,
        });
    if (s.reconnect.maxMs < s.reconnect.initialMs)
      ctx.addIssue({
        code: 'custom',
        path: ['sources', i, 'reconnect', 'maxMs'],
        message: 'must not be less than initialMs',
      });
  });
  const windowsOk = (w: { from: string; until: string }, path: (string | number)[]): void => {
    if (w.from === w.until)
      ctx.addIssue({ code: 'custom', path, message: `window ${w.from}–${w.until} is empty: from and until are equal` });
  };
  site.policy.windows.forEach((w, i) => windowsOk(w, ['policy', 'windows', i]));
});
