// The one door to the Rust side: every command goes through `call`, and every failure comes back as a
// CommandError carrying the sentence Rust wrote for it, in the help article's words. The window adds no
// wording of its own: the code only decides where to go next (sign in again, refresh, open Advanced).

const { invoke } = window.__TAURI__.core;

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
    throw new CommandError(error?.code ?? "unknown", error?.message ?? String(error));
  }
}
