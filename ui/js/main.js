// Boots the window: restores a session from the keychain or shows Sign in, and switches screens.

import { call } from "./api.js";
import * as passwords from "./passwords.js";
import * as signin from "./signin.js";

const screens = {
  loading: document.getElementById("screen-loading"),
  signin: document.getElementById("screen-signin"),
  passwords: document.getElementById("screen-passwords"),
};

function show(name) {
  for (const [key, element] of Object.entries(screens)) element.hidden = key !== name;
}

function showSignIn(message) {
  show("signin");
  signin.open(message);
}

function showPasswords(session) {
  show("passwords");
  document.getElementById("security-title").focus();
  passwords.open(session);
}

async function boot() {
  const info = await call("app_info");
  signin.init(info, { signedIn: showPasswords });
  passwords.init(info, { signedOut: showSignIn });
  try {
    const session = await call("restore_session");
    if (session) showPasswords(session);
    else showSignIn(null);
  } catch (e) {
    showSignIn(e.message);
  }
}

boot();
