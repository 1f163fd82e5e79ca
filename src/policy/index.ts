export * from './types.js';
export { decide, evaluateZe } from './decide.js';
export { zonePolicyFor, type ZonePolicyOptions } from './zone-policy.js';
export { loadZeRules, parseZeRules, DEFAULT_ZE_RULES_DIR } from './ze-rules.js';
export { localMoment, localDateStart, localDate, LIST_TIME_ZONE, type LocalMoment } from './local-time.js';
export { parseWindows, formatWindows, windowOpen, windowsFromConfig } from './windows.js';
