// Dates as the list shows them: the created day, and the last use in relative words ("2 hours ago") with the
// exact date and time for hover and screen readers.

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
  const time = document.createElement("time");
  time.dateTime = iso;
  time.title = exact(iso);
  time.className = "last-used";
  const words = document.createElement("span");
  words.dataset.relative = iso;
  words.textContent = usedWords(iso);
  const spoken = document.createElement("span");
  spoken.className = "visually-hidden";
  spoken.textContent = ` (${exact(iso)})`;
  time.append(words, spoken);
  span.append(time);
  return span;
}

function usedWords(iso) {
  return `Last used ${ago(iso)}`;
}

/// Keeps the relative words true while the window stays open.
export function refreshRelative(root) {
  for (const words of root.querySelectorAll("[data-relative]")) {
    words.textContent = usedWords(words.dataset.relative);
  }
}
