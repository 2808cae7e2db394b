// Modal <dialog>s: focus moves in on open, Escape cancels (unless the dialog is busy), and focus returns to
// whatever had it before.

export function openModal(dialog, { initialFocus, onCancel } = {}) {
  const returnTo = document.activeElement;
  const cancel = (event) => {
    event.preventDefault();
    if (dialog.dataset.busy !== "true") onCancel?.();
  };
  dialog.addEventListener("cancel", cancel);
  dialog.showModal();
  (initialFocus ?? dialog.querySelector("input, button"))?.focus();
  return function close() {
    dialog.removeEventListener("cancel", cancel);
    dialog.close();
    if (returnTo instanceof HTMLElement && returnTo.isConnected) returnTo.focus();
  };
}

export function setBusy(dialog, busy, busyElement, controls) {
  dialog.dataset.busy = String(busy);
  busyElement.hidden = !busy;
  for (const control of controls) control.disabled = busy;
}
