// Sign-In and Security → Recent Activity: the account's latest events, newest first. Rust writes each
// sentence; the window adds how long ago, with the exact time on hover and for screen readers.

import { call } from "./api.js";
import { sessionEnded, states } from "./card.js";
import * as format from "./format.js";

const $ = (id) => document.getElementById(id);
const parts = {
  loading: $("activity-loading"),
  error: $("activity-error"),
  errorText: $("activity-error-text"),
  empty: $("activity-empty"),
  list: $("activity-list"),
};
const show = states(parts);

let onSignedOut = () => {};
// Answers can cross when the list is asked for twice quickly: only the latest one is shown.
let asked = 0;

export function init({ signedOut }) {
  onSignedOut = signedOut;
  $("activity-retry").addEventListener("click", () => refresh());
}

export async function refresh() {
  const mine = ++asked;
  show("loading");
  try {
    const events = await call("recent_activity");
    if (mine !== asked) return;
    parts.list.replaceChildren(...events.map(row));
    show(events.length ? "list" : "empty");
  } catch (e) {
    if (mine !== asked || sessionEnded(e, onSignedOut)) return;
    parts.errorText.textContent = e.message;
    show("error");
  }
}

function row(event) {
  const item = document.createElement("li");
  item.className = "activity-row";
  item.dataset.kind = event.kind;
  item.append(event.text, " · ", format.timeAgo(event.at, "", "activity-time"));
  return item;
}
