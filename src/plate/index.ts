export * from './key.js';
export * from './sidecodes.js';
export * from './confusions.js';
