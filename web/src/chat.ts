// The live chat panel: history and new messages over the chat WebSocket, a send box with errors
// shown inline, and moderation (delete, ban, slow mode) for the stream's creator and admins.
// Messages are text nodes only: whatever a viewer types is shown, never interpreted.
import { h, replace, uid } from './dom.js';
import { del, errorText, get, post, put, wsUrl } from './api.js';
import { session } from './session.js';
import type { ChatMessage } from './types.js';
import { notice } from './ui.js';

const MAX_SHOWN = 200;
const SLOW_MODES: Array<[string, string]> = [
  ['0', 'Off'],
  ['3', '3 s'],
  ['10', '10 s'],
  ['30', '30 s'],
  ['60', '1 min'],
  ['300', '5 min'],
];

interface ServerEvent {
  event_type: string;
  messages?: ChatMessage[];
  comment_id?: string;
  code?: string;
  detail?: string;
  slow_mode_seconds?: number;
}

interface Ban {
  user_id: string;
  username?: string;
  created_at: string;
}

const ERROR_TEXT: Record<string, string> = {
  empty: 'Type a message first.',
  too_long: 'That message is too long.',
  rate_limited: 'You are sending messages too fast. Wait a moment.',
  unauthenticated: 'Sign in to chat.',
  banned: 'You have been banned from this chat.',
  slow_mode: 'Slow mode is on. Wait a little before your next message.',
};

export interface ChatPanel {
  el: HTMLElement;
  dispose(): void;
}

export function chatPanel(streamId: string, opts: { canModerate: boolean; maxChars?: number }): ChatPanel {
  const maxChars = opts.maxChars ?? 500;
  const list = h('ol', { class: 'chat-list', 'aria-label': 'Chat messages', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const state = h('span', { class: 'chat-state' }, 'Connecting…');
  const inlineError = notice();
  const modMsg = notice();
  const inputId = uid('chat');
  const input = h('input', { id: inputId, name: 'message', autocomplete: 'off', maxlength: maxChars, placeholder: 'Say something…', disabled: true });
  const send = h('button', { type: 'submit', disabled: true }, 'Send');
  const counter = h('small', { class: 'hint counter', 'aria-live': 'off' });
  const form = h('form', { class: 'chat-form' }, h('label', { for: inputId, class: 'sr-only' }, 'Chat message'), h('div', { class: 'row' }, input, send), counter, inlineError.el);
  const signedIn = Boolean(session.user);
  const footer = signedIn ? form : h('p', { class: 'hint chat-signin' }, h('a', { href: `/signin?next=${encodeURIComponent(location.pathname)}` }, 'Sign in'), ' to chat.');

  const slowNote = h('p', { class: 'hint chat-note', role: 'status' });
  const tools = h('div', { class: 'chat-tools' });
  const slowId = uid('slow');
  const slow = h(
    'select',
    { id: slowId },
    SLOW_MODES.map(([v, t]) => h('option', { value: v }, t)),
  );
  const bansBox = h('details', { class: 'bans' });
  // Usernames of banned users seen in this session (the ban list itself only has ids).
  const names = new Map<string, string>();
  if (opts.canModerate) {
    slow.addEventListener('change', async () => {
      modMsg.clear();
      try {
        await put(`/api/v1/streams/${streamId}/chat/settings`, { slow_mode_seconds: Number(slow.value) });
        showSlowMode(Number(slow.value));
      } catch (err) {
        modMsg.error(errorText(err));
      }
    });
    tools.append(h('label', { for: slowId }, 'Slow mode'), slow, bansBox);
    get<{ slow_mode_seconds: number }>(`/api/v1/streams/${streamId}/chat/settings`).then(
      (st) => showSlowMode(st.slow_mode_seconds),
      () => {},
    );
    void loadBans();
  }

  function showSlowMode(seconds: number): void {
    slowNote.textContent = seconds > 0 ? `Slow mode: one message every ${seconds} s.` : '';
    if (!opts.canModerate) return;
    if (![...slow.options].some((o) => o.value === String(seconds))) slow.append(h('option', { value: String(seconds) }, `${seconds} s`));
    slow.value = String(seconds);
  }

  async function loadBans(): Promise<void> {
    try {
      const res = await get<{ bans: Ban[] }>(`/api/v1/streams/${streamId}/chat/bans`);
      replace(
        bansBox,
        h('summary', null, `Banned (${res.bans.length})`),
        res.bans.length
          ? h(
              'ul',
              { class: 'plain' },
              res.bans.map((b) => {
                const name = b.username ?? names.get(b.user_id) ?? b.user_id.slice(0, 8);
                const unban = h('button', { type: 'button', class: 'link small', 'aria-label': `Unban ${name}` }, 'Unban');
                unban.addEventListener('click', async () => {
                  try {
                    await del(`/api/v1/streams/${streamId}/chat/bans/${b.user_id}`);
                    modMsg.ok(`${name} can chat again.`);
                    void loadBans();
                  } catch (err) {
                    modMsg.error(errorText(err));
                  }
                });
                return h('li', { class: 'row spread' }, h('span', null, name), unban);
              }),
            )
          : h('p', { class: 'hint' }, 'Nobody is banned.'),
      );
    } catch {
      bansBox.hidden = true;
    }
  }

  const el = h(
    'aside',
    { class: 'chat', 'aria-label': 'Live chat' },
    h('div', { class: 'chat-head row spread' }, h('h2', null, 'Chat'), state),
    opts.canModerate ? tools : null,
    modMsg.el,
    slowNote,
    list,
    footer,
  );

  let ws: WebSocket | null = null;
  let disposed = false;
  let retry = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let lastSent = '';
  let closed = false;

  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 60;

  function moderationButtons(m: ChatMessage): HTMLElement | null {
    if (!opts.canModerate) return null;
    const remove = h('button', { type: 'button', class: 'link small', 'aria-label': `Delete message from ${m.username}` }, 'Delete');
    remove.addEventListener('click', async () => {
      modMsg.clear();
      try {
        await del(`/api/v1/streams/${streamId}/chat/messages/${m.comment_id}`);
      } catch (err) {
        modMsg.error(errorText(err));
      }
    });
    const tools = h('span', { class: 'mod' }, remove);
    if (m.user_id !== session.user?.id) {
      const ban = h('button', { type: 'button', class: 'link small danger', 'aria-label': `Ban ${m.username}` }, 'Ban');
      ban.addEventListener('click', async () => {
        if (!confirm(`Ban ${m.username} from this chat?`)) return;
        modMsg.clear();
        try {
          await post(`/api/v1/streams/${streamId}/chat/bans`, { user_id: m.user_id });
          names.set(m.user_id, m.username);
          modMsg.ok(`${m.username} is banned from this chat.`);
          void loadBans();
        } catch (err) {
          modMsg.error(errorText(err));
        }
      });
      tools.append(ban);
    }
    return tools;
  }

  function messageItem(m: ChatMessage): HTMLLIElement {
    const time = new Date(m.created_at);
    return h(
      'li',
      { 'data-id': m.comment_id, class: m.user_id === session.user?.id ? 'mine' : undefined },
      h('span', { class: 'who' }, m.username),
      h('span', { class: 'text' }, m.message),
      h('time', { datetime: m.created_at, title: time.toLocaleString() }, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })),
      moderationButtons(m),
    );
  }

  function add(messages: ChatMessage[], reset: boolean): void {
    const stick = reset || nearBottom();
    if (reset) replace(list);
    for (const m of messages) {
      if (list.querySelector(`[data-id="${CSS.escape(m.comment_id)}"]`)) continue;
      list.append(messageItem(m));
    }
    while (list.childElementCount > MAX_SHOWN) list.firstElementChild?.remove();
    if (!list.childElementCount) list.append(h('li', { class: 'chat-empty' }, 'No messages yet. Say hello!'));
    else list.querySelector('.chat-empty')?.remove();
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function onEvent(ev: ServerEvent): void {
    switch (ev.event_type) {
      case 'chat.history':
        add(ev.messages ?? [], true);
        break;
      case 'chat.message': {
        const m = ev as unknown as ChatMessage;
        if (m.user_id === session.user?.id) lastSent = '';
        add([m], false);
        break;
      }
      case 'chat.deleted':
        if (ev.comment_id) list.querySelector(`[data-id="${CSS.escape(ev.comment_id)}"]`)?.remove();
        break;
      case 'chat.settings':
        showSlowMode(ev.slow_mode_seconds ?? 0);
        break;
      case 'chat.unbanned':
        inlineError.clear();
        modMsg.ok('A moderator lifted your ban: you can chat again.');
        break;
      case 'chat.closed':
        closed = true;
        state.textContent = 'Closed';
        modMsg.info('The stream has ended and its chat is closed.');
        break;
      case 'chat.error':
        inlineError.error(ev.detail || ERROR_TEXT[ev.code ?? ''] || 'The message was not sent.');
        // Give the refused text back so it is not lost (unless the user already typed on).
        if (!input.value && lastSent) input.value = lastSent;
        break;
      default:
        break;
    }
  }

  function connect(): void {
    if (disposed) return;
    state.textContent = retry ? 'Reconnecting…' : 'Connecting…';
    const socket = new WebSocket(wsUrl(`/api/v1/streams/${streamId}/chat/ws`));
    ws = socket;
    socket.addEventListener('open', () => {
      retry = 0;
      state.textContent = 'Connected';
      input.disabled = false;
      send.disabled = false;
    });
    socket.addEventListener('message', (msg) => {
      try {
        onEvent(JSON.parse(String(msg.data)) as ServerEvent);
      } catch {
        // Ignore a frame that is not JSON.
      }
    });
    socket.addEventListener('close', () => {
      if (ws !== socket) return;
      ws = null;
      input.disabled = true;
      send.disabled = true;
      if (disposed || closed) return;
      // Back off up to 15 s so a restarting server is not hammered by every viewer at once.
      retry += 1;
      const wait = Math.min(15_000, 500 * 2 ** Math.min(retry, 5)) * (0.5 + Math.random() / 2);
      state.textContent = 'Disconnected; reconnecting…';
      retryTimer = setTimeout(connect, wait);
    });
  }

  input.addEventListener('input', () => {
    inlineError.clear();
    const left = maxChars - input.value.length;
    counter.textContent = left < 50 ? `${left} characters left` : '';
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    inlineError.clear();
    if (!text) {
      inlineError.error(ERROR_TEXT.empty);
      return;
    }
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      inlineError.error('Not connected; the message was not sent.');
      return;
    }
    ws.send(JSON.stringify({ type: 'chat.send', message: text }));
    lastSent = text;
    input.value = '';
    counter.textContent = '';
    input.focus();
  });

  connect();
  return {
    el,
    dispose() {
      disposed = true;
      if (retryTimer) clearTimeout(retryTimer);
      ws?.close();
      ws = null;
    },
  };
}
