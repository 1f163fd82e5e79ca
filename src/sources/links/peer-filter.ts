import { BlockList, isIP } from 'node:net';
import { parseAddressRange } from '../../config/address-range.js';

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Which hosts may connect to a listening camera source (`allowFrom`). Matching is Node's
 * BlockList (used here as an allow list); a peer that a dual-stack listener reports as
 * ::ffff:a.b.c.d is matched as the IPv4 address it is.
 */
export class PeerFilter {
  readonly #list = new BlockList();

  /** Throws naming the entry that is not an address or CIDR range (the site schema checks first). */
  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const range = parseAddressRange(entry);
      if (typeof range === 'string') throw new Error(`allowFrom: ${range}`);
      this.#list.addSubnet(range.address, range.prefix, range.family);
    }
  }

  allows(peer: string): boolean {
    const address = peer.replace(/%.*$/, '');
    const mapped = IPV4_MAPPED.exec(address);
    if (mapped) return this.#list.check(mapped[1]!, 'ipv4');
    const version = isIP(address);
    // No address at all (the socket closed before its peer was known): not allowed.
    if (version === 0) return false;
    return this.#list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}
