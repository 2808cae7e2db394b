// What the cards of Sign-In and Security (App-Specific Passwords, Signed-In Devices, Recent Activity) have in
// common: each has its own loading, error, empty and list, so a failure in one leaves the others alone, and
// each learns on its own that the server ended the session.

const STATES = ["loading", "error", "empty", "list"];

/// A `show(state)` for one card: the parts named after `state` are shown, those of the other states hidden.
/// A part is an element or a list of them (the passwords' toolbar goes with their list); a card without an
/// empty state leaves `empty` out. Other keys of `parts` (the error's text, the heading) are not touched.
export function states(parts) {
  const elements = (state) => [parts[state] ?? []].flat();
  return function show(state) {
    for (const each of STATES) {
      for (const element of elements(each)) element.hidden = each !== state;
    }
  };
}

/// True when the server ended the session: the window goes back to Sign in with Rust's sentence, and the
/// caller stops there (there is nothing left to show or retry).
export function sessionEnded(error, onSignedOut) {
  if (error.code !== "unauthenticated") return false;
  onSignedOut(error.message);
  return true;
}
