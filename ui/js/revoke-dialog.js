// Screen 5: Revoke confirm, for one password or for Revoke All. Resolves true once revoked.

import { openModal, setBusy } from "./modal.js";

const dialog = document.getElementById("revoke-dialog");
const title = document.getElementById("revoke-title");
const error = document.getElementById("revoke-error");
const busy = document.getElementById("revoke-busy");
const confirm = document.getElementById("revoke-confirm");
const cancel = document.getElementById("revoke-cancel");

/// `what` is `{label}` for one password or `{count}` for Revoke All; `revoke` does the work.
export function confirmRevoke(what, revoke) {
  return new Promise((resolve) => {
    title.textContent = what.label !== undefined
      ? `Revoke “${what.label}”?`
      : `Revoke all ${what.count} app-specific ${what.count === 1 ? "password" : "passwords"}?`;
    error.hidden = true;
    const finish = (result) => {
      confirm.removeEventListener("click", onConfirm);
      cancel.removeEventListener("click", onCancel);
      close();
      resolve(result);
    };
    const onCancel = () => finish(false);
    const onConfirm = async () => {
      setBusy(dialog, true, busy, [confirm, cancel]);
      try {
        await revoke();
        finish(true);
      } catch (e) {
        if (e.code === "not_found" || e.code === "unauthenticated") {
          finish(e);
          return;
        }
        error.textContent = e.message;
        error.hidden = false;
      } finally {
        setBusy(dialog, false, busy, [confirm, cancel]);
      }
    };
    confirm.addEventListener("click", onConfirm);
    cancel.addEventListener("click", onCancel);
    // Cancel has the focus first: a stray Enter never revokes.
    const close = openModal(dialog, { initialFocus: cancel, onCancel });
  });
}
