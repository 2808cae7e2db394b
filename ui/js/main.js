// Boots the window: restores a session from the keychain or shows Sign in, and switches screens. When the
// server can't be reached at launch, the kept session stays and "Try Again" asks the server again. The
// account page's modules (its three cards and their dialogs) load when it is first shown, or once the first
// screen is up, so a launch to Sign in parses only what Sign in needs.

import * as about from "./about.js";
import { call } from "./api.js";
import * as format from "./format.js";
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

/// The first screen a user can act on is up: what `cargo xtask bench` times the launch to. The account page
/// is then loaded while the user reads it, so signing in does not wait for it.
function markInteractive() {
  if (performance.getEntriesByName("keyturn:interactive").length > 0) return;
  performance.mark("keyturn:interactive");
  setTimeout(() => accountPage().catch(() => {}), 0);
}

let appInfo = null;
let page = null;

/// The account page's cards, imported and set up once: `{ passwords, devices, activity }`.
function accountPage() {
  // A failed import is asked for again next time; the cards are set up once.
  page ??= Promise.all([import("./passwords.js"), import("./devices.js"), import("./activity.js")]).then(
    ([passwords, devices, activity]) => {
      passwords.init(appInfo, {
        signedOut,
        // Each card has its own loading and error, so the three are asked in parallel.
        refreshing: () => {
          devices.refresh();
          activity.refresh();
        },
      });
      devices.init({ signedOut, changed: () => activity.refresh() });
      activity.init({ signedOut });
      return { passwords, devices, activity };
    },
    (error) => {
      page = null;
      throw error;
    },
  );
  return page;
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

async function showPasswords(session) {
  const { passwords } = await accountPage();
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
    if (session) await showPasswords(session);
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
  const { passwords } = await accountPage();
  if (!(await passwords.refreshIfExpired())) format.refreshRelative(screens.passwords);
}

async function boot() {
  // Both at once: the keychain and the server are asked while the window gets its settings.
  const restoring = call("restore_session");
  restoring.catch(() => {});
  const info = await call("app_info");
  appInfo = info;
  server = info.server_url;
  about.init(info, () => server);
  // Signed in, but the page could not be loaded: back to Sign in, saying why.
  signin.init(info, { signedIn: (session) => showPasswords(session).catch((e) => showSignIn(e.message)) });
  setInterval(tick, 60_000);
  $("launch-retry").addEventListener("click", () => restore());
  $("launch-sign-in").addEventListener("click", () => showSignIn(null));
  await restore(restoring);
}

boot();
