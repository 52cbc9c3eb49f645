export { bootstrap, type BootstrapResult } from './bootstrap.ts';
export {
  probeQueue,
  probeReport,
  sendProbes,
  PROBE_QUEUE,
  type ProbeData,
  type ProbeReport,
} from './probe.ts';
export { VERSION } from './version.ts';
