// Post-processing of a generated completion before it is shown: small pure filters, one per file
// with its golden cases in test/completion/postprocess/, composed by postProcess. The model sees
// the prefix (and with FIM the suffix) but still tends to run on past the line, to write again what
// already follows the cursor, to loop until the token limit, and to stop mid-construct there; each filter removes one
// of those. Every filter only ever cuts text away: none adds or rewrites characters.
import { cutUnneededClosers } from "./cutUnneededClosers";
import { dropLoopingLine } from "./dropLoopingLine";
import { dropRepeatedLines } from "./dropRepeatedLines";
import { dropUnclosedTail } from "./dropUnclosedTail";
import { firstLine } from "./firstLine";
import { stopAtSuffixRepeat } from "./stopAtSuffixRepeat";
import { trimTrailingWhitespace } from "./trimTrailingWhitespace";

export interface PostProcessContext {
  /** The document's text before and after the cursor. */
  prefix: string;
  suffix: string;
  singleLine: boolean;
  /** The generator stopped at its token limit, so the completion may end mid-construct. */
  truncated?: boolean;
}

export function postProcess(text: string, context: PostProcessContext): string {
  const { prefix, suffix } = context;
  let out = context.singleLine ? firstLine(text, prefix) : text;
  if (context.truncated) out = dropLoopingLine(out);
  out = cutUnneededClosers(out, prefix, suffix);
  out = stopAtSuffixRepeat(out, suffix);
  if (!context.singleLine) {
    out = dropRepeatedLines(out, suffix);
    if (context.truncated) out = dropUnclosedTail(out);
  }
  return trimTrailingWhitespace(out, suffix);
}
