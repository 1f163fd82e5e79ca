import { isIP } from 'node:net';

/**
 * One entry of a source's `allowFrom`: an IPv4/IPv6 address or CIDR range. Host names are not
 * accepted: a name is resolved by DNS, which whoever wants to send fake reads may control, and a
 * lookup at every connection would make admission depend on the resolver being up.
 */
export interface AddressRange {
  readonly family: 'ipv4' | 'ipv6';
  /** The network address (an IPv4-mapped IPv6 entry is stored as its IPv4 address). */
  readonly address: string;
  readonly prefix: number;
}

const EXAMPLES = 'e.g. 192.0.2.10, 192.0.2.0/28, 2001:db8::/64';

/** Parses one allowFrom entry; a string result is the problem, written for the site profile's author. */
export function parseAddressRange(text: string): AddressRange | string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (address.includes('%'))
    return `"${text}": an interface zone (%…) cannot be matched; write the address or range without it`;
  const version = isIP(address);
  if (version === 0)
    return `"${text}" is not an IPv4 or IPv6 address or CIDR range (${EXAMPLES}); host names are not accepted`;
  const bits = version === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits)
      return `"${text}": an IPv${version} prefix is /0 to /${bits}`;
    prefix = Number(prefixText);
  }
  const value = version === 4 ? ipv4Value(address) : ipv6Value(address);
  const hostBits = BigInt(bits - prefix);
  const network = (value >> hostBits) << hostBits;
  if (network !== value) {
    const net = version === 4 ? formatIpv4(network) : formatIpv6(network);
    return `"${text}" has bits set after the /${prefix} prefix: write ${net}/${prefix} for the network, or ${address} alone for one camera`;
  }
  // ::ffff:a.b.c.d is how a dual-stack listener sees an IPv4 peer: keep such entries IPv4.
  if (version === 6 && prefix >= 96 && value >> 32n === 0xffffn)
    return { family: 'ipv4', address: formatIpv4(value & 0xffffffffn), prefix: prefix - 96 };
  return { family: version === 4 ? 'ipv4' : 'ipv6', address, prefix };
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** The 128-bit value of an address that net.isIP accepted (with `::` and a dotted IPv4 tail). */
function ipv6Value(address: string): bigint {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Value(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function formatIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  // Shorten the longest run of zero groups to `::`, as people write IPv6 addresses.
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}
