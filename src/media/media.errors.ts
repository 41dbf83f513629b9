// The one error type the media toolkit throws. `reason` is a sentence fit for a video's `failed`
// reason (never ffmpeg's raw stderr); `retryable` tells the job queue whether another attempt can help.
export type MediaErrorCode = 'empty' | 'not_media' | 'truncated' | 'unsupported_format' | 'no_streams' | 'too_long' | 'too_large' | 'timeout' | 'aborted' | 'tool_missing' | 'ffmpeg_failed';

const RETRYABLE: ReadonlySet<MediaErrorCode> = new Set(['timeout', 'ffmpeg_failed', 'tool_missing']);

export class MediaError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly code: MediaErrorCode,
    readonly reason: string,
    /** Tail of ffmpeg's stderr for logs only: it may contain paths, so never show it to users. */
    readonly diagnostics?: string,
  ) {
    super(reason);
    this.name = 'MediaError';
    this.retryable = RETRYABLE.has(code);
  }
}
