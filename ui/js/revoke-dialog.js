// Screen 5: Revoke confirm, for one password or for Revoke All. Resolves true once revoked.

import { confirmWork } from "./modal.js";

const $ = (id) => document.getElementById(id);
const title = $("revoke-title");
const parts = {
  dialog: $("revoke-dialog"),
  error: $("revoke-error"),
  busy: $("revoke-busy"),
  confirm: $("revoke-confirm"),
  cancel: $("revoke-cancel"),
};

/// `what` is `{label}` for one password or `{count}` for Revoke All; `revoke` does the work.
export function confirmRevoke(what, revoke) {
  title.textContent = what.label !== undefined
    ? `Revoke “${what.label}”?`
    : `Revoke all ${what.count} app-specific ${what.count === 1 ? "password" : "passwords"}?`;
  return confirmWork(parts, revoke);
}
