// Screen 3: the Label dialog. Resolves with the created password, or null on Cancel.

import { call } from "./api.js";
import { openModal, setBusy } from "./modal.js";

const dialog = document.getElementById("label-dialog");
const form = document.getElementById("label-form");
const input = document.getElementById("label-input");
const error = document.getElementById("label-error");
const busy = document.getElementById("label-busy");
const create = document.getElementById("label-create");
const cancel = document.getElementById("label-cancel");
const count = document.getElementById("label-count");

// `maxChars` and the `tooLong` sentence come from Rust (app_info); the window keeps no copy of the rules.
export function askLabel({ maxChars, tooLong, onSessionEnded }) {
  return new Promise((resolve) => {
    const length = () => [...input.value.trim().normalize("NFC")].length;
    const acceptable = () => length() > 0 && length() <= maxChars;
    input.value = "";
    showError(null);
    create.disabled = true;
    showCount(0, maxChars);
    const finish = (result) => {
      form.removeEventListener("submit", submit);
      cancel.removeEventListener("click", onCancel);
      input.removeEventListener("input", onInput);
      close();
      resolve(result);
    };
    const onCancel = () => finish(null);
    const onInput = () => {
      create.disabled = !acceptable();
      showCount(length(), maxChars);
      showError(length() > maxChars ? tooLong : null);
    };
    const submit = async (event) => {
      event.preventDefault();
      if (!acceptable() || dialog.dataset.busy === "true") return;
      setBusy(dialog, true, busy, [create, cancel, input]);
      showError(null);
      try {
        finish(await call("create_app_password", { label: input.value }));
      } catch (e) {
        if (e.code === "unauthenticated") {
          finish(null);
          onSessionEnded(e.message);
          return;
        }
        if (e.code === "second_factor_required") {
          // The server makes app-specific passwords only once two-factor authentication is on.
          finish({ needsSecondFactor: e.message });
          return;
        }
        showError(e.message);
      } finally {
        setBusy(dialog, false, busy, [cancel, input]);
        create.disabled = !acceptable();
        if (dialog.open) input.focus();
      }
    };
    form.addEventListener("submit", submit);
    cancel.addEventListener("click", onCancel);
    input.addEventListener("input", onInput);
    const close = openModal(dialog, { initialFocus: input, onCancel });
  });
}

function showCount(length, max) {
  count.textContent = `${length} of ${max}`;
  count.classList.toggle("over", length > max);
}

function showError(message) {
  error.textContent = message ?? "";
  error.hidden = !message;
  input.setAttribute("aria-invalid", String(Boolean(message)));
}
