import { expect, test } from 'vitest';
import { HOLD_DURATION, parseDuration } from '../../src/cli/commands/bollard.js';
import { UsageError } from '../../src/cli/main.js';

test('hold and failsafe durations read as a technician types them, and nonsense is a usage error naming the option', () => {
  expect(parseDuration('90s', '--for')).toBe(90_000);
  expect(parseDuration('5m', '--for')).toBe(300_000);
  expect(parseDuration('1h', '--for')).toBe(3_600_000);
  expect(parseDuration('1.5s', '--for')).toBe(1500);
  expect(parseDuration('250', '--for')).toBe(250);
  expect(() => parseDuration('ten minutes', '--for')).toThrow(UsageError);
  expect(() => parseDuration('5 m', '--max-wait')).toThrow(
    /--max-wait: expected a duration such as 90s, 5m or 1h, got "5 m"/,
  );
});

test('a hold lasts between 1 s and 1 h, as the message says', () => {
  expect(parseDuration('1s', '--for', HOLD_DURATION)).toBe(1000);
  expect(parseDuration('1h', '--for', HOLD_DURATION)).toBe(3_600_000);
  expect(() => parseDuration('500ms', '--for', HOLD_DURATION)).toThrow('--for: between 1 s and 1 h, got "500ms"');
  expect(() => parseDuration('0', '--for', HOLD_DURATION)).toThrow(UsageError);
  expect(() => parseDuration('61m', '--for', HOLD_DURATION)).toThrow('--for: between 1 s and 1 h, got "61m"');
});
