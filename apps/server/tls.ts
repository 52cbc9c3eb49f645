/**
 * GATEHOUSE_REQUIRE_TLS: Gatehouse serves plain HTTP and expects a TLS proxy in front of it (RFC 7644 §7.2: SCIM
 * clients and servers must require TLS). A request that came over plain HTTP from where it must not is refused
 * before anything looks at its credentials, so a deployment exposed without TLS fails loudly instead of quietly
 * taking tokens and passwords in clear text. `external` (the default, as Keycloak's "SSL required: external
 * requests") lets loopback and private addresses through — the proxy on the same host or network, local
 * development, the tests — and refuses the rest; `all` refuses every plain-HTTP request; `none` turns it off.
 * Behind a proxy, `GATEHOUSE_TRUST_PROXY=true` makes the proxy's `X-Forwarded-Proto` and `-For` the request's
 * protocol and address. Health probes are always served.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { REQUIRE_TLS } from '../../src/config/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';

export type RequireTls = (typeof REQUIRE_TLS)[number];

export const TlsErrors = { required: 'tls_required' } as const;

/** Loopback, private (RFC 1918, RFC 4193) and link-local addresses. */
const LOCAL = new BlockList();
for (const [net, prefix] of [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16],
] as const)
  LOCAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  LOCAL.addSubnet(net, prefix, 'ipv6');

/** Whether an address is loopback, private or link-local (an IPv4-mapped IPv6 address as its IPv4 one). */
export function isLocalAddress(ip: string): boolean {
  const v4 = ip.toLowerCase().startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  try {
    return LOCAL.check(v4, isIPv4(v4) ? 'ipv4' : 'ipv6');
  } catch {
    return false; // not an address at all: not local
  }
}

const PROBES = new Set(['/healthz', '/readyz']);

/** Why a request must be refused for coming over plain HTTP, or null when it may be served. */
export function plainHttpRefusal(
  mode: RequireTls,
  req: { protocol: string; ip: string; url: string },
): GatehouseError | null {
  if (mode === 'none' || req.protocol === 'https') return null;
  if (PROBES.has(req.url.split('?')[0]!)) return null;
  if (mode === 'external' && isLocalAddress(req.ip)) return null;
  return new GatehouseError(
    TlsErrors.required,
    'Gatehouse takes this request over HTTPS only: reach it through a TLS proxy (and set GATEHOUSE_TRUST_PROXY=true there), or see GATEHOUSE_REQUIRE_TLS',
    { status: 403 },
  );
}
