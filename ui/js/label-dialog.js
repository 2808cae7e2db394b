// Screen 3: the Label dialog: the label, what the password may reach (Access) and when it stops working
// (Expires). Resolves with the created password, or null on Cancel.

import { call } from "./api.js";
import { labelField } from "./label-field.js";
import { openModal, setBusy } from "./modal.js";

const dialog = document.getElementById("label-dialog");
const form = document.getElementById("label-form");
const input = document.getElementById("label-input");
const error = document.getElementById("label-error");
const busy = document.getElementById("label-busy");
const create = document.getElementById("label-create");
const cancel = document.getElementById("label-cancel");
const count = document.getElementById("label-count");
const scopeChoices = document.getElementById("scope-choices");
const scopeError = document.getElementById("scope-error");
const expiry = document.getElementById("expiry-select");
const { length, showCount, showError } = labelField({ input, count, error });

// `maxChars`, the `tooLong` and `noScope` sentences, the `scopes` and the `expiryChoices` come from Rust
// (app_info); the window keeps no copy of the rules.
export function askLabel({ maxChars, tooLong, scopes, expiryChoices, noScope, onSessionEnded }) {
  return new Promise((resolve) => {
    const boxes = showScopes(scopes);
    const ticked = () => boxes.filter((box) => box.checked).map((box) => box.value);
    const acceptable = () => length() > 0 && length() <= maxChars && ticked().length > 0;
    input.value = "";
    showError(null);
    showNoScope(null);
    showExpiryChoices(expiryChoices);
    create.disabled = true;
    showCount(0, maxChars);
    const controls = [create, cancel, input, expiry, ...boxes];
    const finish = (result) => {
      form.removeEventListener("submit", submit);
      cancel.removeEventListener("click", onCancel);
      input.removeEventListener("input", onInput);
      scopeChoices.removeEventListener("change", onScopes);
      close();
      resolve(result);
    };
    const onCancel = () => finish(null);
    const onInput = () => {
      create.disabled = !acceptable();
      showCount(length(), maxChars);
      showError(length() > maxChars ? tooLong : null);
    };
    const onScopes = () => {
      create.disabled = !acceptable();
      showNoScope(ticked().length === 0 ? noScope : null);
    };
    const submit = async (event) => {
      event.preventDefault();
      if (!acceptable() || dialog.dataset.busy === "true") return;
      setBusy(dialog, true, busy, controls);
      showError(null);
      try {
        finish(await call("create_app_password", {
          label: input.value,
          scopes: ticked(),
          expiresInDays: expiry.value === "" ? null : Number(expiry.value),
        }));
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
        setBusy(dialog, false, busy, controls.filter((control) => control !== create));
        create.disabled = !acceptable();
        if (dialog.open) input.focus();
      }
    };
    form.addEventListener("submit", submit);
    cancel.addEventListener("click", onCancel);
    input.addEventListener("input", onInput);
    scopeChoices.addEventListener("change", onScopes);
    const close = openModal(dialog, { initialFocus: input, onCancel });
  });
}

/// One box per scope, all ticked: a new password reaches everything unless the user narrows it.
function showScopes(scopes) {
  const boxes = scopes.map((scope) => {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `scope-${scope.key}`;
    box.value = scope.key;
    box.checked = true;
    return box;
  });
  scopeChoices.replaceChildren(
    ...scopes.map((scope, index) => {
      const label = document.createElement("label");
      label.className = "scope-choice";
      label.htmlFor = boxes[index].id;
      label.append(boxes[index], scope.name);
      return label;
    }),
  );
  return boxes;
}

/// "Never" first and chosen; the value is the number of days, or "" for never.
function showExpiryChoices(choices) {
  expiry.replaceChildren(
    ...choices.map((choice) => new Option(choice.name, choice.days === null ? "" : String(choice.days))),
  );
  expiry.value = "";
}

// Emptied as well as hidden: the fieldset's description reads the text even while it is hidden.
function showNoScope(message) {
  scopeError.textContent = message ?? "";
  scopeError.hidden = !message;
}
