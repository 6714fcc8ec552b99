// Text that came from the outside (file names, a model file's strings) printed to a terminal or a log:
// control characters are escaped, so that a file named `\x1b]0;PWNED\x07` cannot clear the screen,
// retitle the terminal or forge log lines.

// C0 controls (tab and newline included: one name stays on one line), DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- control characters are what this removes
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with each control character written as \xHH. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
