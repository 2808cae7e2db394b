// Screen 1: Sign in.

import { call } from "./api.js";

const form = document.getElementById("signin-form");
const email = document.getElementById("signin-email");
const password = document.getElementById("signin-password");
const serverField = document.getElementById("signin-server");
const advanced = document.getElementById("signin-advanced");
const error = document.getElementById("signin-error");
const submit = document.getElementById("signin-submit");

let onSignedIn = () => {};

export function init(info, { signedIn }) {
  onSignedIn = signedIn;
  email.value = info.last_email ?? "";
  serverField.value = info.server_url ?? "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn();
  });
}

/// The server sign-in would use.
export function server() {
  return serverField.value.trim();
}

export function open(message) {
  password.value = "";
  showError(message);
  (email.value ? password : email).focus();
}

function showError(message) {
  error.textContent = message ?? "";
  error.hidden = !message;
}

async function signIn() {
  if (!email.value.trim() || !password.value) {
    showError("Enter your email and password.");
    (email.value.trim() ? password : email).focus();
    return;
  }
  showError(null);
  setBusy(true);
  try {
    const session = await call("sign_in", {
      email: email.value.trim(),
      password: password.value,
      serverUrl: serverField.value.trim(),
    });
    password.value = "";
    onSignedIn(session);
  } catch (e) {
    if (["network", "certificate", "redirected", "insecure_url", "invalid_url"].includes(e.code)) advanced.open = true;
    showError(e.message);
    password.select();
    password.focus();
  } finally {
    setBusy(false);
  }
}

function setBusy(busy) {
  submit.disabled = busy;
  submit.querySelector(".spinner").hidden = !busy;
  submit.querySelector(".button-text").textContent = busy ? "Signing In…" : "Sign In";
}
