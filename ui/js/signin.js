// Screen 1: Sign in.

import { call } from "./api.js";

const form = document.getElementById("signin-form");
const email = document.getElementById("signin-email");
const password = document.getElementById("signin-password");
const serverField = document.getElementById("signin-server");
const advanced = document.getElementById("signin-advanced");
const error = document.getElementById("signin-error");
const submit = document.getElementById("signin-submit");
const passwordStep = document.getElementById("signin-password-step");
const codeStep = document.getElementById("signin-code-step");
const code = document.getElementById("signin-code");
const codeLabel = document.getElementById("signin-code-label");
const codeHint = document.getElementById("signin-code-hint");
const codeSwitch = document.getElementById("signin-code-switch");
const codeCancel = document.getElementById("signin-code-cancel");
const lede = document.getElementById("signin-lede");

// The two ways through the second step, in the help article's words.
const CODE_KINDS = {
  totp: {
    label: "Verification code",
    hint: "Enter the 6-digit code from your authenticator app.",
    inputmode: "numeric",
    switchTo: "Use a recovery code instead",
  },
  recovery: {
    label: "Recovery code",
    hint: "Enter one of the recovery codes you saved when you turned on two-factor authentication.",
    inputmode: "text",
    switchTo: "Use a verification code instead",
  },
};
let codeKind = "totp";

let onSignedIn = () => {};

export function init(info, { signedIn }) {
  onSignedIn = signedIn;
  email.value = info.last_email ?? "";
  serverField.value = info.server_url ?? "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn();
  });
  codeSwitch.addEventListener("click", () => {
    showCodeKind(codeKind === "totp" ? "recovery" : "totp");
    code.value = "";
    code.focus();
  });
  codeCancel.addEventListener("click", () => open());
}

/// The server sign-in would use.
export function server() {
  return serverField.value.trim();
}

export function open(message) {
  password.value = "";
  showStep("password");
  showError(message);
  (email.value ? password : email).focus();
}

/// The password step, or the code step an account with two-factor authentication asks for after it.
function showStep(step) {
  const asksCode = step === "code";
  passwordStep.hidden = asksCode;
  codeStep.hidden = !asksCode;
  codeCancel.hidden = !asksCode;
  lede.textContent = asksCode
    ? "Two-factor authentication is on for this account."
    : "Sign in with your account and password.";
  code.value = "";
  showCodeKind("totp");
  setBusy(false);
}

function showCodeKind(kind) {
  codeKind = kind;
  const words = CODE_KINDS[kind];
  codeLabel.textContent = words.label;
  codeHint.textContent = words.hint;
  code.inputMode = words.inputmode;
  codeSwitch.textContent = words.switchTo;
}

function showError(message) {
  error.textContent = message ?? "";
  error.hidden = !message;
}

async function signIn() {
  const askingCode = !codeStep.hidden;
  if (!email.value.trim() || !password.value) {
    showError("Enter your email and password.");
    (email.value.trim() ? password : email).focus();
    return;
  }
  if (askingCode && !code.value.trim()) {
    showError(`Enter the ${CODE_KINDS[codeKind].label.toLowerCase()}.`);
    code.focus();
    return;
  }
  showError(null);
  setBusy(true);
  try {
    const session = await call("sign_in", {
      email: email.value.trim(),
      password: password.value,
      serverUrl: serverField.value.trim(),
      code: askingCode ? code.value.trim() : null,
    });
    password.value = "";
    showStep("password");
    onSignedIn(session);
  } catch (e) {
    if (e.code === "second_factor_required" && !askingCode) {
      // The password was right: the code is the next step, not an error.
      showStep("code");
      code.focus();
      return;
    }
    if (["network", "certificate", "redirected", "insecure_url", "invalid_url"].includes(e.code)) advanced.open = true;
    // The password itself was refused (changed meanwhile, say): back to it, not the code.
    if (askingCode && e.code === "invalid_credentials") showStep("password");
    showError(e.message);
    const field = askingCode && e.code !== "invalid_credentials" ? code : password;
    field.select();
    field.focus();
  } finally {
    setBusy(false);
  }
}

function setBusy(busy) {
  submit.disabled = busy;
  submit.querySelector(".spinner").hidden = !busy;
  const idle = codeStep.hidden ? "Sign In" : "Verify";
  submit.querySelector(".button-text").textContent = busy ? (codeStep.hidden ? "Signing In…" : "Verifying…") : idle;
}
