// Screen 4: the one-time reveal. When it closes, the password leaves the page and Rust forgets its copy.

import { call } from "./api.js";
import { openModal } from "./modal.js";

const dialog = document.getElementById("reveal-dialog");
const output = document.getElementById("reveal-password");
const label = document.getElementById("reveal-label");
const copy = document.getElementById("reveal-copy");
const done = document.getElementById("reveal-done");
const status = document.getElementById("copy-status");

export function reveal(created) {
  return new Promise((resolve) => {
    output.textContent = created.password;
    label.textContent = created.app_password.label;
    status.textContent = "";
    const onCopy = async () => {
      try {
        const copied = await call("copy_secret");
        status.textContent = `Copied. Keyturn clears the clipboard in ${copied.clear_after_secs} seconds.`;
      } catch (e) {
        status.textContent = e.message;
      }
    };
    const finish = () => {
      copy.removeEventListener("click", onCopy);
      done.removeEventListener("click", finish);
      output.textContent = "";
      label.textContent = "";
      status.textContent = "";
      call("forget_secret").catch(() => {});
      close();
      resolve();
    };
    copy.addEventListener("click", onCopy);
    done.addEventListener("click", finish);
    const close = openModal(dialog, { initialFocus: copy, onCancel: finish });
  });
}
