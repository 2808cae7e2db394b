// About: the version, the server in use and where the log file is, for a support call.

import { openModal } from "./modal.js";

const $ = (id) => document.getElementById(id);
const dialog = $("about-dialog");

export function init(info, currentServer) {
  $("about-version").textContent = info.version;
  $("about-logs").textContent = info.log_dir || "None: Keyturn logs to its terminal only.";
  $("about-open").addEventListener("click", () => {
    $("about-server").textContent = currentServer();
    const closeButton = $("about-close");
    const done = () => {
      closeButton.removeEventListener("click", done);
      close();
    };
    closeButton.addEventListener("click", done);
    const close = openModal(dialog, { initialFocus: closeButton, onCancel: done });
  });
}
