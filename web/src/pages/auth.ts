// Sign in and sign up. On success the token is stored and the user goes back where they came from.
import { h } from '../dom.js';
import { ApiError, post } from '../api.js';
import { navigate, type Page, type PageContext } from '../router.js';
import { session, type SessionUser } from '../session.js';
import { field, notice } from '../ui.js';
import { instanceInfo } from '../instance.js';

function safeNext(query: URLSearchParams): string {
  const next = query.get('next') ?? '/';
  // Only same-site paths: "//evil.example" or "https://…" would make this an open redirect.
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function authPage(ctx: PageContext, mode: 'signin' | 'signup'): Page {
  const signup = mode === 'signup';
  const title = signup ? 'Create your account' : 'Sign in';
  const username = field(
    'Username',
    { name: 'username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32, pattern: '[A-Za-z0-9_]+', autocapitalize: 'none', spellcheck: 'false' },
    signup ? '3–32 letters, digits or _' : undefined,
  );
  const password = field(
    'Password',
    { name: 'password', type: 'password', autocomplete: signup ? 'new-password' : 'current-password', required: true, minlength: signup ? 8 : 1 },
    signup ? 'At least 8 characters' : undefined,
  );
  // An invite-only instance asks for the code (?invite= fills it in); a closed one says so up front.
  const invite = field('Invite code', { name: 'invite', autocomplete: 'off', maxlength: 64, value: ctx.query.get('invite') ?? '' }, 'This instance registers new accounts by invitation.');
  invite.wrap.hidden = true;
  const msg = notice();
  if (signup) {
    void instanceInfo(true).then((i) => {
      if (i?.registration_mode === 'invite_only') invite.wrap.hidden = false;
      if (i?.registration_mode === 'closed') msg.info('Sign-up is closed on this instance; ask its admin for an account.');
    });
  }
  const submit = h('button', { type: 'submit' }, signup ? 'Sign up' : 'Sign in');
  const next = safeNext(ctx.query);
  const other = signup
    ? h('p', null, 'Already have an account? ', h('a', { href: `/signin${location.search}` }, 'Sign in'))
    : h('p', null, 'New here? ', h('a', { href: `/signup${location.search}` }, 'Create an account'));

  const form = h('form', { class: 'stack card-panel', novalidate: true }, username.wrap, password.wrap, signup ? invite.wrap : null, msg.el, submit, other);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    for (const f of [username.input, password.input]) f.removeAttribute('aria-invalid');
    if (!form.checkValidity()) {
      const bad = [username.input, password.input].find((f) => !f.checkValidity())!;
      bad.setAttribute('aria-invalid', 'true');
      msg.error(bad === username.input ? 'Enter a username of 3–32 letters, digits or underscores.' : signup ? 'Choose a password of at least 8 characters.' : 'Enter your password.');
      bad.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await post<{ user: SessionUser; token: string }>(`/api/v1/auth/${signup ? 'register' : 'login'}`, {
        username: username.input.value.trim(),
        password: password.input.value,
        ...(signup && !invite.wrap.hidden && invite.input.value.trim() ? { invite_code: invite.input.value.trim() } : {}),
      });
      session.set(res.token, res.user);
      navigate(next, { replace: true });
    } catch (err) {
      msg.error(err instanceof ApiError ? err.detail : 'Something went wrong; try again.');
      if (err instanceof ApiError) {
        for (const e of err.errors) {
          if (e.field.includes('username')) username.input.setAttribute('aria-invalid', 'true');
          if (e.field.includes('password')) password.input.setAttribute('aria-invalid', 'true');
        }
      }
      submit.disabled = false;
    }
  });

  return { title, el: h('section', { class: 'page narrow auth' }, h('h1', null, title), form) };
}
