// Sign-In and Security → Two-Factor Authentication: its state, "Turn On…" (password, then the QR code made
// on the device and the setup key, then a first code; then the recovery codes, shown once, with Copy and
// the same guard as the one-time reveal) and "Turn Off…" (password and a code).

import { call } from "./api.js";
import { openModal, setBusy } from "./modal.js";
import { confirmLeave } from "./reveal-dialog.js";

const $ = (id) => document.getElementById(id);
const toggle = $("two-factor-toggle");
const state = $("two-factor-state");

const on = {
  dialog: $("two-factor-dialog"),
  form: $("tf-form"),
  steps: { password: $("tf-step-password"), scan: $("tf-step-scan"), codes: $("tf-step-codes") },
  password: $("tf-password"),
  qr: $("tf-qr"),
  secret: $("tf-secret"),
  code: $("tf-code"),
  codes: $("tf-codes"),
  copyStatus: $("tf-copy-status"),
  error: $("tf-error"),
  busy: $("tf-busy"),
  cancel: $("tf-cancel"),
  copy: $("tf-copy"),
  next: $("tf-next"),
};

const off = {
  dialog: $("two-factor-off-dialog"),
  form: $("tf-off-form"),
  password: $("tf-off-password"),
  code: $("tf-off-code"),
  error: $("tf-off-error"),
  busy: $("tf-off-busy"),
  cancel: $("tf-off-cancel"),
  confirm: $("tf-off-confirm"),
};

const offerParts = {
  dialog: $("two-factor-offer-dialog"),
  body: $("tf-offer-body"),
  later: $("tf-offer-later"),
  turnOn: $("tf-offer-turn-on"),
};

let enabled = false;
let onChanged = () => {};
let onSessionEnded = () => false;

export function init({ changed, sessionEnded }) {
  onChanged = changed;
  onSessionEnded = sessionEnded;
  toggle.addEventListener("click", () => (enabled ? turnOff() : turnOn()));
}

/// Shows whether two-factor authentication is on.
export function render(secondFactor) {
  enabled = secondFactor;
  toggle.hidden = false;
  toggle.textContent = enabled ? "Turn Off…" : "Turn On…";
  state.textContent = enabled
    ? "On. Signing in asks for a code from your authenticator app after your password."
    : "Off. Turn it on so that signing in also needs a code from your authenticator app.";
}

/// The server requires two-factor authentication before app-specific passwords: says so in its words and
/// offers to turn it on now.
export function offer(message) {
  offerParts.body.textContent = message;
  return new Promise((resolve) => {
    const answer = (now) => {
      offerParts.later.removeEventListener("click", later);
      offerParts.turnOn.removeEventListener("click", start);
      close();
      if (now) turnOn();
      resolve();
    };
    const later = () => answer(false);
    const start = () => answer(true);
    offerParts.later.addEventListener("click", later);
    offerParts.turnOn.addEventListener("click", start);
    const close = openModal(offerParts.dialog, { initialFocus: offerParts.turnOn, onCancel: later });
  });
}

function showError(parts, message) {
  parts.error.textContent = message ?? "";
  parts.error.hidden = !message;
}

function turnOn() {
  let step = "password";
  let saved = false;
  const show = (name) => {
    step = name;
    for (const [key, element] of Object.entries(on.steps)) element.hidden = key !== name;
    on.next.textContent = { password: "Continue", scan: "Turn On", codes: "Done" }[name];
    on.cancel.hidden = name === "codes";
    on.copy.hidden = name !== "codes";
  };
  const reset = () => {
    on.password.value = "";
    on.code.value = "";
    on.secret.textContent = "";
    on.qr.replaceChildren();
    on.codes.replaceChildren();
    on.copyStatus.textContent = "";
    showError(on, null);
  };
  reset();
  show("password");

  const finish = () => {
    on.form.removeEventListener("submit", submit);
    on.cancel.removeEventListener("click", cancel);
    on.copy.removeEventListener("click", copy);
    if (step === "codes") call("forget_secret").catch(() => {});
    reset();
    close();
    onChanged();
  };
  async function leaveCodes() {
    if (!saved && !(await confirmLeave("Did you save the recovery codes?", "They can't be shown again."))) return;
    finish();
  }
  function cancel() {
    if (step === "codes") leaveCodes();
    else finish();
  }
  async function copy() {
    try {
      const result = await call("copy_secret");
      saved = true;
      on.copyStatus.textContent = `Copied. Keyturn clears the clipboard in ${result.clear_after_secs} seconds.`;
    } catch (e) {
      on.copyStatus.textContent = e.message;
    }
  }
  async function submit(event) {
    event.preventDefault();
    if (step === "codes") return leaveCodes();
    const field = step === "password" ? on.password : on.code;
    if (!field.value.trim()) {
      showError(on, step === "password" ? "Enter your password." : "Enter the 6-digit code from your authenticator app.");
      field.focus();
      return;
    }
    showError(on, null);
    setBusy(on.dialog, true, on.busy, [on.next, on.cancel]);
    try {
      if (step === "password") {
        const setup = await call("begin_two_factor", { password: on.password.value });
        on.password.value = "";
        // The SVG is drawn by the app from the setup key, not fetched: it is parsed as an image document.
        const svg = new DOMParser().parseFromString(setup.qr_svg, "image/svg+xml").documentElement;
        on.qr.replaceChildren(document.importNode(svg, true));
        on.secret.textContent = setup.secret;
        show("scan");
        on.code.focus();
      } else {
        const codes = await call("confirm_two_factor", { code: on.code.value.trim() });
        on.code.value = "";
        on.secret.textContent = "";
        on.qr.replaceChildren();
        on.codes.replaceChildren(
          ...codes.map((code) => Object.assign(document.createElement("li"), { textContent: code })),
        );
        render(true);
        show("codes");
        on.copy.focus();
      }
    } catch (e) {
      if (onSessionEnded(e)) return finish();
      showError(on, e.message);
      field.select();
      field.focus();
    } finally {
      setBusy(on.dialog, false, on.busy, [on.next, on.cancel]);
    }
  }
  on.form.addEventListener("submit", submit);
  on.cancel.addEventListener("click", cancel);
  on.copy.addEventListener("click", copy);
  const close = openModal(on.dialog, { initialFocus: on.password, onCancel: cancel });
}

function turnOff() {
  off.password.value = "";
  off.code.value = "";
  showError(off, null);
  const finish = (changed) => {
    off.form.removeEventListener("submit", submit);
    off.cancel.removeEventListener("click", cancel);
    off.password.value = "";
    off.code.value = "";
    close();
    if (changed) onChanged();
  };
  const cancel = () => finish(false);
  async function submit(event) {
    event.preventDefault();
    if (!off.password.value || !off.code.value.trim()) {
      showError(off, "Enter your password and a code.");
      (off.password.value ? off.code : off.password).focus();
      return;
    }
    showError(off, null);
    setBusy(off.dialog, true, off.busy, [off.confirm, off.cancel]);
    try {
      await call("turn_off_two_factor", { password: off.password.value, code: off.code.value.trim() });
      render(false);
      finish(true);
    } catch (e) {
      if (onSessionEnded(e)) return finish(false);
      showError(off, e.message);
      const field = e.code === "invalid_credentials" ? off.password : off.code;
      field.select();
      field.focus();
    } finally {
      setBusy(off.dialog, false, off.busy, [off.confirm, off.cancel]);
    }
  }
  off.form.addEventListener("submit", submit);
  off.cancel.addEventListener("click", cancel);
  const close = openModal(off.dialog, { initialFocus: off.password, onCancel: cancel });
}
