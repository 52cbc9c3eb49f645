export {
  Jobs,
  JobErrors,
  type QueueDefinition,
  type JobContext,
  type RetryPolicy,
  type SendOptions,
  type JobsOptions,
} from './jobs.ts';
export { resolveLocalTime, TimeErrors } from './local-time.ts';
