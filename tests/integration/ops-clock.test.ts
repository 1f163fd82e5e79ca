import { describe, expect, test } from 'vitest';
import { createClockMonitor } from '../../src/ops/clock-monitor.js';
import { judgeClock, parseAdjtimex, parseChronyTracking, probeClockSync } from '../../src/ops/clock-sync.js';
import { Health } from '../../src/ops/health.js';
import { commandRunner } from '../../src/ops/run-command.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';

const chronySynced = `Reference ID    : C0A80001 (ntp.example.nl)
Stratum         : 3
Ref time (UTC)  : Wed Nov 25 01:00:00 2026
System time     : 0.000412345 seconds slow of NTP time
Last offset     : +0.000001234 seconds
Leap status     : Normal
`;
const chronyUnsynced = `Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Leap status     : Not synchronised
`;
const policy = { unsynchronized: 'fault', maxOffsetMs: 1000 } as const;

describe('clock synchronisation: what the time sources say', () => {
  test('chrony: leap status and offset are read; an unsynchronised chrony is not synchronised', () => {
    expect(parseChronyTracking(chronySynced)).toMatchObject({
      synchronized: true,
      source: 'chrony',
      offsetMs: 0.412345,
    });
    expect(parseChronyTracking(chronyUnsynced)).toMatchObject({ synchronized: false });
    expect(parseChronyTracking('506 Cannot talk to daemon')).toBeUndefined();
  });

  test('kernel: STA_UNSYNC or TIME_ERROR mean unsynchronised', () => {
    expect(parseAdjtimex('{"state":0,"status":8193,"maxerror":12000}')).toMatchObject({ synchronized: true });
    expect(parseAdjtimex('{"state":5,"status":64,"maxerror":16000000}')).toMatchObject({ synchronized: false });
    expect(parseAdjtimex('{"state":0,"status":64,"maxerror":16000000}')).toMatchObject({ synchronized: false });
    expect(parseAdjtimex('not json')).toBeUndefined();
  });

  test('the site policy makes an unsynchronised clock a failure or a warning; a large offset counts as unsynchronised', () => {
    const unsynced = parseChronyTracking(chronyUnsynced)!;
    expect(judgeClock(unsynced, policy)).toMatchObject({ status: 'fail' });
    expect(judgeClock(unsynced, { ...policy, unsynchronized: 'warn' })).toMatchObject({ status: 'warn' });
    expect(judgeClock(unsynced, policy).fix).toMatch(/NTP/);
    const synced = parseChronyTracking(chronySynced)!;
    expect(judgeClock(synced, policy)).toMatchObject({ status: 'pass' });
    expect(judgeClock({ ...synced, offsetMs: 2500 }, policy)).toMatchObject({ status: 'fail' });
    expect(judgeClock({ synchronized: undefined, source: 'none', detail: 'x' }, policy)).toMatchObject({
      status: 'fail',
    });
  });

  test('on this machine a real source answers, and the monitor reports it in health and metrics per the policy', async () => {
    const run = commandRunner();
    const facts = await probeClockSync(run);
    expect(facts.source).not.toBe('none');
    expect(typeof facts.synchronized).toBe('boolean');
    for (const unsynchronized of ['fault', 'warn'] as const) {
      const registry = new Registry();
      const changes: string[] = [];
      const monitor = createClockMonitor({
        run,
        clock: systemClock,
        policy: { unsynchronized, maxOffsetMs: 1000 },
        registry,
        log: silentLogger,
        onChange: (v) => changes.push(v.status),
      });
      const health = new Health({ clock: systemClock, registry });
      health.register(monitor.health);
      await monitor.start();
      await monitor.stop();
      const expected = judgeClock(facts, { unsynchronized, maxOffsetMs: 1000 }).status;
      expect(changes).toEqual([expected]);
      const report = health.evaluate();
      expect(report.checks[0]).toMatchObject({ name: 'clock', critical: false, ok: expected !== 'fail' });
      // A clock problem degrades health but never withholds the watchdog (not critical).
      expect(report.status).toBe(expected === 'fail' ? 'degraded' : 'ok');
      const gauge = await registry.getSingleMetric('zonegate_clock_synchronized')!.get();
      expect(gauge.values[0]!.value).toBe(facts.synchronized ? 1 : 0);
    }
  });
});
