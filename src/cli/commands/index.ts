import type { Command } from 'commander';
import { registerBollard } from './bollard.js';
import { registerCache } from './cache.js';
import { registerRegionLists } from './region-lists.js';
import { registerDoctor } from './doctor.js';
import { registerProvision } from './provision.js';
import { registerRecognize } from './recognize.js';
import { registerJournal } from './journal.js';
import { registerRegionExport } from './region-export.js';
import { registerRegionIngest } from './region-ingest.js';
import { registerReplay } from './replay.js';
import { registerRun } from './run.js';
import { registerProbe } from './probe.js';
import { registerCapture } from './capture.js';

/**
 * Every subcommand registers itself here, one line each. Keep the list in the order the
 * help text should show.
 */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerRun,
  registerReplay,
  registerCache,
  registerRecognize,
  registerProvision,
  registerDoctor,
  registerJournal,
  registerRegionIngest,
  registerRegionExport,
  registerRegionLists,
  registerBollard,
  registerProbe,
  registerCapture,
  // one line per entry, above this one
];
