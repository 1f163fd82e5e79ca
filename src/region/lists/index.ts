export * from './publish.js';
export {
  syntheticList,
  syntheticPlates,
  absentPlates,
  type SyntheticEntry,
  type SyntheticOptions,
} from './synthetic.js';
export { buildListMessages, type PublishListRequest, type PublishListResult, type ListSource } from './publish-list.js';
export { createListServer, type ListServer, type ListServerDeps, type ListServerSettings } from './server.js';
