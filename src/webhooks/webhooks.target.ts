// Where deliveries may go (SSRF guard). Loopback, private, link-local, unique-local, CGNAT,
// reserved and cloud-metadata addresses are refused unless WEBHOOKS_ALLOW_PRIVATE=true or the host
// is listed in WEBHOOKS_ALLOWED_HOSTS. The check runs on the literal URL when a subscription is
// created, and again at every delivery on the addresses DNS returns: the connection then uses
// exactly the address that was checked (our lookup hands it to the socket), so a DNS answer that
// changes between check and connect (rebinding) cannot slip through. Redirects are never followed.
import dns from 'node:dns';
import net from 'node:net';

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
] as const) blocked.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local (incl. AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // old site-local
  ['ff00::', 8], // multicast
] as const) blocked.addSubnet(addr, prefix, 'ipv6');

/** The IPv4 address embedded in an IPv4-mapped/-compatible or NAT64 IPv6 address, if any. */
function embeddedIpv4(ip: string): string | null {
  const m = /^(?:::ffff:(?:0:)?|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1];
  const hex = /^(?:::ffff:(?:0:)?|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!hex) return null;
  const hi = parseInt(hex[1], 16);
  const lo = parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
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
