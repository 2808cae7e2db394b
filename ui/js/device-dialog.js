// Sign out a device: the confirm before end_session. Resolves true once that device is signed out, false on
// Cancel, or the CommandError that decides where to go next (signed out here too, or the device already
// gone).

import { confirmWork } from "./modal.js";

const $ = (id) => document.getElementById(id);
const parts = {
  dialog: $("device-dialog"),
  error: $("device-error"),
  busy: $("device-busy"),
  confirm: $("device-confirm"),
  cancel: $("device-cancel"),
};

/// `endSession` does the work.
export function confirmSignOut(endSession) {
  return confirmWork(parts, endSession);
}
