// Screen 2: App-Specific Passwords, under Sign-In and Security. Empty state, list, loading and error; each
// row says what the password may reach and when it expires, with Rename and Remove.

import { call } from "./api.js";
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

let onSignedOut = () => {};
// The cards beside this one (devices, activity) follow every time the list is asked for again.
let onRefreshing = () => {};
let current = [];
// The limits and the choices come from Rust (app_info), which has them from the protocol.
let limits = {};

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
  current = [];
  return refresh();
}

function show(state) {
  parts.loading.hidden = state !== "loading";
  parts.error.hidden = state !== "error";
  parts.empty.hidden = state !== "empty";
  parts.list.hidden = state !== "list";
  parts.toolbar.hidden = state !== "list";
}

async function refresh() {
  onRefreshing();
  show("loading");
  try {
    const view = await call("list_app_passwords");
    parts.email.textContent = view.email;
    limits.maxPasswords = view.max_app_passwords;
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
  remove.className = "button secondary";
  remove.textContent = "Remove";
  remove.setAttribute("aria-label", `Remove ${password.label}`);
  remove.addEventListener("click", () => revokeOne(password));
  actions.append(rename, remove);
  item.append(text, actions);
  return item;
}

/// "Mail, Calendars", introduced for screen readers; the class holds the visible words alone.
function access(keys) {
  const span = document.createElement("span");
  const spoken = document.createElement("span");
  spoken.className = "visually-hidden";
  spoken.textContent = "Access: ";
  const words = document.createElement("span");
  words.className = "password-scopes";
  words.textContent = format.access(keys, limits.scopes);
  span.append(spoken, words);
  return span;
}

async function generate() {
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
  if (error.code !== "unauthenticated") return false;
  onSignedOut(error.message);
  return true;
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
