// Sign-In and Security → Signed-In Devices: every session of the account, this one marked, and Sign Out for
// the others. Loading and error of its own, so a failure here leaves the other cards alone, and a notice of
// its own for a device that turns out to be signed out already.

import { call } from "./api.js";
import { sessionEnded, states } from "./card.js";
import { confirmSignOut } from "./device-dialog.js";
import * as format from "./format.js";

const $ = (id) => document.getElementById(id);
const parts = {
  title: $("devices-title"),
  loading: $("devices-loading"),
  error: $("devices-error"),
  errorText: $("devices-error-text"),
  list: $("devices-list"),
  notice: $("devices-notice-text"),
};
const show = states(parts);

let onSignedOut = () => {};
let onChanged = () => {};
// Answers can cross when the list is asked for twice quickly: only the latest one is shown.
let asked = 0;

/// `changed` runs after a device was signed out (Recent Activity has a line about it).
export function init({ signedOut, changed }) {
  onSignedOut = signedOut;
  onChanged = changed;
  $("devices-retry").addEventListener("click", () => refresh());
}

export async function refresh() {
  const mine = ++asked;
  showNotice(null);
  show("loading");
  try {
    const sessions = await call("list_sessions");
    if (mine !== asked) return;
    parts.list.replaceChildren(...sessions.map(row));
    show("list");
  } catch (e) {
    if (mine !== asked || sessionEnded(e, onSignedOut)) return;
    parts.errorText.textContent = e.message;
    show("error");
  }
}

function row(session) {
  const item = document.createElement("li");
  item.className = "device-row";
  item.dataset.id = session.id;
  const text = document.createElement("div");
  const name = document.createElement("div");
  name.className = "device-client";
  const client = document.createElement("span");
  client.textContent = session.client;
  name.append(client);
  if (session.current) {
    const badge = document.createElement("span");
    badge.className = "this-device";
    badge.textContent = "This device";
    name.append(badge);
  }
  const meta = document.createElement("div");
  meta.className = "device-meta";
  const since = document.createElement("span");
  since.textContent = format.signedIn(session.created_at);
  meta.append(since, " · ", format.timeAgo(session.last_seen_at, "Last active ", "last-active"));
  text.append(name, meta);
  item.append(text);
  // This device signs out with the Sign Out at the top of the page, which also forgets the keychain entry.
  if (!session.current) {
    const signOut = document.createElement("button");
    signOut.type = "button";
    signOut.className = "button secondary device-sign-out";
    signOut.textContent = "Sign Out";
    signOut.setAttribute("aria-label", `Sign out ${session.client}`);
    signOut.addEventListener("click", () => signOutDevice(session));
    item.append(signOut);
  }
  return item;
}

async function signOutDevice(session) {
  const buttons = () => [...parts.list.querySelectorAll(".device-sign-out")];
  const place = buttons().findIndex((button) => button.closest(".device-row").dataset.id === session.id);
  showNotice(null);
  const result = await confirmSignOut(() => call("end_session", { id: session.id }));
  if (result instanceof Error && sessionEnded(result, onSignedOut)) return;
  if (!result) return;
  // Signed out, or already gone ("not_found"): either way the list is shown again.
  await refresh();
  // Already gone: Rust's sentence says why the row vanished, but only over a list that did come back.
  if (result instanceof Error && result.code === "not_found" && !parts.list.hidden) showNotice(result.message);
  onChanged();
  // The focus was on a button that is gone: the next device's Sign Out takes it, else the heading.
  const left = parts.list.hidden ? [] : buttons();
  (left[Math.min(place, left.length - 1)] ?? parts.title).focus();
}

// Emptied as well as hidden, so the role="status" box around it never holds a sentence that no longer applies.
function showNotice(message) {
  parts.notice.textContent = message ?? "";
  parts.notice.hidden = !message;
}
