// Screen 2: App-Specific Passwords, under Sign-In and Security. Empty state, list, loading and error; each
// row says what the password may reach and when it expires, with Rename and Remove.

import { call } from "./api.js";
import { sessionEnded as endedBy, states } from "./card.js";
import * as format from "./format.js";
import { askLabel } from "./label-dialog.js";
import { askRename } from "./rename-dialog.js";
import { reveal } from "./reveal-dialog.js";
import { confirmRevoke } from "./revoke-dialog.js";
import * as twoFactor from "./two-factor.js";

const $ = (id) => document.getElementById(id);
const parts = {
  email: $("account-email"),
  server: $("account-server"),
  notice: $("keychain-notice"),
  toolbar: $("list-toolbar"),
  count: $("count"),
  loading: $("passwords-loading"),
  error: $("passwords-error"),
  errorText: $("passwords-error-text"),
  empty: $("passwords-empty"),
  list: $("passwords-list"),
};
// The toolbar (count, Revoke All, Add) goes with the list: there is nothing to count or revoke otherwise.
const show = states({ ...parts, list: [parts.list, parts.toolbar] });

let onSignedOut = () => {};
// The cards beside this one (devices, activity) follow every time the list is asked for again.
let onRefreshing = () => {};
let current = [];
// When `current` was asked for: a password that expires after this has been shown as working.
let askedAt = 0;
// The limits and the choices come from Rust (app_info), which has them from the protocol.
let limits = {};
// Rust's sentence for a server that makes app-specific passwords only with two-factor authentication on
// (handed over with the session at sign-in and launch), or null; and whether this account has it on.
let secondFactorFirst = null;
let secondFactorOn = false;

export function init(info, { signedOut, refreshing }) {
  onSignedOut = signedOut;
  onRefreshing = refreshing;
  limits = {
    maxPasswords: info.max_app_passwords,
    maxLabelChars: info.max_label_chars,
    labelTooLong: info.label_too_long,
    scopes: info.scopes,
    expiryChoices: info.expiry_choices,
    noScope: info.no_scope,
  };
  $("generate").addEventListener("click", generate);
  $("add").addEventListener("click", generate);
  $("revoke-all").addEventListener("click", revokeAll);
  $("retry").addEventListener("click", refresh);
  $("sign-out").addEventListener("click", signOut);
  twoFactor.init({ changed: refresh, sessionEnded });
}

export function open(session) {
  parts.email.textContent = session.email;
  parts.server.textContent = `Connected to ${host(session.server_url)}`;
  parts.notice.hidden = session.remembered;
  secondFactorFirst = session.second_factor_first ?? null;
  current = [];
  return refresh();
}

async function refresh() {
  onRefreshing();
  askedAt = Date.now();
  show("loading");
  try {
    const view = await call("list_app_passwords");
    parts.email.textContent = view.email;
    limits.maxPasswords = view.max_app_passwords;
    secondFactorOn = view.second_factor;
    twoFactor.render(view.second_factor);
    render(view.app_passwords);
  } catch (e) {
    if (sessionEnded(e)) return;
    parts.errorText.textContent = e.message;
    show("error");
  }
}

function render(passwords) {
  current = passwords;
  if (passwords.length === 0) {
    show("empty");
    return;
  }
  const max = limits.maxPasswords;
  parts.count.textContent = `${passwords.length} of ${max}`;
  $("add").disabled = passwords.length >= max;
  $("add").title = passwords.length >= max ? `You have ${max}, the most allowed` : "Add";
  parts.list.replaceChildren(...passwords.map(row));
  show("list");
}

function row(password) {
  const item = document.createElement("li");
  item.className = "password-row";
  item.dataset.id = password.id;
  const text = document.createElement("div");
  const label = document.createElement("div");
  label.className = "password-label";
  label.textContent = password.label;
  const meta = document.createElement("div");
  meta.className = "password-meta";
  const created = document.createElement("span");
  created.textContent = format.created(password.created_at);
  meta.append(created, format.lastUsed(password.last_used_at));
  if (password.scopes?.length) meta.append(access(password.scopes));
  if (password.expires_at) meta.append(format.expires(password.expires_at));
  text.append(label, meta);
  const actions = document.createElement("div");
  actions.className = "row-actions";
  const rename = document.createElement("button");
  rename.type = "button";
  rename.className = "button secondary rename";
  rename.textContent = "Rename";
  rename.setAttribute("aria-label", `Rename ${password.label}`);
  rename.addEventListener("click", () => renameOne(password));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "button secondary remove";
  remove.textContent = "Remove";
  remove.setAttribute("aria-label", `Remove ${password.label}`);
  remove.addEventListener("click", () => revokeOne(password));
  actions.append(rename, remove);
  item.append(text, actions);
  return item;
}

/// "Access: Mail, Calendars" (a bare "Mail" beside "Never used" would not say what it is), or "All access";
/// the class holds the scopes' words alone.
function access(keys) {
  const span = document.createElement("span");
  const words = document.createElement("span");
  words.className = "password-scopes";
  words.textContent = format.access(keys, limits.scopes);
  const intro = document.createElement("span");
  intro.textContent = "Access: ";
  // "Access: All access" says it twice: there the introduction is for screen readers only.
  if (words.textContent === "All access") intro.className = "visually-hidden";
  span.append(intro, words);
  return span;
}

/// For the page's clock. A row that has expired since the list was asked for can no longer be renamed or
/// removed, and no longer counts toward the limit: the list (and the cards beside it) is asked for again,
/// not just re-worded. True when it was. One that had already expired when asked for (a server clock behind
/// this one) doesn't count, or the page would reload every minute.
export async function refreshIfExpired(now = Date.now()) {
  const expired = current.some((password) => {
    const end = password.expires_at ? Date.parse(password.expires_at) : Infinity;
    return askedAt < end && end <= now;
  });
  if (!expired) return false;
  // The rows are made anew: focus on one of their buttons goes back to the same button, or, if its password
  // is the one that expired, to the list's own buttons.
  const focused = parts.list.contains(document.activeElement) ? document.activeElement : null;
  const id = focused?.closest(".password-row").dataset.id;
  const which = focused?.classList.contains("rename") ? ".rename" : ".remove";
  await refresh();
  if (!focused) return true;
  const again = parts.list.querySelector(`.password-row[data-id="${CSS.escape(id)}"] ${which}`);
  if (again && !parts.list.hidden) again.focus();
  else focusHeading();
  return true;
}

async function generate() {
  // Said before the label is typed, not after the server refuses it.
  if (secondFactorFirst && !secondFactorOn) {
    await twoFactor.offer(secondFactorFirst);
    return;
  }
  const created = await askLabel({
    maxChars: limits.maxLabelChars,
    tooLong: limits.labelTooLong,
    scopes: limits.scopes,
    expiryChoices: limits.expiryChoices,
    noScope: limits.noScope,
    onSessionEnded: (message) => onSignedOut(message),
  });
  if (!created) return;
  if (created.needsSecondFactor) {
    // The server started requiring it since sign-in, or could not be asked then: from now on it is said first.
    secondFactorFirst = created.needsSecondFactor;
    await twoFactor.offer(created.needsSecondFactor);
    return;
  }
  await reveal(created);
  await refresh();
  focusHeading();
}

async function renameOne(password) {
  const changed = await askRename({
    password,
    maxChars: limits.maxLabelChars,
    tooLong: limits.labelTooLong,
    onSessionEnded: (message) => onSignedOut(message),
  });
  if (!changed) return;
  await refresh();
  // Back to the same row's Rename; if the password has gone meanwhile, to the list's own buttons.
  const again = parts.list.querySelector(`.password-row[data-id="${CSS.escape(password.id)}"] .rename`);
  if (again && !parts.list.hidden) again.focus();
  else focusHeading();
}

async function revokeOne(password) {
  const result = await confirmRevoke({ label: password.label }, () =>
    call("revoke_app_password", { id: password.id }),
  );
  if (result instanceof Error && sessionEnded(result)) return;
  if (result) {
    await refresh();
    focusHeading();
  }
}

async function revokeAll() {
  const result = await confirmRevoke({ count: current.length }, () => call("revoke_all"));
  if (result instanceof Error && sessionEnded(result)) return;
  if (result) {
    await refresh();
    focusHeading();
  }
}

async function signOut() {
  try {
    await call("sign_out");
    onSignedOut(null);
  } catch (e) {
    parts.errorText.textContent = e.message;
    show("error");
  }
}

function sessionEnded(error) {
  return endedBy(error, onSignedOut);
}

/// "accounts.example.com", or the address as given if it is not a URL.
function host(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function focusHeading() {
  const target = current.length ? $("add") : $("generate");
  target.focus();
}
