// Tools of the abuse suite: raw HTTP requests from a chosen loopback source address (127.0.0.x, so
// one test plays several clients), streams held open, and metric values read from /metrics.
import http from 'node:http';
import net from 'node:net';

export interface HeldResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body so far (or all of it, once ended). */
  body(): string;
  ended: Promise<void>;
  close(): void;
}

/** Sends a request and resolves on the response head; the connection stays open until close(). */
export function hold(url: string, opts: { method?: string; headers?: Record<string, string>; from?: string; body?: string } = {}): Promise<HeldResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const ended = new Promise<void>((done) => {
        res.on('end', () => done());
        res.on('close', () => done());
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: () => text, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A raw TCP connection from a chosen source address; resolves once connected. */
export function connect(port: number, from = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed by the other side (or errors). */
export function closedBy(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    socket.on('error', () => {});
  });
}

/** The value of one metric (summed over its label sets) from a Prometheus text page. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      found = true;
    }
  }
  if (!found) throw new Error(`metric ${name} not found`);
  return sum;
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}
