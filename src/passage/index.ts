export * from './passage.js';
