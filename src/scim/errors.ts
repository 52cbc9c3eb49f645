/**
 * SCIM errors (RFC 7644 §3.12): a GatehouseError whose code is `scim_<scimType>` (`scim_error` when the error has
 * no scimType), with the scimType in `details` for the HTTP edge to put into the SCIM error body.
 */
import { GatehouseError, type ErrorStatus } from '../kit/errors.ts';

/** RFC 7644 Table 9: the `scimType` values. */
export const ScimTypes = {
  invalidFilter: 'invalidFilter',
  tooMany: 'tooMany',
  uniqueness: 'uniqueness',
  mutability: 'mutability',
  invalidSyntax: 'invalidSyntax',
  invalidPath: 'invalidPath',
  noTarget: 'noTarget',
  invalidValue: 'invalidValue',
  invalidVers: 'invalidVers',
  sensitive: 'sensitive',
} as const;

export type ScimStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 500 | 501;

/**
 * A SCIM error. `field` (the attribute or request member at fault) becomes the one problem of the error.
 * kit's ErrorStatus does not list 413 and 501 (yet); the status is carried as given.
 */
export function scimError(
  status: ScimStatus,
  scimType: string | null,
  message: string,
  field?: string,
): GatehouseError {
  return new GatehouseError(`scim_${scimType ?? 'error'}`, message, {
    status: status as ErrorStatus,
    ...(scimType ? { details: { scimType } } : {}),
    ...(field !== undefined ? { problems: [{ field, message }] } : {}),
  });
}
