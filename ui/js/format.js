const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const moment = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function created(iso) {
  return `Created ${day.format(new Date(iso))}`;
}

export function lastUsed(iso) {
  return iso ? `Last used ${moment.format(new Date(iso))}` : "Never used";
}
