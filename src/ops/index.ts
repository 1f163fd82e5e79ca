/**
 * Operations: what the technician and the region see of a running gateway, and how it lives
 * under systemd. Nothing here sits on the hot path; the gateway feeds it and it observes.
 */
export { Health, eventLoopCheck } from './health.js';
export type { HealthCheck, HealthCheckState, HealthProbeResult, HealthReport, HealthStatus } from './health.js';
export {
  SystemdNotifier,
  createWatchdog,
  systemdNotifyTransport,
  watchdogIntervalMs,
  type NotifierDeps,
  type NotifyTransport,
  type SystemdNotifyEnv,
  type WatchdogDeps,
} from './notify.js';
export { baseVersions, registerProcessMetrics, zonegateVersion } from './observability.js';
export { StatusBoard, type StatusBoardDeps } from './status-board.js';
export type * from './status-model.js';
export { createStatusServer, resolveListen, type StatusServer, type StatusServerDeps } from './status-server.js';
export { createOpsService, statusLine, type OpsService, type OpsServiceDeps } from './service.js';
export { createClockMonitor, type ClockMonitor, type ClockMonitorDeps } from './clock-monitor.js';
export { judgeClock, probeClockSync, type ClockFacts } from './clock-sync.js';
export { grabFrame, jpegSize, type GrabbedFrame } from './frame-grab.js';
export { commandRunner, type CommandRunner, type CommandOutcome } from './run-command.js';
export {
  provision,
  type ProvisionDeps,
  type ProvisionOptions,
  type ProvisionOutcome,
  type SerialProbe,
} from './provision/provision.js';
