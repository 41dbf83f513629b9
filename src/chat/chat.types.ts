// Shapes shared by the chat modules: a message as stored and sent (the contract's fields), the
// error codes a sender can get, and the port through which chat reaches live streams.
import type { ChatMessagePayload } from '../events/events.types.js';

/** A chat message exactly as the contract sends it (without `event_type`). */
export type ChatMessage = ChatMessagePayload;

export type ChatErrorCode = 'malformed' | 'empty' | 'too_long' | 'unauthenticated' | 'banned' | 'rate_limited' | 'slow_mode' | 'closed' | 'unavailable';

export type StreamStatus = 'idle' | 'live' | 'ended';

export interface ChatStream {
  id: string;
  creator_id: string;
  status: StreamStatus;
}

/** What chat needs from live streaming; adapted from the live service in chat.routes. */
export interface ChatStreamsPort {
  getStream(id: string): Promise<ChatStream | null>;
  /** Called with the stream id when a stream ends (on the process that ended it). */
  onStreamEnded(listener: (streamId: string) => void): void;
  /** An open chat socket counts as a viewer of the stream until it leaves (within its address's limit), unless it is the creator's. */
  viewerJoined(streamId: string, viewerId: string, address: string | null): void;
  viewerLeft(streamId: string, viewerId: string): void;
}
