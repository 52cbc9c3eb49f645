import type { QueueDefinition } from '../jobs/index.ts';
import { probeQueue } from '../system/index.ts';
import { verifyQueue } from '../audit/index.ts';
import { lifecycleQueue } from '../hr/lifecycle.ts';
import { dropFolderQueue } from '../hr/drop-folder.ts';
import { applyQueue, planQueue } from '../provisioning/index.ts';
import { reconcileQueue } from '../reconcile/index.ts';

/** Every job queue of the product. A capability adds its queue definitions here. */
export const ALL_QUEUES: QueueDefinition<never>[] = [
  probeQueue as QueueDefinition<never>,
  verifyQueue as QueueDefinition<never>,
  lifecycleQueue as QueueDefinition<never>,
  dropFolderQueue as QueueDefinition<never>,
  applyQueue as QueueDefinition<never>,
  planQueue as QueueDefinition<never>,
  reconcileQueue as QueueDefinition<never>,
];
