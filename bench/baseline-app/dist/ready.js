// The same mark Keyturn sets when its first screen is shown.
document.querySelector("button").focus();
performance.mark("keyturn:interactive");
