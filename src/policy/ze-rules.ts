import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import { parseConfigYaml } from '../config/yaml.js';
import { localDateStart } from './local-time.js';
import type { ZeRuleSet } from './types.js';

/** Where the rule sets ship: firmware-config/ze-rules/NAME.yaml (same path from src/ and dist/). */
export const DEFAULT_ZE_RULES_DIR = fileURLToPath(new URL('../../firmware-config/ze-rules/', import.meta.url));

const localDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a local date YYYY-MM-DD')
  .transform((s, ctx) => {
    const ms = localDateStart(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a calendar date` });
      return z.NEVER;
    }
    return ms;
  });

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'an id of lower-case letters, digits and dashes');

/** RDW body types (carrosserie), matched case-insensitively. */
const bodyTypeList = z
  .array(
    z
      .string()
      .min(1)
      .transform((s) => s.toLowerCase()),
  )
  .min(1)
  .optional();

export const zeRuleFileSchema = z.strictObject({
  id: ruleId,
  version: z.string().min(1),
  inForceFrom: localDate,
  zeroEmissionFuels: z
    .array(
      z
        .string()
        .min(1)
        .transform((s) => s.toLowerCase()),
    )
    .min(1),
  classes: z
    .array(
      z.strictObject({
        id: ruleId,
        categories: z.array(z.string().min(1)).min(1),
        minMassKg: z.number().int().positive().optional(),
        maxMassKg: z.number().int().positive().optional(),
      }),
    )
    .min(1),
  exemptions: z
    .array(
      z.strictObject({
        id: ruleId,
        classes: z.array(ruleId).min(1),
        minAgeYears: z.number().int().positive().optional(),
        maxAgeYears: z.number().int().positive().optional(),
        bodyCodes: z.array(z.string().min(1)).min(1).optional(),
      }),
    )
    .default([]),
  transitions: z
    .array(
      z.strictObject({
        id: ruleId,
        classes: z.array(ruleId).min(1),
        emissionClasses: z.array(z.number().int().min(0).max(9)).min(1),
        firstAdmissionFrom: localDate.optional(),
        firstAdmissionBefore: localDate.optional(),
        bodyTypes: bodyTypeList,
        notBodyTypes: bodyTypeList,
        until: localDate,
      }),
    )
    .default([]),
});

/**
 * Parses and checks a rule set (YAML text); `file` is used in messages only. Read like the site
 * profile: a YAML mistake is named by line and column, and a key given twice is refused.
 */
export function parseZeRules(text: string, file: string): ZeRuleSet {
  const result = zeRuleFileSchema.safeParse(parseConfigYaml(text, file));
  if (!result.success)
    throw new ConfigError(
      file,
      result.error.issues.map((i) => `${i.path.map(String).join('.') || '(top level)'}: ${i.message}`),
    );
  const rules = result.data;
  const classIds = new Set(rules.classes.map((c) => c.id));
  const problems: string[] = [];
  const checkClasses = (where: string, ids: readonly string[]): void => {
    for (const id of ids) if (!classIds.has(id)) problems.push(`${where}: no vehicle class "${id}"`);
  };
  rules.exemptions.forEach((e, i) => checkClasses(`exemptions.${i}.classes`, e.classes));
  rules.transitions.forEach((t, i) => {
    checkClasses(`transitions.${i}.classes`, t.classes);
    if (
      t.firstAdmissionFrom !== undefined &&
      t.firstAdmissionBefore !== undefined &&
      t.firstAdmissionFrom >= t.firstAdmissionBefore
    )
      problems.push(`transitions.${i}: firstAdmissionFrom must be before firstAdmissionBefore`);
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return rules;
}

/** Loads firmware-config/ze-rules/NAME.yaml (or NAME.yaml in `dir`). */
export function loadZeRules(name: string, dir: string = DEFAULT_ZE_RULES_DIR): ZeRuleSet {
  const file = join(dir, `${name}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      code === 'ENOENT'
        ? `no ZE rule set "${name}" (policy.zeroEmission.rules)`
        : `cannot read (${code ?? String(err)})`,
    ]);
  }
  const rules = parseZeRules(text, file);
  if (rules.id !== name) throw new ConfigError(file, [`id is "${rules.id}" but the file is named "${name}"`]);
  return rules;
}
