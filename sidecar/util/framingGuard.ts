// The sidecar's stdin carries LSP framing: a header ("Content-Length: N", "\r\n" after each line, an
// empty line after the last), then N bytes of JSON. vscode-jsonrpc's reader buffers bytes until it
// finds the header's end, so a stream of bytes without "\r\n\r\n" grew the process until memory ran
// out, alive and silent, and a body longer than a string can be is read to its end before anything
// is said. This follows the same framing beside the reader, to say so at once.

/** An LSP header is a line or two (Content-Length, Content-Type): this many bytes without its end are no header. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** V8 cannot hold a longer string: a body this size could never be decoded. */
export const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

const HEADER_END = "\r\n\r\n";

/**
 * A listener for the stream's chunks that calls `fail` once the framing cannot be right: a header
 * longer than MAX_HEADER_BYTES, a Content-Length below 0 or above MAX_MESSAGE_BYTES. What the reader
 * reports itself (a header without Content-Length, one that is not a number) ends the following: it is
 * the reader's to report.
 */
export function framingGuard(fail: (why: string) => void): (chunk: Buffer) => void {
  /** The start of a header that did not end in the chunks so far. */
  let header = Buffer.alloc(0);
  /** Bytes of the current body still to come; -1 while reading a header. */
  let bodyLeft = -1;
  let following = true;
  return (chunk) => {
    let offset = 0;
    while (following && offset < chunk.length) {
      if (bodyLeft >= 0) {
        const take = Math.min(bodyLeft, chunk.length - offset);
        bodyLeft -= take;
        offset += take;
        if (bodyLeft === 0) bodyLeft = -1;
        continue;
      }
      // Never more than a header's worth past what was kept: a 64 KiB chunk is not copied for each message.
      const rest = chunk.subarray(offset, offset + MAX_HEADER_BYTES + HEADER_END.length);
      const joined = header.length === 0 ? rest : Buffer.concat([header, rest]);
      // The end may straddle two chunks: look from three bytes before the new ones.
      const end = joined.indexOf(HEADER_END, Math.max(0, header.length - 3));
      if (end === -1 || end > MAX_HEADER_BYTES) {
        if (joined.length > MAX_HEADER_BYTES) {
          following = false;
          return fail(`no end of a message header in ${MAX_HEADER_BYTES} bytes`);
        }
        header = Buffer.from(joined);
        return;
      }
      offset += end + HEADER_END.length - header.length;
      header = Buffer.alloc(0);
      let length: number | undefined;
      for (const line of joined.subarray(0, end).toString("ascii").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon !== -1 && line.slice(0, colon).toLowerCase() === "content-length")
          length = Number.parseInt(line.slice(colon + 1).trim(), 10);
      }
      if (length === undefined || Number.isNaN(length)) {
        following = false;
        return;
      }
      if (length < 0 || length > MAX_MESSAGE_BYTES) {
        following = false;
        return fail(`a Content-Length of ${length} bytes`);
      }
      bodyLeft = length === 0 ? -1 : length;
    }
  };
}
