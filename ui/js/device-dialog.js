// Sign out a device: the confirm before end_session. Resolves true once that device is signed out, false on
// Cancel, or the CommandError that decides where to go next (signed out here too, or the device already
// gone).

import { openModal, setBusy } from "./modal.js";

const $ = (id) => document.getElementById(id);
const dialog = $("device-dialog");
const error = $("device-error");
const busy = $("device-busy");
const confirm = $("device-confirm");
const cancel = $("device-cancel");

/// `endSession` does the work.
export function confirmSignOut(endSession) {
  return new Promise((resolve) => {
    showError(null);
    const finish = (result) => {
      confirm.removeEventListener("click", onConfirm);
      cancel.removeEventListener("click", onCancel);
      close();
      resolve(result);
    };
    const onCancel = () => finish(false);
    const onConfirm = async () => {
      setBusy(dialog, true, busy, [confirm, cancel]);
      showError(null);
      try {
        await endSession();
        finish(true);
      } catch (e) {
        if (e.code === "not_found" || e.code === "unauthenticated") {
          finish(e);
          return;
        }
        showError(e.message);
      } finally {
        setBusy(dialog, false, busy, [confirm, cancel]);
      }
    };
    confirm.addEventListener("click", onConfirm);
    cancel.addEventListener("click", onCancel);
    // Cancel has the focus first: a stray Enter never signs anything out.
    const close = openModal(dialog, { initialFocus: cancel, onCancel });
  });
}

function showError(message) {
  error.textContent = message ?? "";
  error.hidden = !message;
}
