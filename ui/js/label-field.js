// A label's input as the Label and Rename dialogs both show it: how many characters of how many, and the
// error under it. The counting is the protocol's, so both dialogs (and Rust) agree on what is too long.

/// A label's length as the protocol counts it: trimmed, in characters, not UTF-16 units.
export function labelLength(value) {
  return [...value.trim().normalize("NFC")].length;
}

/// The label field made of `input`, the count of its characters under it, and its `error`; the most allowed
/// comes from Rust (app_info) with each call.
export function labelField({ input, count, error }) {
  return {
    length: () => labelLength(input.value),

    showCount(length, max) {
      count.textContent = `${length} of ${max}`;
      count.classList.toggle("over", length > max);
    },

    showError(message) {
      error.textContent = message ?? "";
      error.hidden = !message;
      input.setAttribute("aria-invalid", String(Boolean(message)));
    },
  };
}
