import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { journaldPriorityPrefix } from '../../src/shared/log.js';
import { repoRoot } from '../helpers/cli.js';

describe('logs under systemd', () => {
  test('each JSON line gets the syslog priority of its level, so journalctl -p filters by it', () => {
    expect(journaldPriorityPrefix('{"level":60,"msg":"x"}\n')).toBe('<2>{"level":60,"msg":"x"}\n');
    expect(journaldPriorityPrefix('{"level":50,"msg":"\\"level\\":30"}\n')).toMatch(/^<3>/);
    expect(journaldPriorityPrefix('{"level":40}\n')).toMatch(/^<4>/);
    expect(journaldPriorityPrefix('{"level":30}\n')).toMatch(/^<6>/);
    expect(journaldPriorityPrefix('{"level":20}\n')).toMatch(/^<7>/);
  });

  test('a process whose stdout is the journal (JOURNAL_STREAM set) prefixes its lines; elsewhere lines stay plain JSON', () => {
    const script =
      "import { createLogger } from './src/shared/log.ts'; const l = createLogger(); l.warn('bollard slow'); l.info('ready');";
    const run = (env: Record<string, string>): string[] =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: repoRoot,
        env: { ...process.env, ZONEGATE_LOG_LEVEL: 'info', JOURNAL_STREAM: '', ...env },
        encoding: 'utf8',
      })
        .stdout.trim()
        .split('\n');
    const journald = run({ JOURNAL_STREAM: '8:12345' });
    expect(journald[0]).toMatch(/^<4>\{"level":40,.*"msg":"bollard slow"\}$/);
    expect(journald[1]).toMatch(/^<6>\{"level":30,/);
    const plain = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: Object.fromEntries(
        Object.entries({ ...process.env, ZONEGATE_LOG_LEVEL: 'info' }).filter(([k]) => k !== 'JOURNAL_STREAM'),
      ),
      encoding: 'utf8',
    })
      .stdout.trim()
      .split('\n');
    expect(JSON.parse(plain[0]!)).toMatchObject({ level: 40, msg: 'bollard slow' });
  });
});
