// Dates as the window shows them: a day ("Created …", "Signed in …"), a moment in relative words ("Last used
// 2 hours ago", "Expires in 12 days") with the exact date and time for hover and screen readers, and a
// password's access in words.

const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const moment = new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

export function created(iso) {
  return `Created ${day.format(new Date(iso))}`;
}

export function signedIn(iso) {
  return `Signed in ${day.format(new Date(iso))}`;
}

export function exact(iso) {
  return moment.format(new Date(iso));
}

/// "just now", "5 minutes ago", "yesterday", "3 weeks ago".
export function ago(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

/// "Last used 2 hours ago", exact on hover and for screen readers; "Never used".
export function lastUsed(iso) {
  const span = document.createElement("span");
  if (!iso) {
    span.textContent = "Never used";
    return span;
  }
  span.append(timeAgo(iso, "Last used ", "last-used"));
  return span;
}

/// `prefix` and how long ago ("Last active 5 minutes ago"), kept true by `refreshRelative`.
export function timeAgo(iso, prefix, className) {
  const words = document.createElement("span");
  words.dataset.relative = iso;
  words.dataset.prefix = prefix;
  words.textContent = prefix + ago(iso);
  return exactly(iso, words, className);
}

/// "Expires in 12 days", "Expires tomorrow", "Expires today", kept true by `refreshRelative`.
export function expires(iso) {
  const words = document.createElement("span");
  words.dataset.expires = iso;
  words.textContent = expiresWords(iso);
  return exactly(iso, words, "password-expiry");
}

/// Counted in the user's calendar days, not in 24-hour spans: a password that ends tonight "expires today"
/// even at 9 in the morning.
function expiresWords(iso, now = new Date()) {
  const end = new Date(iso);
  if (end <= now) return "Expired";
  const midnight = (date) => new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
  // Rounded: a day with a daylight-saving change is 23 or 25 hours long.
  const days = Math.round((midnight(end) - midnight(now)) / (86400 * 1000));
  return `Expires ${relative.format(days, "day")}`;
}

/// A <time> holding `words`, with the exact date and time on hover and, unseen, for screen readers.
function exactly(iso, words, className) {
  const time = document.createElement("time");
  time.dateTime = iso;
  time.title = exact(iso);
  if (className) time.className = className;
  const spoken = document.createElement("span");
  spoken.className = "visually-hidden";
  spoken.textContent = ` (${exact(iso)})`;
  time.append(words, spoken);
  return time;
}

/// Keeps the relative words true while the window stays open.
export function refreshRelative(root) {
  for (const words of root.querySelectorAll("[data-relative]")) {
    words.textContent = words.dataset.prefix + ago(words.dataset.relative);
  }
  for (const words of root.querySelectorAll("[data-expires]")) {
    words.textContent = expiresWords(words.dataset.expires);
  }
}

/// "Mail, Calendars", or "All access" when the password reaches everything app_info offers. `scopes` is
/// app_info's list, which gives the names and their order.
export function access(keys, scopes) {
  const held = new Set(keys);
  // Rust sends only the scopes this build knows, the same ones as app_info (a newer server's others are left
  // out, never widened), so every key has a name here. A password that reaches only those others arrives with
  // none: that reads as "", never "All access", and the row leaves Access out.
  if (scopes.length > 0 && scopes.every((scope) => held.has(scope.key))) return "All access";
  return scopes
    .filter((scope) => held.has(scope.key))
    .map((scope) => scope.name)
    .join(", ");
}
