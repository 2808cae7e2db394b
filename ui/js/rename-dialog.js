// Rename: a new label for one app-specific password. Resolves true when the list should be shown again
// (renamed, or the password turned out to be gone), false on Cancel.

import { call } from "./api.js";
import { labelField } from "./label-field.js";
import { openModal, setBusy } from "./modal.js";

const $ = (id) => document.getElementById(id);
const dialog = $("rename-dialog");
const form = $("rename-form");
const input = $("rename-input");
const error = $("rename-error");
const busy = $("rename-busy");
const confirm = $("rename-confirm");
const cancel = $("rename-cancel");
const count = $("rename-count");
const { length, showCount, showError } = labelField({ input, count, error });

/// `password` is the row's; `maxChars` and `tooLong` come from Rust (app_info), as in the Label dialog.
export function askRename({ password, maxChars, tooLong, onSessionEnded }) {
  return new Promise((resolve) => {
    const unchanged = () => input.value.trim().normalize("NFC") === password.label.trim().normalize("NFC");
    const acceptable = () => length() > 0 && length() <= maxChars && !unchanged();
    // Once the server says the password is gone, the list behind the dialog is stale whatever the user does.
    let stale = false;
    input.value = password.label;
    showError(null);
    showCount(length(), maxChars);
    confirm.disabled = true;
    const finish = (result) => {
      form.removeEventListener("submit", submit);
      cancel.removeEventListener("click", onCancel);
      input.removeEventListener("input", onInput);
      close();
      resolve(result);
    };
    const onCancel = () => finish(stale);
    const onInput = () => {
      confirm.disabled = !acceptable();
      showCount(length(), maxChars);
      showError(length() > maxChars ? tooLong : null);
    };
    const submit = async (event) => {
      event.preventDefault();
      if (!acceptable() || dialog.dataset.busy === "true") return;
      setBusy(dialog, true, busy, [confirm, cancel, input]);
      showError(null);
      try {
        await call("rename_app_password", { id: password.id, label: input.value });
        finish(true);
      } catch (e) {
        if (e.code === "unauthenticated") {
          finish(false);
          onSessionEnded(e.message);
          return;
        }
        stale ||= e.code === "not_found";
        showError(e.message);
      } finally {
        setBusy(dialog, false, busy, [cancel, input]);
        confirm.disabled = !acceptable();
        if (dialog.open) {
          input.select();
          input.focus();
        }
      }
    };
    form.addEventListener("submit", submit);
    cancel.addEventListener("click", onCancel);
    input.addEventListener("input", onInput);
    const close = openModal(dialog, { initialFocus: input, onCancel });
    // Selected, so typing replaces the old label and an arrow key keeps it for editing.
    input.select();
  });
}
