import { describe, expect, test } from 'vitest';
import { grantFromRow } from '../../src/cache/csv.js';
import type { Grant } from '../../src/policy/types.js';

const row = (plate: string, kind = 'resident'): Record<string, string> => ({
  plate,
  country: 'NL',
  scope: 'zone:demo-centrum',
  kind,
  valid_from: '2025-01-01',
  valid_until: '',
  windows: '',
  vehicle_categories: '',
  source_ref: '',
  id: '',
});

const grant = (r: Record<string, string>): Grant => {
  const g = grantFromRow(r, 2);
  if (Array.isArray(g)) throw new Error(JSON.stringify(g));
  return g;
};

describe('the id of a grant listed without one', () => {
  test('says nothing about the plate: it travels with every allowed passage, whose plate leaves only as a keyed hash', () => {
    const a = grant(row('K-285-TX'));
    const b = grant(row('52-HKV-7'));
    expect(a.id).toMatch(/^g-[0-9a-f]{16}$/);
    expect(a.id).toBe(b.id);
  });

  test('is stable for the same row and tells one plate’s grants apart', () => {
    expect(grant(row('K-285-TX')).id).toBe(grant(row('K-285-TX')).id);
    expect(grant(row('K-285-TX', 'supplier')).id).not.toBe(grant(row('K-285-TX')).id);
  });
});
