// The RTMP listener: node-media-server's RTMP protocol engine (handshake, chunking, AMF commands)
// on our own TCP server, so that a publish is answered only after Nova has checked the stream key.
// node-media-server's own session layer answers "NetStream.Publish.Start" before any check and
// keeps global state per process, so only its protocol and FLV modules are used here.
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A media packet as the protocol engine hands it over (FLV tag semantics). */
export interface AvPacket {
  codec_id: number;
  /** 8 audio, 9 video, 18 script data. */
  codec_type: number;
  /** 0 audio header, 1 audio, 2 video header, 3 keyframe, 4 inter frame, 5 metadata. */
  flags: number;
  dts: number;
  pts: number;
  size: number;
  /** The engine reuses this buffer: copy what you keep before returning. */
  data: Buffer;
}

interface RtmpEngine {
  streamApp: string;
  streamName: string;
  streamId: number;
  parserPacket: { header: { stream_id: number } };
  parserData(buf: Buffer): string | null;
  respondPublish(): void;
  sendStatusMessage(sid: number, level: string, code: string, description: string): void;
  onOutputCallback: (buf: Buffer) => void;
  onPacketCallback: (p: AvPacket) => void;
  onPublish: (msg: { streamName: string }) => void;
  onPlay: (msg: { streamName: string }) => void;
}

const Rtmp = require('node-media-server/src/protocol/rtmp.js') as new () => RtmpEngine;
const Flv = require('node-media-server/src/protocol/flv.js') as {
  createHeader(hasAudio: boolean, hasVideo: boolean): Buffer;
  createMessage(p: AvPacket): Buffer;
};
const { parseH264Sps } = require('node-media-server/src/protocol/sps_info.js') as {
  parseH264Sps(sps: Buffer): { width: number; height: number } | null;
};

export const flvHeader = (hasAudio: boolean): Buffer => Flv.createHeader(hasAudio, true);
/** A complete FLV tag (a fresh buffer) for the packet. */
export const flvTag = (p: AvPacket): Buffer => Flv.createMessage(p);

/** Width and height from an FLV AVC sequence header (AVCDecoderConfigurationRecord), if parseable. */
export function avcDimensions(data: Buffer): { width: number; height: number } | null {
  // [0] frame/codec, [1] packet type, [2..4] cts, [5] version, [6..9] profile/compat/level/length, [10] #SPS, [11..12] SPS length.
  if (data.length < 14 || (data[10] & 0x1f) < 1) return null;
  const len = data.readUInt16BE(11);
  if (13 + len > data.length) return null;
  return parseH264Sps(data.subarray(13, 13 + len));
}

/** What the application decides about a publish; media is only delivered after `accept`. */
export interface PublishHandler {
  onPacket(p: AvPacket): void;
  /** The connection closed (either side). Called once. */
  onClose(): void;
}

export interface RtmpConnection {
  readonly remoteAddress: string | null;
  /** Bytes received on this connection so far. */
  readonly bytesIn: number;
  close(): void;
}

export type PublishDecider = (req: { app: string; key: string }, conn: RtmpConnection) => Promise<PublishHandler | { refused: string }>;

export interface RtmpServerOptions {
  /** Seconds a connection may take from TCP connect to an accepted publish. */
  handshakeTimeoutSeconds: number;
  maxConnections: number;
  onError: (err: unknown, what: string) => void;
}

export class RtmpServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly decide: PublishDecider, private readonly opts: RtmpServerOptions) {
    this.server = net.createServer((socket) => this.handle(socket));
    this.server.maxConnections = opts.maxConnections;
  }

  /** Listens and returns the bound port (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.opts.onError(err, 'rtmp listener'));
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private handle(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const rtmp = new Rtmp();
    let state: 'handshake' | 'deciding' | 'publishing' | 'closed' = 'handshake';
    let handler: PublishHandler | null = null;
    let bytesIn = 0;
    const conn: RtmpConnection = {
      remoteAddress: socket.remoteAddress ?? null,
      get bytesIn() {
        return bytesIn;
      },
      close: () => socket.destroy(),
    };
    const deadline = setTimeout(() => {
      if (state !== 'publishing') socket.destroy();
    }, this.opts.handshakeTimeoutSeconds * 1000);

    const refuse = (code: string, description: string) => {
      try {
        rtmp.sendStatusMessage(rtmp.streamId, 'error', code, description);
      } catch {
        // The socket may already be gone; closing is all that is left to do.
      }
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    };

    rtmp.onOutputCallback = (buf) => {
      if (!socket.destroyed) socket.write(buf);
    };
    // Nova serves viewers over HLS only: RTMP playback is refused.
    rtmp.onPlay = () => refuse('NetStream.Play.Failed', 'Playback over RTMP is not offered.');
    rtmp.onPublish = (msg) => {
      if (state !== 'handshake') return refuse('NetStream.Publish.BadName', 'One publish per connection.');
      state = 'deciding';
      const name = String(msg.streamName ?? '');
      rtmp.streamName = name.split('?')[0];
      rtmp.streamId = rtmp.parserPacket.header.stream_id;
      this.decide({ app: String(rtmp.streamApp ?? ''), key: rtmp.streamName }, conn).then(
        (decision) => {
          if ('refused' in decision) {
            state = 'closed';
            return refuse('NetStream.Publish.BadName', decision.refused);
          }
          if (socket.destroyed) {
            state = 'closed';
            decision.onClose();
            return;
          }
          handler = decision;
          state = 'publishing';
          clearTimeout(deadline);
          rtmp.respondPublish();
        },
        (err) => {
          this.opts.onError(err, 'publish decision');
          state = 'closed';
          refuse('NetStream.Publish.Failed', 'Publish failed on the server.');
        },
      );
    };
    // Media sent before the publish was accepted is dropped, never forwarded.
    rtmp.onPacketCallback = (p) => {
      if (state === 'publishing' && handler) handler.onPacket(p);
    };

    socket.on('data', (data: Buffer) => {
      bytesIn += data.length;
      try {
        const err = rtmp.parserData(data);
        if (err) socket.destroy();
      } catch (err) {
        // Malformed input (bad tcUrl, broken AMF): drop this connection, never the process.
        this.opts.onError(err, 'rtmp parse');
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(deadline);
      this.sockets.delete(socket);
      const h = handler;
      handler = null;
      state = 'closed';
      h?.onClose();
    });
  }
}
