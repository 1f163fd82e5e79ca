/**
 * The MQTT topic tree, all under one configured prefix (default `zonegate/v1`). docs/mqtt/
 * describes every topic and payload.
 */
export interface Topics {
  /** gateway → region: event batches. */
  readonly events: string;
  /** region → gateway: acknowledged seq ranges. */
  readonly ack: string;
  /** gateway, retained, with a last will. */
  readonly status: string;
}

export function gatewayTopics(prefix: string, gatewayId: string): Topics {
  const base = `${trimPrefix(prefix)}/gw/${gatewayId}`;
  return { events: `${base}/events`, ack: `${base}/ack`, status: `${base}/status` };
}

/** The region's view: every gateway's batches, and where a gateway's acknowledgements go. */
export function regionTopics(prefix: string): {
  readonly allEvents: string;
  readonly allStatus: string;
  readonly ackFor: (gatewayId: string) => string;
  readonly gatewayOfEvents: (topic: string) => string | undefined;
} {
  const p = trimPrefix(prefix);
  const pattern = new RegExp(`^${escapeRegExp(p)}/gw/([^/]+)/events$`);
  return {
    allEvents: `${p}/gw/+/events`,
    allStatus: `${p}/gw/+/status`,
    ackFor: (gatewayId) => `${p}/gw/${gatewayId}/ack`,
    gatewayOfEvents: (topic) => pattern.exec(topic)?.[1],
  };
}

function trimPrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
