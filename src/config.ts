// Nova's settings, read from the environment once and validated.
// This is the only module that reads environment variables: everything else receives a Config.
// A bad value throws ConfigError naming the variable, which the CLI prints as one line.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid ${variable}: ${message}`);
  }
}

export interface S3Config {
  endpoint?: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

export interface Config {
  port: number;
  host: string;
  rtmpPort: number;
  dataDir: string;
  modelsDir: string;
  /** Built web app served at `/`; defaults to dist/web/app next to the code. */
  webDir?: string;
  /** Public base URL used to build absolute links (upload URLs, playlists); derived from the request when unset. */
  publicUrl?: string;
  databaseUrl?: string;
  sqlitePath: string;
  redisUrl?: string;
  s3?: S3Config;
  kafkaBrokers?: string[];
  kafkaTopicPrefix: string;
  kafka: KafkaConfig;
  admin?: string;
  uploadMaxBytes: number;
  uploadExpirySeconds: number;
  /** Videos one user may have waiting for their upload at once (created within the expiry); 0: no limit. */
  uploadMaxPendingPerUser: number;
  liveReconnectWindowSeconds: number;
  webhooksAllowPrivate: boolean;
  logLevel: string;
  /**
   * Login attempts allowed per username from one address within loginWindowSeconds (×5 per
   * address over all usernames, ×20 per username over all addresses).
   */
  loginMaxAttempts: number;
  loginWindowSeconds: number;
  /** Accounts one address may create per registerWindowSeconds; 0 means no limit. */
  registerMaxPerAddress: number;
  registerWindowSeconds: number;
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (Fastify's trustProxy):
   * false (none: the socket's peer is the client), a hop count, or addresses/CIDRs of the proxies.
   */
  trustProxy: boolean | number | string[];
  /** Bearer tokens expire after this many seconds. */
  tokenTtlSeconds: number;
  /**
   * How long a node reuses a bearer token's lookup without asking the database (0: never). Sign-out,
   * disabling and role changes drop the cached lookups at once, on every node through Redis.
   */
  sessionCacheSeconds: number;
  jobAttempts: number;
  workerConcurrency: number;
  /** A running job's lease: a worker that stops heartbeating loses its job after this long. */
  jobLeaseSeconds: number;
  /** First retry delay of a failed job; doubles with each attempt. */
  jobBackoffSeconds: number;
  /** Prefix of the job queue's Redis keys, the progress channel and upload locks (tests use a unique one). */
  queuePrefix: string;
  /** Lifetime of presigned media URLs (S3). */
  mediaUrlTtlSeconds: number;
  /** How long a private video's signed playback URL opens its media. */
  playbackTokenTtlSeconds: number;
  /**
   * Where tus uploads are staged: `s3` (@tus/s3-store, the default with S3; any API node can resume
   * an upload) or `file` (@tus/file-store under DATA_DIR, copied to storage when complete).
   */
  uploadStore: 'file' | 's3';
  /**
   * Folder of the file upload store (UPLOAD_STORE=file). API nodes behind one load balancer share it
   * (a shared volume), so an upload started on one node continues on another.
   */
  uploadDir: string;
  /** With REDIS_URL, an upload's lock (held while one request writes it) lasts this long unless renewed. */
  uploadLockSeconds: number;
  ffmpegPreset: string;
  /** ENCODING_MODE: per_title (a complexity probe picks capped-quality rate control per rung) or fixed (the contract's bitrates). */
  encodingMode: 'per_title' | 'fixed';
  ffmpegTimeoutSeconds: number;
  /** Explicit ffmpeg/ffprobe executables; when unset they are looked up on PATH, then in the bundled npm packages. */
  ffmpegPath?: string;
  ffprobePath?: string;
  /**
   * Whether the ffmpeg shipped in the optional npm packages may be used when none is configured or on
   * PATH: an old build that decodes untrusted uploads, so NODE_ENV=production refuses it unless
   * FFMPEG_ALLOW_BUNDLED=true.
   */
  ffmpegAllowBundled: boolean;
  maxInputDurationSeconds: number;
  maxInputPixels: number;
  liveMaxDurationSeconds: number;
  /** Live HLS segment length (seconds) and how many segments each live playlist keeps. */
  liveSegmentSeconds: number;
  /** Distinct viewers of one stream counted from one client address; 0 means no limit. */
  liveMaxViewersPerAddress: number;
  livePlaylistSegments: number;
  /** Ingest caps: a publish above this resolution (short side) is refused; above this bitrate it is cut. */
  liveMaxIngestHeight: number;
  liveMaxIngestKbps: number;
  /** Record live streams and hand the recording to the VOD pipeline when they end. */
  liveRecord: boolean;
  /** Shared secret of the nginx-rtmp on_publish callback; the callback is refused while unset. */
  liveHookSecret?: string;
  /** The ingest URL given to encoders (e.g. an nginx-rtmp edge); derived from the request when unset. */
  liveRtmpUrl?: string;
  /** x264 preset of live transcodes, which must keep up in real time. */
  liveFfmpegPreset: string;
  /** RTMP connections held at once: in all, and from one address (IPv6 by /64). */
  liveMaxConnections: number;
  liveMaxConnectionsPerAddress: number;
  /** Seconds from TCP connect to an accepted publish; slower connections are dropped. */
  liveAuthTimeoutSeconds: number;
  /** Before its publish is accepted, a connection may send this many bytes and hold this much message buffer. */
  livePreauthMaxBytes: number;
  /** After acceptance, the message buffers one publisher may hold (the largest frame it can send). */
  liveMaxMessageBytes: number;
  outboxRetentionSeconds: number;
  events: EventsConfig;
  webhooks: WebhooksConfig;
  trending: TrendingConfig;
  chat: ChatConfig;
  models: ModelsConfig;
  feed: FeedConfig;
  engagement: EngagementConfig;
  http: HttpConfig;
  qoe: QoeConfig;
  experiments: ExperimentsConfig;
  isCI: boolean;
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `${n} is outside ${min}..${max}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `"${raw}" is not true or false`);
}

/**
 * Which proxies may name the client in X-Forwarded-For (TRUST_PROXY):
 * - Unset or false: none. A client then cannot claim another address to dodge per-address limits.
 * - True: every hop. Use it only behind a proxy that overwrites the header.
 * - A number: that many hops.
 * - Otherwise: a comma-separated list of proxy addresses or CIDRs.
 */
function trustProxy(env: Env): boolean | number | string[] {
  const raw = str(env, 'TRUST_PROXY');
  if (raw === undefined || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return int(env, 'TRUST_PROXY', 0, 0, 16);
  const list = raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const entry of list) {
    const [addr, bits, extra] = entry.split('/');
    const okAddr = net.isIP(addr) !== 0 || ['loopback', 'linklocal', 'uniquelocal'].includes(addr);
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (net.isIPv6(addr) ? 128 : 32));
    if (!okAddr || !okBits || extra !== undefined) throw new ConfigError('TRUST_PROXY', `"${entry}" is not an address, a CIDR, loopback, linklocal or uniquelocal`);
  }
  return list;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `protocol must be one of ${protocols.join(', ')}`);
  }
  return raw;
}

function secret(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw !== undefined && raw.length < 16) throw new ConfigError(name, 'must be at least 16 characters');
  return raw;
}

const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'];

/** Live must encode in real time: unless LIVE_FFMPEG_PRESET says otherwise, no slower than superfast. */
function livePreset(env: Env, vodPreset: string): string {
  const raw = str(env, 'LIVE_FFMPEG_PRESET');
  if (raw !== undefined) {
    if (!X264_PRESETS.includes(raw)) throw new ConfigError('LIVE_FFMPEG_PRESET', `"${raw}" is not an x264 preset`);
    return raw;
  }
  return X264_PRESETS.indexOf(vodPreset) < X264_PRESETS.indexOf('superfast') ? vodPreset : 'superfast';
}

function s3(env: Env): S3Config | undefined {
  const bucket = str(env, 'S3_BUCKET');
  const endpoint = url(env, 'S3_ENDPOINT', ['http:', 'https:']);
  const anySet = ['S3_BUCKET', 'S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'].some((k) => str(env, k));
  if (!anySet) return undefined;
  if (!bucket) throw new ConfigError('S3_BUCKET', 'required when any S3_* variable is set');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError('S3_BUCKET', `"${bucket}" is not a valid bucket name`);
  const accessKeyId = str(env, 'S3_ACCESS_KEY_ID');
  const secretAccessKey = str(env, 'S3_SECRET_ACCESS_KEY');
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new ConfigError(accessKeyId ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID', 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together');
  }
  return {
    endpoint,
    bucket,
    region: str(env, 'S3_REGION') ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
  };
}

function brokers(env: Env): string[] | undefined {
  const raw = str(env, 'KAFKA_BROKERS');
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of list) {
    if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(b)) throw new ConfigError('KAFKA_BROKERS', `"${b}" is not host:port`);
  }
  if (list.length === 0) throw new ConfigError('KAFKA_BROKERS', 'no broker listed');
  return list;
}

/** How Nova uses Kafka when KAFKA_BROKERS is set (see docs/events.md). */
export interface KafkaConfig {
  /** Partitions of the topics Nova creates; replication is the broker's default. */
  partitions: number;
  /** Create missing topics at start; when false, topics are left to the operator. */
  createTopics: boolean;
  /** Nova's consumer groups are `<groupPrefix><consumer>` (webhooks, trending, …). */
  groupPrefix: string;
  /** Record-batch compression of the producer. */
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
}

function kafkaConfig(env: Env): KafkaConfig {
  const groupPrefix = str(env, 'KAFKA_GROUP_PREFIX') ?? 'nova.';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(groupPrefix)) throw new ConfigError('KAFKA_GROUP_PREFIX', 'use 1-100 of [A-Za-z0-9._-]');
  const compression = (str(env, 'KAFKA_COMPRESSION') ?? 'none').toLowerCase();
  if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(compression)) throw new ConfigError('KAFKA_COMPRESSION', `"${compression}" is not one of none, gzip, snappy, lz4, zstd`);
  // The client compresses zstd with node:zlib, which has it from Node 22.15 on.
  if (compression === 'zstd' && typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync !== 'function') {
    throw new ConfigError('KAFKA_COMPRESSION', `zstd needs Node.js 22.15 or newer (this is ${process.version})`);
  }
  return {
    partitions: int(env, 'KAFKA_PARTITIONS', 6, 1, 10_000),
    createTopics: bool(env, 'KAFKA_CREATE_TOPICS', true),
    groupPrefix,
    compression: compression as KafkaConfig['compression'],
  };
}

/** Live chat limits (see docs/chat.md). */
export interface ChatConfig {
  /** Messages sent to a new socket as chat.history, and the default page of GET …/chat/messages. */
  historySize: number;
  maxMessageChars: number;
  /** Token bucket per user: rateMessages per rateWindowSeconds, then muted for muteSeconds. */
  rateMessages: number;
  rateWindowSeconds: number;
  muteSeconds: number;
  maxSlowModeSeconds: number;
  /** A socket whose unsent bytes pass this is dropped instead of buffering without bound. */
  maxBufferedBytes: number;
  pingIntervalSeconds: number;
  /** A room writes to its sockets at most once per this many ms; frames arriving meanwhile are written together. */
  flushIntervalMs: number;
  maxSocketsPerProcess: number;
  /** Chat sockets one client address may hold open in one process; 0 means no limit. */
  maxSocketsPerAddress: number;
  /** Key and channel prefix in Redis, so several deployments (or test runs) can share one server. */
  redisPrefix: string;
  /** Messages kept in each chat's capped Redis list. */
  redisHistorySize: number;
}

function chatConfig(env: Env): ChatConfig {
  const redisPrefix = str(env, 'CHAT_REDIS_PREFIX') ?? 'nova:chat:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisPrefix)) throw new ConfigError('CHAT_REDIS_PREFIX', 'use 1-64 of [A-Za-z0-9:_.-]');
  const historySize = int(env, 'CHAT_HISTORY_SIZE', 50, 1, 500);
  return {
    historySize,
    maxMessageChars: int(env, 'CHAT_MAX_MESSAGE_CHARS', 500, 1, 10_000),
    rateMessages: int(env, 'CHAT_RATE_MESSAGES', 3, 1, 1_000_000),
    rateWindowSeconds: int(env, 'CHAT_RATE_WINDOW_SECONDS', 2, 1, 3600),
    muteSeconds: int(env, 'CHAT_MUTE_SECONDS', 10, 0, 86_400),
    maxSlowModeSeconds: int(env, 'CHAT_MAX_SLOW_MODE_SECONDS', 3600, 1, 86_400),
    maxBufferedBytes: int(env, 'CHAT_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 1024 ** 3),
    pingIntervalSeconds: int(env, 'CHAT_PING_INTERVAL_SECONDS', 30, 1, 3600),
    flushIntervalMs: int(env, 'CHAT_FLUSH_INTERVAL_MS', 25, 0, 1000),
    maxSocketsPerProcess: int(env, 'CHAT_MAX_SOCKETS', 50_000, 1, 10_000_000),
    maxSocketsPerAddress: int(env, 'CHAT_MAX_SOCKETS_PER_ADDRESS', 100, 0, 10_000_000),
    redisPrefix,
    redisHistorySize: Math.max(historySize, int(env, 'CHAT_REDIS_HISTORY_SIZE', 200, 1, 100_000)),
  };
}

export interface EventsConfig {
  /** Outbox rows one relay claims and publishes per round. */
  batchSize: number;
  /** Relays poll this often besides being woken by new commits. */
  pollIntervalMs: number;
  /** A claimed batch belongs to its relay this long; after a crash another relay takes it over. */
  leaseSeconds: number;
  /** Relay backoff while the bus is down: from min, doubling, up to max. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** A woken relay waits this long for more commits before it claims, so a burst goes out as one batch. */
  lingerMs: number;
}

function eventsConfig(env: Env): EventsConfig {
  const backoffMinMs = int(env, 'OUTBOX_BACKOFF_MIN_MS', 200, 10, 60_000);
  const backoffMaxMs = int(env, 'OUTBOX_BACKOFF_MAX_MS', 30_000, 10, 600_000);
  if (backoffMaxMs < backoffMinMs) throw new ConfigError('OUTBOX_BACKOFF_MAX_MS', `must be at least OUTBOX_BACKOFF_MIN_MS (${backoffMinMs})`);
  return {
    batchSize: int(env, 'OUTBOX_BATCH_SIZE', 500, 1, 10_000),
    pollIntervalMs: int(env, 'OUTBOX_POLL_INTERVAL_MS', 1000, 10, 60_000),
    leaseSeconds: int(env, 'OUTBOX_LEASE_SECONDS', 60, 5, 3600),
    backoffMinMs,
    backoffMaxMs,
    lingerMs: int(env, 'OUTBOX_LINGER_MS', 5, 0, 1000),
  };
}

export interface WebhooksConfig {
  /** 32-byte key (base64 or hex) encrypting signing secrets at rest; a key file in DATA_DIR is used when unset on SQLite. */
  secretKey?: Buffer;
  /** Hosts (names or IPs) trusted as delivery targets even on private networks. */
  allowedHosts: string[];
  timeoutMs: number;
  /** First retry after retryBaseMs, doubling up to retryMaxIntervalSeconds, for retryWindowSeconds in all. */
  retryBaseMs: number;
  retryMaxIntervalSeconds: number;
  retryWindowSeconds: number;
  concurrency: number;
  maxPerUser: number;
}

function webhooksConfig(env: Env): WebhooksConfig {
  const rawKey = str(env, 'WEBHOOKS_SECRET_KEY');
  let secretKey: Buffer | undefined;
  if (rawKey !== undefined) {
    secretKey = /^[0-9a-fA-F]{64}$/.test(rawKey) ? Buffer.from(rawKey, 'hex') : Buffer.from(rawKey, 'base64');
    if (secretKey.length !== 32) throw new ConfigError('WEBHOOKS_SECRET_KEY', 'must be 32 bytes, as 64 hex digits or base64');
  }
  const allowedHosts = (str(env, 'WEBHOOKS_ALLOWED_HOSTS') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const h of allowedHosts) {
    if (!/^[a-z0-9.:[\]_-]{1,253}$/.test(h)) throw new ConfigError('WEBHOOKS_ALLOWED_HOSTS', `"${h}" is not a host name or IP address`);
  }
  return {
    secretKey,
    allowedHosts,
    timeoutMs: int(env, 'WEBHOOKS_TIMEOUT_MS', 10_000, 100, 120_000),
    retryBaseMs: int(env, 'WEBHOOKS_RETRY_BASE_MS', 30_000, 10, 3_600_000),
    retryMaxIntervalSeconds: int(env, 'WEBHOOKS_RETRY_MAX_INTERVAL_SECONDS', 6 * 3600, 1, 7 * 86_400),
    retryWindowSeconds: int(env, 'WEBHOOKS_RETRY_WINDOW_SECONDS', 3 * 86_400, 1, 30 * 86_400),
    concurrency: int(env, 'WEBHOOKS_CONCURRENCY', 4, 1, 64),
    maxPerUser: int(env, 'WEBHOOKS_MAX_PER_USER', 25, 1, 1000),
  };
}

/** ONNX model serving (see docs/models.md). */
export interface ModelsConfig {
  /** Directories besides MODELS_DIR from which `reload {path}` may read model files. */
  allowedPaths: string[];
  maxFileBytes: number;
  /** Dynamic batching: requests arriving within maxQueueDelayUs run together, up to maxBatchSize rows. */
  batching: boolean;
  maxBatchSize: number;
  maxQueueDelayUs: number;
  /** ONNX Runtime intra-op threads of each model process. */
  threads: number;
  loadTimeoutMs: number;
  inferTimeoutMs: number;
  /** Inferences slower than this are logged as warnings. */
  slowMs: number;
  /** Latency percentiles cover this many most recent inferences per model. */
  metricsWindow: number;
  /** Largest infer request body, and largest tensor (elements) it may carry. */
  inferMaxBytes: number;
  inferMaxElements: number;
  /** Older or newer versions of a model that may serve alongside its current one (chosen per request). */
  maxExtraVersions: number;
  /** Poll MODELS_DIR for new versions this often (0 = no watch). */
  watchIntervalMs: number;
}

function modelsConfig(env: Env): ModelsConfig {
  const allowed = (str(env, 'MODELS_ALLOWED_PATHS') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of allowed) if (!path.isAbsolute(p)) throw new ConfigError('MODELS_ALLOWED_PATHS', `"${p}" is not an absolute path`);
  return {
    allowedPaths: allowed.map((p) => path.resolve(p)),
    maxFileBytes: int(env, 'MODEL_MAX_FILE_BYTES', 512 * 1024 ** 2, 1024, 16 * 1024 ** 3),
    batching: bool(env, 'MODEL_BATCHING', true),
    maxBatchSize: int(env, 'MODEL_MAX_BATCH_SIZE', 16_384, 1, 10_000_000),
    maxQueueDelayUs: int(env, 'MODEL_MAX_QUEUE_DELAY_US', 500, 0, 1_000_000),
    threads: int(env, 'MODEL_THREADS', 1, 1, 64),
    loadTimeoutMs: int(env, 'MODEL_LOAD_TIMEOUT_MS', 60_000, 1000, 3_600_000),
    inferTimeoutMs: int(env, 'MODEL_INFER_TIMEOUT_MS', 30_000, 100, 3_600_000),
    slowMs: int(env, 'MODEL_SLOW_MS', 100, 1, 3_600_000),
    metricsWindow: int(env, 'MODEL_METRICS_WINDOW', 1000, 100, 1_000_000),
    inferMaxBytes: int(env, 'MODEL_INFER_MAX_BYTES', 16 * 1024 ** 2, 1024, 1024 ** 3),
    inferMaxElements: int(env, 'MODEL_INFER_MAX_ELEMENTS', 4_000_000, 1, 1_000_000_000),
    maxExtraVersions: int(env, 'MODEL_MAX_EXTRA_VERSIONS', 2, 0, 16),
    watchIntervalMs: int(env, 'MODELS_WATCH_INTERVAL_MS', 0, 0, 3_600_000),
  };
}

/** The personalised feed (see docs/models.md). */
export interface FeedConfig {
  /** The served model that ranks the feed, unless an experiment picks another. */
  model: string;
  /** The experiment whose variants choose the feed's model while it runs (FEED_EXPERIMENT). */
  experiment: string;
  /** Candidates scored per request, and how far back "recent" reaches. */
  maxCandidates: number;
  candidateDays: number;
  defaultLimit: number;
  maxLimit: number;
  /** Where the shared copy of the feed's candidates and viewer features lives when REDIS_URL is set. */
  redisPrefix: string;
}

function feedConfig(env: Env): FeedConfig {
  const model = str(env, 'FEED_MODEL') ?? 'feed-ranker';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(model)) throw new ConfigError('FEED_MODEL', 'use 1-64 of [A-Za-z0-9_.-]');
  const maxLimit = int(env, 'FEED_MAX_LIMIT', 100, 1, 1000);
  const experiment = str(env, 'FEED_EXPERIMENT') ?? 'feed-ranker';
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(experiment)) throw new ConfigError('FEED_EXPERIMENT', 'use 1-64 of [a-zA-Z0-9_.-]');
  const redisPrefix = str(env, 'FEED_REDIS_PREFIX') ?? 'nova:feed:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisPrefix)) throw new ConfigError('FEED_REDIS_PREFIX', 'use 1-64 of [A-Za-z0-9:_.-]');
  return {
    redisPrefix,
    model,
    experiment,
    maxCandidates: int(env, 'FEED_MAX_CANDIDATES', 500, 1, 100_000),
    candidateDays: int(env, 'FEED_CANDIDATE_DAYS', 30, 1, 3650),
    defaultLimit: Math.min(maxLimit, int(env, 'FEED_DEFAULT_LIMIT', 20, 1, 1000)),
    maxLimit,
  };
}

/** Views, likes and watch time (see docs/models.md). */
export interface EngagementConfig {
  /** One view per viewer per video counts within this window. */
  viewDedupSeconds: number;
  /** Largest watch time one `watch` call may report. */
  maxWatchSecondsPerCall: number;
  /** Views accepted per minute from one anonymous client address. */
  anonymousViewsPerMinute: number;
  /** Watch reports accepted per minute from one user for one video (a player sends about two). */
  watchReportsPerMinute: number;
}

function engagementConfig(env: Env): EngagementConfig {
  return {
    viewDedupSeconds: int(env, 'VIEW_DEDUP_SECONDS', 1800, 1, 7 * 86_400),
    maxWatchSecondsPerCall: int(env, 'WATCH_MAX_SECONDS_PER_CALL', 6 * 3600, 1, 48 * 3600),
    anonymousViewsPerMinute: int(env, 'ANON_VIEWS_PER_MINUTE', 120, 1, 1_000_000),
    watchReportsPerMinute: int(env, 'WATCH_REPORTS_PER_MINUTE', 30, 1, 1_000_000),
  };
}

/**
 * Limits of the HTTP server and its long-lived streams (see docs/deploy.md#http-server-limits), the metrics
 * listener, password hashing cost, and whether this is a production deployment (NODE_ENV).
 */
export interface HttpConfig {
  /** Time a client has to send a request's headers, and (except tus PATCH) its whole body. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** A tus PATCH may stream for hours, but not sit idle longer than this. */
  uploadIdleTimeoutMs: number;
  /** Open HTTP connections (WebSockets included) from one client address (IPv6: its /64); 0: no limit. */
  maxConnectionsPerAddress: number;
  /** Progress SSE/WebSocket and trending SSE streams open per process, and from one address. */
  maxStreams: number;
  maxStreamsPerAddress: number;
  /** SSE comment lines sent this often keep proxies from closing a quiet stream. */
  sseHeartbeatMs: number;
  /** An SSE client whose unsent bytes pass this is disconnected (it reconnects with Last-Event-ID). */
  sseMaxBufferedBytes: number;
  /** When set, /metrics, /healthz and /readyz are served on this port (also by workers), and /metrics leaves the API port. */
  metricsPort?: number;
  metricsHost: string;
  /** scrypt cost as log2(N); 17 is OWASP's recommendation. Hashes with another cost are redone at login. */
  passwordScryptLogN: number;
  /** NODE_ENV=production. */
  production: boolean;
}

function httpConfig(env: Env): HttpConfig {
  const metricsPort = str(env, 'METRICS_PORT') === undefined ? undefined : int(env, 'METRICS_PORT', 0, 0, 65535);
  return {
    headersTimeoutMs: int(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 1000, 600_000),
    requestTimeoutMs: int(env, 'HTTP_REQUEST_TIMEOUT_MS', 60_000, 1000, 3_600_000),
    keepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
    uploadIdleTimeoutMs: int(env, 'UPLOAD_IDLE_TIMEOUT_MS', 60_000, 1000, 3_600_000),
    maxConnectionsPerAddress: int(env, 'HTTP_MAX_CONNECTIONS_PER_ADDRESS', 256, 0, 1_000_000),
    maxStreams: int(env, 'STREAMS_MAX', 10_000, 1, 10_000_000),
    maxStreamsPerAddress: int(env, 'STREAMS_MAX_PER_ADDRESS', 20, 1, 1_000_000),
    sseHeartbeatMs: int(env, 'SSE_HEARTBEAT_MS', 15_000, 100, 600_000),
    sseMaxBufferedBytes: int(env, 'SSE_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 1024 ** 3),
    metricsPort,
    metricsHost: str(env, 'METRICS_HOST') ?? str(env, 'HOST') ?? '0.0.0.0',
    passwordScryptLogN: int(env, 'PASSWORD_SCRYPT_LOG_N', 17, 10, 20),
    production: str(env, 'NODE_ENV') === 'production',
  };
}

/** Playback quality telemetry (see docs/qoe.md). */
export interface QoeConfig {
  /** Raw events, sessions and hourly aggregates are kept this long, then pruned. */
  retentionDays: number;
  /** New playback sessions accepted per minute from one address. */
  sessionsPerMinute: number;
  /** Event batches accepted per minute from one address (a player sends about six). */
  batchesPerMinute: number;
  /** Events one session may record. */
  maxEventsPerSession: number;
  pruneIntervalSeconds: number;
}

function qoeConfig(env: Env): QoeConfig {
  return {
    retentionDays: int(env, 'QOE_RETENTION_DAYS', 30, 1, 3650),
    sessionsPerMinute: int(env, 'QOE_SESSIONS_PER_MINUTE', 30, 1, 1_000_000),
    batchesPerMinute: int(env, 'QOE_BATCHES_PER_MINUTE', 300, 1, 1_000_000),
    maxEventsPerSession: int(env, 'QOE_MAX_EVENTS_PER_SESSION', 5000, 10, 1_000_000),
    pruneIntervalSeconds: int(env, 'QOE_PRUNE_INTERVAL_SECONDS', 3600, 1, 7 * 86_400),
  };
}

/** Experiments (see docs/experiments.md). */
export interface ExperimentsConfig {
  /** How often running experiments with guardrails are checked (and auto-stopped). */
  guardrailIntervalSeconds: number;
}

function experimentsConfig(env: Env): ExperimentsConfig {
  return { guardrailIntervalSeconds: int(env, 'EXPERIMENT_GUARDRAIL_INTERVAL_SECONDS', 300, 1, 86_400) };
}

function uploadStore(env: Env): 'file' | 's3' {
  const raw = str(env, 'UPLOAD_STORE') ?? (s3(env) ? 's3' : 'file');
  if (raw !== 'file' && raw !== 's3') throw new ConfigError('UPLOAD_STORE', `"${raw}" must be file or s3`);
  if (raw === 's3' && !s3(env)) throw new ConfigError('UPLOAD_STORE', 's3 needs the S3_* settings');
  return raw;
}

export interface TrendingConfig {
  /** Longest trending list (largest `limit`) per window. */
  maxItems: number;
  /** Lists are rebuilt this often for the decay, and this long after engagement changes them. */
  refreshMs: number;
  debounceMs: number;
  /** Key prefix of the Redis sorted sets (with REDIS_URL). */
  redisPrefix: string;
  /** Open trending SSE streams per process. */
  maxStreams: number;
}

function trendingConfig(env: Env): TrendingConfig {
  const redisPrefix = str(env, 'TRENDING_REDIS_PREFIX') ?? 'nova:trending:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisPrefix)) throw new ConfigError('TRENDING_REDIS_PREFIX', 'use 1-64 of [A-Za-z0-9:_.-]');
  return {
    maxItems: int(env, 'TRENDING_MAX_ITEMS', 100, 1, 1000),
    refreshMs: int(env, 'TRENDING_REFRESH_MS', 5000, 100, 600_000),
    debounceMs: int(env, 'TRENDING_DEBOUNCE_MS', 100, 0, 10_000),
    redisPrefix,
    maxStreams: int(env, 'TRENDING_MAX_STREAMS', 1000, 1, 1_000_000),
  };
}

function queuePrefix(env: Env): string {
  const raw = str(env, 'QUEUE_PREFIX') ?? 'nova';
  if (!/^[A-Za-z0-9_:-]{1,64}$/.test(raw)) throw new ConfigError('QUEUE_PREFIX', `"${raw}" must be 1-64 of [A-Za-z0-9_:-]`);
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(str(env, 'DATA_DIR') ?? './data');
  const logLevel = str(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `"${logLevel}" is not a pino level`);
  }
  const admin = str(env, 'NOVA_ADMIN');
  if (admin !== undefined && !/^[a-zA-Z0-9_]{3,32}$/.test(admin)) {
    throw new ConfigError('NOVA_ADMIN', 'must be a valid username (3-32 of [a-zA-Z0-9_])');
  }
  // On 2 cores or fewer, veryfast cannot encode a 1080p ladder in real time; superfast can
  // (docs/benchmarks.md), at a few percent more bitrate for the same quality.
  const preset = str(env, 'FFMPEG_PRESET') ?? (os.availableParallelism() <= 2 ? 'superfast' : 'veryfast');
  if (!['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'].includes(preset)) {
    throw new ConfigError('FFMPEG_PRESET', `"${preset}" is not an x264 preset`);
  }
  const encodingMode = str(env, 'ENCODING_MODE') ?? 'per_title';
  if (encodingMode !== 'per_title' && encodingMode !== 'fixed') {
    throw new ConfigError('ENCODING_MODE', `"${encodingMode}" is not per_title or fixed`);
  }
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    rtmpPort: int(env, 'RTMP_PORT', 1935, 0, 65535),
    dataDir,
    modelsDir: path.resolve(str(env, 'MODELS_DIR') ?? './models'),
    webDir: str(env, 'WEB_DIR') === undefined ? undefined : path.resolve(str(env, 'WEB_DIR')!),
    publicUrl: url(env, 'PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    sqlitePath: path.join(dataDir, 'nova.db'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    s3: s3(env),
    kafkaBrokers: brokers(env),
    kafkaTopicPrefix: str(env, 'KAFKA_TOPIC_PREFIX') ?? '',
    kafka: kafkaConfig(env),
    admin,
    uploadMaxBytes: int(env, 'UPLOAD_MAX_BYTES', 10 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    uploadExpirySeconds: int(env, 'UPLOAD_EXPIRY_SECONDS', 24 * 3600, 60, 30 * 24 * 3600),
    uploadMaxPendingPerUser: int(env, 'UPLOAD_MAX_PENDING_PER_USER', 10, 0, 1_000_000),
    liveReconnectWindowSeconds: int(env, 'LIVE_RECONNECT_WINDOW_SECONDS', 60, 0, 24 * 3600),
    webhooksAllowPrivate: bool(env, 'WEBHOOKS_ALLOW_PRIVATE', false),
    logLevel,
    loginMaxAttempts: int(env, 'LOGIN_MAX_ATTEMPTS', 10, 1, 1_000_000),
    loginWindowSeconds: int(env, 'LOGIN_WINDOW_SECONDS', 300, 1, 86_400),
    registerMaxPerAddress: int(env, 'REGISTER_MAX_PER_ADDRESS', 20, 0, 1_000_000),
    registerWindowSeconds: int(env, 'REGISTER_WINDOW_SECONDS', 3600, 1, 7 * 86_400),
    trustProxy: trustProxy(env),
    tokenTtlSeconds: int(env, 'TOKEN_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    // Nodes sharing Postgres without Redis could not tell each other of a sign-out: no cache unless asked.
    sessionCacheSeconds: int(env, 'SESSION_CACHE_SECONDS', str(env, 'DATABASE_URL') && !str(env, 'REDIS_URL') ? 0 : 5, 0, 60),
    jobAttempts: int(env, 'JOB_ATTEMPTS', 3, 1, 100),
    workerConcurrency: int(env, 'WORKER_CONCURRENCY', 1, 1, 64),
    jobLeaseSeconds: int(env, 'JOB_LEASE_SECONDS', 30, 2, 3600),
    jobBackoffSeconds: int(env, 'JOB_BACKOFF_SECONDS', 5, 0, 3600),
    queuePrefix: queuePrefix(env),
    mediaUrlTtlSeconds: int(env, 'MEDIA_URL_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
    playbackTokenTtlSeconds: int(env, 'PLAYBACK_TOKEN_TTL_SECONDS', 6 * 3600, 1, 7 * 24 * 3600),
    uploadStore: uploadStore(env),
    uploadDir: path.resolve(str(env, 'UPLOAD_DIR') ?? path.join(dataDir, 'uploads')),
    uploadLockSeconds: int(env, 'UPLOAD_LOCK_SECONDS', 10, 2, 600),
    ffmpegPreset: preset,
    encodingMode,
    ffmpegTimeoutSeconds: int(env, 'FFMPEG_TIMEOUT_SECONDS', 3 * 3600, 10, 48 * 3600),
    ffmpegPath: str(env, 'FFMPEG_PATH'),
    ffprobePath: str(env, 'FFPROBE_PATH'),
    ffmpegAllowBundled: bool(env, 'FFMPEG_ALLOW_BUNDLED', str(env, 'NODE_ENV') !== 'production'),
    maxInputDurationSeconds: int(env, 'MAX_INPUT_DURATION_SECONDS', 6 * 3600, 1, 48 * 3600),
    maxInputPixels: int(env, 'MAX_INPUT_PIXELS', 7680 * 4320, 1, 100_000_000),
    liveMaxDurationSeconds: int(env, 'LIVE_MAX_DURATION_SECONDS', 12 * 3600, 10, 7 * 24 * 3600),
    liveSegmentSeconds: int(env, 'LIVE_SEGMENT_SECONDS', 2, 1, 10),
    liveMaxViewersPerAddress: int(env, 'LIVE_MAX_VIEWERS_PER_ADDRESS', 20, 0, 1_000_000),
    livePlaylistSegments: int(env, 'LIVE_PLAYLIST_SEGMENTS', 6, 3, 60),
    liveMaxIngestHeight: int(env, 'LIVE_MAX_INGEST_HEIGHT', 1080, 144, 4320),
    liveMaxIngestKbps: int(env, 'LIVE_MAX_INGEST_KBPS', 12_000, 100, 1_000_000),
    liveRecord: bool(env, 'LIVE_RECORD', true),
    liveHookSecret: secret(env, 'LIVE_HOOK_SECRET'),
    liveRtmpUrl: url(env, 'LIVE_RTMP_URL', ['rtmp:', 'rtmps:'])?.replace(/\/+$/, ''),
    liveFfmpegPreset: livePreset(env, preset),
    liveMaxConnections: int(env, 'LIVE_MAX_CONNECTIONS', 500, 1, 100_000),
    liveMaxConnectionsPerAddress: int(env, 'LIVE_MAX_CONNECTIONS_PER_ADDRESS', 10, 1, 100_000),
    liveAuthTimeoutSeconds: int(env, 'LIVE_AUTH_TIMEOUT_SECONDS', 5, 1, 120),
    livePreauthMaxBytes: int(env, 'LIVE_PREAUTH_MAX_BYTES', 64 * 1024, 16 * 1024, 4 * 1024 * 1024),
    liveMaxMessageBytes: int(env, 'LIVE_MAX_MESSAGE_BYTES', 8 * 1024 * 1024, 256 * 1024, 16 * 1024 * 1024 + 1024),
    outboxRetentionSeconds: int(env, 'OUTBOX_RETENTION_SECONDS', 7 * 24 * 3600, 0, 365 * 24 * 3600),
    events: eventsConfig(env),
    webhooks: webhooksConfig(env),
    trending: trendingConfig(env),
    chat: chatConfig(env),
    models: modelsConfig(env),
    feed: feedConfig(env),
    engagement: engagementConfig(env),
    http: httpConfig(env),
    qoe: qoeConfig(env),
    experiments: experimentsConfig(env),
    isCI: bool(env, 'CI', false),
  };
}
