/**
 * A self-test result as the technician sees it: what was checked, what was found and, when it is
 * not fine, what to do about it. Every check takes its inputs explicitly (paths, config sections,
 * a command runner) so it can run from `zonegate doctor`, from provisioning and from tests alike.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id: 'clock', 'disk', 'database:journal.sqlite', 'serial:cam-1' … */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found, in one line. */
  readonly detail: string;
  /** How to fix it; present on every warn and fail. */
  readonly fix?: string;
}

export function result(id: string, title: string, status: CheckStatus, detail: string, fix?: string): CheckResult {
  return {
    id,
    title,
    status,
    detail,
    ...(fix !== undefined && (status === 'fail' || status === 'warn') ? { fix } : {}),
  };
}

/** How a result's status is marked at the start of its line, by doctor and by provisioning alike. */
export const CHECK_MARK = { pass: '✓', warn: '!', fail: '✗', skip: '-' } as const satisfies Record<CheckStatus, string>;
