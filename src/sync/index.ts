/**
 * Gateway ↔ region over MQTT: the one connection (connectMqtt), the uplink of journaled events
 * (createUplink), the retained status topic (createStatusPublisher), and the message contracts.
 * List downlink lives beside these in lists*.ts (its own module).
 */
export {
  connectMqtt,
  mqttClientOptions,
  mqttProtocolOf,
  offlineWill,
  waitConnected,
  ForgetfulStore,
  MqttSettingsError,
  type ConnectMqttDeps,
  type MqttClient,
  type MqttSettings,
} from './mqtt.js';
export { createUplink, type Uplink, type UplinkDeps, type UplinkSettings, type UplinkStats } from './uplink.js';
export { createStatusPublisher, type StatusPublisher, type StatusPublisherDeps } from './status.js';
export { gatewayTopics, regionTopics, type Topics } from './topics.js';
export {
  ackSchema,
  batchSchema,
  eventSchema,
  parseMessage,
  statusSchema,
  type AckMessage,
  type EventBatch,
  type StatusMessage,
  type UplinkEvent,
} from './messages.js';
