// The one door to the Rust side: every command goes through `call`, and every failure comes back as a
// CommandError whose message is in the help article's words.

const { invoke } = window.__TAURI__.core;

// Codes whose wording the UI owns; others keep the message Rust sent (it carries numbers such as the wait).
const MESSAGES = {
  invalid_credentials: "The email or password is incorrect.",
  network: "Keyturn can't reach the server. Check your internet connection and the server address under Advanced.",
  insecure_url: "The server address must start with https://. Only a server on this computer may use http://.",
  invalid_url: "That server address isn't valid. Check it under Advanced.",
  unauthenticated: "Your session has ended. Sign in again.",
  duplicate_label: "You already have an app-specific password with this label. Choose another label.",
  limit_reached: "You have 25 app-specific passwords, the most allowed. Revoke one you no longer use, then try again.",
  not_found: "That password was already revoked.",
};

export class CommandError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export async function call(command, args = {}) {
  try {
    return await invoke(command, args);
  } catch (error) {
    const code = error?.code ?? "unknown";
    const message = MESSAGES[code] ?? error?.message ?? String(error);
    throw new CommandError(code, message);
  }
}
