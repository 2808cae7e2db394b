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

/// A confirm dialog that does `work` on Confirm (Revoke, Sign out a device). Resolves true once the work is
/// done, false on Cancel, or the CommandError that decides where to go next (`not_found`: already gone;
/// `unauthenticated`: signed out here too); any other failure is shown in the dialog, which stays open.
/// Cancel has the focus first, so a stray Enter does nothing.
export function confirmWork({ dialog, error, busy, confirm, cancel }, work) {
  return new Promise((resolve) => {
    error.textContent = "";
    error.hidden = true;
    const finish = (result) => {
      confirm.removeEventListener("click", onConfirm);
      cancel.removeEventListener("click", onCancel);
      close();
      resolve(result);
    };
    const onCancel = () => finish(false);
    const onConfirm = async () => {
      setBusy(dialog, true, busy, [confirm, cancel]);
      error.hidden = true;
      try {
        await work();
        finish(true);
      } catch (e) {
        if (e.code === "not_found" || e.code === "unauthenticated") {
          finish(e);
          return;
        }
        error.textContent = e.message;
        error.hidden = false;
      } finally {
        setBusy(dialog, false, busy, [confirm, cancel]);
      }
    };
    confirm.addEventListener("click", onConfirm);
    cancel.addEventListener("click", onCancel);
    const close = openModal(dialog, { initialFocus: cancel, onCancel });
  });
}
