import type { Command } from 'commander';

/**
 * `zonegate region …`: the reference back office's commands, registered by several modules.
 * Returns the existing `region` command, or creates it.
 */
export function regionCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'region');
  if (existing) return existing;
  return program
    .command('region')
    .description('reference back office: ingest gateway events into PostgreSQL, publish lists, export passages');
}
