import type { Database, Tx } from '../db/pool.ts';
import { appendAudit } from '../audit/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { getNamingPolicy } from '../naming/policy.ts';
import { previewRename, renameNames, type AllocatedNames } from '../naming/registry.ts';
import { getPersonRow, searchTextOf, type PersonRow } from './people.ts';

export const RenameErrors = { notNeeded: 'rename_not_needed' } as const;

function renamePerson(r: PersonRow) {
  return {
    personId: r.id,
    first: r.preferred_name ?? r.first_name,
    last: r.last_name,
    legalFirst: r.first_name,
    employeeId: r.employee_id,
    username: r.username,
    workEmail: r.work_email,
  };
}

/**
 * Names are generated once and kept when a person moves. After a name change, the names the standard would give
 * now are offered (never applied silently): null when the current names still fit.
 */
export async function renameOffer(
  database: Pick<Database, 'db' | 'pool'>,
  personId: string,
  now: Date,
): Promise<AllocatedNames | null> {
  const row = await getPersonRow(database.pool, personId);
  if (row.status === 'terminated' || row.merged_into) return null;
  return previewRename(database, renamePerson(row), await getNamingPolicy(database), now);
}

/** Accept the offer: the new names are reserved, the old ones released after the embargo; audited. */
export async function acceptRename(tx: Tx, ctx: CommandContext, personId: string): Promise<AllocatedNames> {
  const now = ctx.clock.now();
  const row = await getPersonRow(tx.client, personId);
  const policy = await getNamingPolicy(tx);
  const offer = row.status === 'terminated' ? null : await previewRename(tx, renamePerson(row), policy, now);
  if (!offer)
    throw new GatehouseError(
      RenameErrors.notNeeded,
      `${row.display_name}'s names already follow the naming standard`,
      {
        status: 409,
      },
    );
  await renameNames(tx, personId, policy, now, offer);
  await tx.client.query(
    `update people set username = $2, work_email = $3, display_name = $4, search_text = $6, version = version + 1,
       updated_at = $5 where id = $1`,
    [
      personId,
      offer.username,
      offer.workEmail,
      offer.displayName,
      now,
      searchTextOf({
        firstName: row.first_name,
        lastName: row.last_name,
        preferredName: row.preferred_name,
        employeeId: row.employee_id,
        username: offer.username,
      }),
    ],
  );
  await appendAudit(tx, ctx, {
    action: 'person.renamed',
    subject: { type: 'person', id: personId },
    before: { username: row.username, workEmail: row.work_email, displayName: row.display_name },
    after: offer,
    dataSubject: `person:${personId}`,
  });
  return offer;
}
