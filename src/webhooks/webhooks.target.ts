// Where deliveries may go (SSRF guard). Loopback, private, link-local, unique-local, CGNAT,
// reserved and cloud-metadata addresses are refused unless WEBHOOKS_ALLOW_PRIVATE=true or the host
// is listed in WEBHOOKS_ALLOWED_HOSTS. The check runs on the literal URL when a subscription is
// created, and again at every delivery on the addresses DNS returns: the connection then uses
// exactly the address that was checked (our lookup hands it to the socket), so a DNS answer that
// changes between check and connect (rebinding) cannot slip through. Redirects are never followed.
import dns from 'node:dns';
import net from 'node:net';
import { ipv6Groups } from '../http/address.js';

export class TargetRefusedError extends Error {}

const blocked = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  blocked.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [
  // IPv4-compatible (::a.b.c.d, deprecated since 2006; also :: and ::1), 6to4 and Teredo: transition
  // forms whose embedded IPv4 address the operating system may route to, loopback included. No
  // webhook receiver needs them, so they are refused whatever IPv4 address they carry.
  ['::', 96],
  ['2002::', 16], // 6to4
  ['2001::', 32], // Teredo
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local (incl. AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // old site-local
  ['ff00::', 8], // multicast
] as const)
  blocked.addSubnet(addr, prefix, 'ipv6');

/**
 * The IPv4 address an IPv4-mapped (::ffff:0:0/96), SIIT-translated (::ffff:0:0:0/96) or NAT64
 * (64:ff9b::/96) IPv6 address stands for, if it is one: these reach that IPv4 address, so it is
 * the one checked.
 */
function embeddedIpv4(ip: string): string | null {
  const g = ipv6Groups(ip);
  if (g.length !== 8 || g.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) return null;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const mapped = zeros(0, 5) && g[5] === 0xffff;
  const translated = zeros(0, 4) && g[4] === 0xffff && g[5] === 0;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6);
  if (!mapped && !translated && !nat64) return null;
  return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join('.');
}

export function isPrivateAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return blocked.check(ip, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(ip.toLowerCase());
    if (v4) return blocked.check(v4, 'ipv4');
    return blocked.check(ip, 'ipv6');
  }
  return true; // not an address at all: refuse
}

export interface TargetPolicyOptions {
  allowPrivate: boolean;
  allowedHosts: string[];
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

export class TargetPolicy {
  private readonly allowed: Set<string>;

  constructor(private readonly opts: TargetPolicyOptions) {
    this.allowed = new Set(opts.allowedHosts.map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()));
  }

  private trusted(host: string): boolean {
    return this.opts.allowPrivate || this.allowed.has(host.toLowerCase());
  }

  /** Parses and checks a subscription URL; throws TargetRefusedError with a reason a user can act on. */
  async check(raw: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new TargetRefusedError('is not a valid absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetRefusedError('must use http or https');
    if (url.username || url.password) throw new TargetRefusedError('must not contain credentials');
    const host = hostOf(url);
    if (this.trusted(host)) return url;
    if (net.isIP(host)) {
      if (isPrivateAddress(host)) throw new TargetRefusedError(`points to ${host}, a loopback, private or reserved address`);
      return url;
    }
    let addresses: dns.LookupAddress[];
    try {
      addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
    } catch {
      throw new TargetRefusedError(`host "${host}" does not resolve`);
    }
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) throw new TargetRefusedError(`host "${host}" resolves to a loopback, private or reserved address`);
    return url;
  }

  /** Checks a literal-IP host at delivery time (sockets skip the lookup for literal IPs). */
  checkLiteral(url: URL): void {
    const host = hostOf(url);
    if (net.isIP(host) && !this.trusted(host) && isPrivateAddress(host)) {
      throw new TargetRefusedError(`target address ${host} is loopback, private or reserved`);
    }
  }

  /**
   * A `lookup` for http.request: resolves once, refuses if any answer is private, and gives the
   * socket only the checked addresses.
   */
  readonly lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (!this.trusted(hostname) && addresses.some((a) => isPrivateAddress(a.address))) {
        return callback(Object.assign(new TargetRefusedError(`${hostname} resolves to a loopback, private or reserved address`), { code: 'ENOTALLOWED' }), []);
      }
      const list = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
      if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}
