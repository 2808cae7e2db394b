// Boots the window: restores a session from the keychain or shows Sign in, and switches screens. When the
// server can't be reached at launch, the kept session stays and "Try Again" asks the server again.

import * as about from "./about.js";
import * as activity from "./activity.js";
import { call } from "./api.js";
import * as devices from "./devices.js";
import * as format from "./format.js";
import * as passwords from "./passwords.js";
import * as signin from "./signin.js";

const $ = (id) => document.getElementById(id);
const screens = {
  loading: $("screen-loading"),
  signin: $("screen-signin"),
  passwords: $("screen-passwords"),
};
const launch = {
  loading: $("launch-loading"),
  error: $("launch-error"),
  errorText: $("launch-error-text"),
};

// The server the window talks to: the session's once signed in, otherwise the one sign-in would use.
let server = "";

function show(name) {
  for (const [key, element] of Object.entries(screens)) element.hidden = key !== name;
  if (name !== "loading") markInteractive();
}

/// The first screen a user can act on is up: what `cargo xtask bench` times the launch to.
function markInteractive() {
  if (performance.getEntriesByName("keyturn:interactive").length === 0) performance.mark("keyturn:interactive");
}

function showSignIn(message) {
  server = signin.server();
  show("signin");
  signin.open(message);
}

/// Signed out, on purpose or because the server ended the session. The cards ask the server at once, so
/// several can learn together that the session ended: the first moves the window, the others change nothing.
function signedOut(message) {
  if (!screens.passwords.hidden) showSignIn(message);
}

function showPasswords(session) {
  server = session.server_url;
  show("passwords");
  $("security-title").focus();
  passwords.open(session);
}

/// Asks the server whether the kept session is still good; `pending` is a restore already under way.
async function restore(pending = call("restore_session")) {
  show("loading");
  launch.loading.hidden = false;
  launch.error.hidden = true;
  try {
    const session = await pending;
    if (session) showPasswords(session);
    else showSignIn(null);
  } catch (e) {
    launch.errorText.textContent = e.message;
    launch.loading.hidden = true;
    launch.error.hidden = false;
    $("launch-retry").focus();
    markInteractive();
  }
}

/// One clock for the whole page keeps every "… ago" and "Expires in …" true while the window stays open. A
/// password that has just expired changes more than words (its buttons, the count), so then the page is
/// asked for again instead; not while signed out, when there is no page to ask for.
async function tick() {
  if (screens.passwords.hidden) return;
  if (!(await passwords.refreshIfExpired())) format.refreshRelative(screens.passwords);
}

async function boot() {
  // Both at once: the keychain and the server are asked while the window gets its settings.
  const restoring = call("restore_session");
  restoring.catch(() => {});
  const info = await call("app_info");
  server = info.server_url;
  about.init(info, () => server);
  signin.init(info, { signedIn: showPasswords });
  passwords.init(info, {
    signedOut,
    // Each card has its own loading and error, so the three are asked in parallel.
    refreshing: () => {
      devices.refresh();
      activity.refresh();
    },
  });
  devices.init({ signedOut, changed: () => activity.refresh() });
  activity.init({ signedOut });
  setInterval(tick, 60_000);
  $("launch-retry").addEventListener("click", () => restore());
  $("launch-sign-in").addEventListener("click", () => showSignIn(null));
  await restore(restoring);
}

boot();
