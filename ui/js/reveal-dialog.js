// Screen 4: the one-time reveal. When it closes, the password leaves the page and Rust forgets its copy.
// Closing it (Done or Escape) before Copy worked asks first, since the password can't be shown again.

import { call } from "./api.js";
import { openModal } from "./modal.js";

const $ = (id) => document.getElementById(id);
const dialog = $("reveal-dialog");
const output = $("reveal-password");
const label = $("reveal-label");
const where = $("reveal-where");
const copy = $("reveal-copy");
const done = $("reveal-done");
const status = $("copy-status");
const guard = $("reveal-guard");
const guardBack = $("guard-back");
const guardClose = $("guard-close");

export function reveal(created) {
  return new Promise((resolve) => {
    output.textContent = created.password;
    label.textContent = created.app_password.label;
    // The host names to type into the app, when the server names its services.
    where.replaceChildren(
      ...created.where_to_use.map((sentence) => {
        const item = document.createElement("li");
        item.textContent = sentence;
        return item;
      }),
    );
    where.hidden = created.where_to_use.length === 0;
    status.textContent = "";
    let copied = false;
    let asking = false;
    const onCopy = async () => {
      try {
        const result = await call("copy_secret");
        copied = true;
        status.textContent = `Copied. Keyturn clears the clipboard in ${result.clear_after_secs} seconds.`;
      } catch (e) {
        status.textContent = e.message;
      }
    };
    const finish = () => {
      copy.removeEventListener("click", onCopy);
      done.removeEventListener("click", leave);
      output.textContent = "";
      label.textContent = "";
      where.replaceChildren();
      where.hidden = true;
      status.textContent = "";
      call("forget_secret").catch(() => {});
      close();
      resolve();
    };
    async function leave() {
      if (asking) return;
      if (!copied) {
        asking = true;
        const sure = await confirmLeave();
        asking = false;
        if (!sure) return;
      }
      finish();
    }
    copy.addEventListener("click", onCopy);
    done.addEventListener("click", leave);
    const close = openModal(dialog, { initialFocus: copy, onCancel: leave });
  });
}

/// "Did you copy the password? It can't be shown again." (or the caller's words) Go Back (the default) or
/// Close.
export function confirmLeave(
  title = "Did you copy the password?",
  body = "It can't be shown again.",
) {
  $("guard-title").textContent = title;
  $("guard-body").textContent = body;
  return new Promise((resolve) => {
    const answer = (leave) => {
      guardBack.removeEventListener("click", back);
      guardClose.removeEventListener("click", away);
      close();
      resolve(leave);
    };
    const back = () => answer(false);
    const away = () => answer(true);
    guardBack.addEventListener("click", back);
    guardClose.addEventListener("click", away);
    const close = openModal(guard, { initialFocus: guardBack, onCancel: back });
  });
}
